/**
 * What a device needs installed before a snap (pure), the way snapd's
 * prerequisite handling sees it (store-protocol.md §14.1): the base (`core`
 * when snap.yaml names none), the `snapd` snap for anything not based on
 * `core`, and the default providers of content plugs.
 */

export type DependencyReason = "base" | "snapd" | "content";

export interface Dependency {
  readonly name: string;
  readonly reason: DependencyReason;
}

export interface DependencyInput {
  readonly name: string;
  /** app, base, os, snapd, gadget, kernel. */
  readonly type: string;
  /** snap.yaml `base`; absent when not set. */
  readonly base?: string;
  readonly defaultProviders: readonly string[];
}

/** The dependencies of one revision, deduplicated, in a stable order (base, snapd, content providers by name). */
export function dependenciesOf(s: DependencyInput): Dependency[] {
  const out: Dependency[] = [];
  const add = (name: string, reason: DependencyReason): void => {
    if (name !== s.name && !out.some((d) => d.name === name)) out.push({ name, reason });
  };
  const type = s.type === "" || s.type === "application" ? "app" : s.type;
  if (type === "os" || type === "snapd") return out;
  if (type === "base") {
    // a base other than core runs snaps only with the snapd snap
    add("snapd", "snapd");
  } else {
    const base = s.base === undefined || s.base === "" ? "core" : s.base;
    if (base !== "none") add(base, "base");
    if (base !== "core") add("snapd", "snapd");
  }
  for (const p of [...s.defaultProviders].sort()) add(p, "content");
  return out;
}

/** How a warning names a dependency: `core22 (its base)`. */
export function describeDependency(d: Dependency): string {
  switch (d.reason) {
    case "base":
      return `${d.name} (its base)`;
    case "snapd":
      return `${d.name} (needed with a base other than core)`;
    case "content":
      return `${d.name} (default provider of a content plug)`;
  }
}
