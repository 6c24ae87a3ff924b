/**
 * Which snaps need another one: as their base (snap.yaml `base`; an app with
 * none needs `core`) or as a default content provider. `remove` refuses to
 * take away a snap others need, unless forced. Pure.
 */
import type { Records } from "../model/records.js";

export interface Dependent {
  readonly name: string;
  readonly revision: number;
  readonly as: "base" | "default content provider";
}

/** The revisions of other snaps that would be left without `name`. */
export function dependentsOf(records: Records, name: string): Dependent[] {
  const out: Dependent[] = [];
  for (const r of records.revisions) {
    if (r.name === name) continue;
    const base = r.info.base ?? (r.info.type === "app" ? "core" : undefined);
    if (base === name) out.push({ name: r.name, revision: r.revision, as: "base" });
    else if (r.info.defaultProviders.includes(name))
      out.push({ name: r.name, revision: r.revision, as: "default content provider" });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.revision - b.revision));
}

/** `hello (revisions 1, 2: base), tool (revision 3: default content provider)`. */
export function formatDependents(deps: readonly Dependent[]): string {
  const by = new Map<string, { revisions: number[]; as: Set<string> }>();
  for (const d of deps) {
    const e = by.get(d.name) ?? { revisions: [], as: new Set<string>() };
    e.revisions.push(d.revision);
    e.as.add(d.as);
    by.set(d.name, e);
  }
  return [...by.entries()]
    .map(
      ([n, e]) =>
        `${n} (revision${e.revisions.length === 1 ? "" : "s"} ${e.revisions.join(", ")}: ${[...e.as].join(", ")})`,
    )
    .join(", ");
}
