/**
 * Overrides in the fold. An override pins what a (snap, channel, arch key)
 * serves without rewriting the imported release history: the fold treats it
 * as one more release event, ordered after every imported release, so it is
 * the channel's head for as long as it exists. Deleting it leaves the
 * imported history exactly as it was, so the imported head serves again.
 *
 * Epochs: the history walk of a refresh (resolve.ts) starts at the head, i.e.
 * at the pinned revision. A device whose installed epoch the pinned revision
 * cannot read walks back into the imported history, exactly as after a
 * `snapcraft release` of that revision in the Snap Store: it gets the newest
 * earlier release it can read, or no update.
 *
 * Ordering between overrides of one channel: those on the `all` key come
 * before those on a device architecture, so a device-specific override wins
 * over an all-architectures one where both apply. Pure, no I/O.
 */
import { ARCH_ALL } from "../model/arch.js";
import type { OverrideRecord, Records, ReleaseRecord } from "../model/records.js";

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deterministic order of override records: name, channel, `all` first, then arch. */
export function compareOverrides(a: OverrideRecord, b: OverrideRecord): number {
  const allA = a.arch === ARCH_ALL ? 0 : 1;
  const allB = b.arch === ARCH_ALL ? 0 : 1;
  return cmpStr(a.name, b.name) || cmpStr(a.channel, b.channel) || allA - allB || cmpStr(a.arch, b.arch);
}

/**
 * The records' overrides as release events with `seq` after every imported
 * release of their snap (so each is its channel's head), ready to be folded
 * with them. Numbered per snap: seq orders the events of one snap only, and
 * a snap's fold then depends on that snap's records alone (builds fold only
 * the snaps that changed).
 */
export function overrideReleases(records: Records): readonly ReleaseRecord[] {
  const overrides = records.overrides ?? [];
  if (overrides.length === 0) return [];
  const next = new Map<string, number>();
  for (const r of records.releases) if (r.seq >= (next.get(r.name) ?? 1)) next.set(r.name, r.seq + 1);
  return [...overrides].sort(compareOverrides).map((o) => {
    const seq = next.get(o.name) ?? 1;
    next.set(o.name, seq + 1);
    return { seq, name: o.name, channel: o.channel, arch: o.arch, revision: o.revision, at: o.at };
  });
}
