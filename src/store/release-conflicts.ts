/**
 * `import --release CHANNEL` releases every imported revision to CHANNEL. Two
 * revisions of one snap for one architecture would be released in turn, the
 * last winning, and the history refreshes walk would hold a release that never
 * happened: refused, naming them. Pure.
 */
import { releaseArchKeys } from "../model/arch.js";
import { SnapshelfError } from "../util/errors.js";

export interface ImportedRevision {
  readonly name: string;
  readonly revision: number;
  readonly architectures: readonly string[];
}

/** Snap and architecture -> the distinct revisions of the inputs released there, when more than one. */
export function releaseConflicts(
  revisions: readonly ImportedRevision[],
): { name: string; arch: string; revisions: number[] }[] {
  const by = new Map<string, { name: string; arch: string; revisions: Set<number> }>();
  for (const r of revisions) {
    for (const arch of releaseArchKeys(r.architectures)) {
      const key = `${r.name}\u0000${arch}`;
      const e = by.get(key) ?? { name: r.name, arch, revisions: new Set<number>() };
      e.revisions.add(r.revision);
      by.set(key, e);
    }
  }
  return [...by.values()]
    .filter((e) => e.revisions.size > 1)
    .map((e) => ({ name: e.name, arch: e.arch, revisions: [...e.revisions].sort((a, b) => a - b) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
}

/** Throws when `--release` would release several revisions of one snap and architecture into one channel. */
export function checkReleaseConflicts(revisions: readonly ImportedRevision[], channels: readonly string[]): void {
  if (channels.length === 0) return;
  const c = releaseConflicts(revisions);
  if (c.length === 0) return;
  const list = c.map((e) => `${e.name} revisions ${e.revisions.join(", ")} (${e.arch})`).join("; ");
  const first = c[0];
  throw new SnapshelfError(
    "release-ambiguous",
    `cannot import with --release ${channels.join(", ")}: the inputs hold several revisions of one snap and architecture for one channel: ${list}; import without --release, then choose with: snapshelf release ${first?.name ?? "NAME"} REV ${channels[0] ?? "CHANNEL"}`,
  );
}
