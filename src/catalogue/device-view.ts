/**
 * What devices see of a catalogue, per snap, channel (branches included) and
 * device architecture: the revision the channel holds. Comparing two views is
 * `snapshelf diff`: what devices would see change between two generations.
 * Pure: no I/O.
 */
import { ARCH_ALL } from "../model/arch.js";
import { compareChannels, fullChannelName } from "../model/channel.js";
import type { Channel } from "../model/types.js";
import { effectiveHistory, findRevision } from "./resolve.js";
import type { Catalogue, SnapEntry } from "./types.js";

export interface ViewEntry {
  readonly name: string;
  readonly channel: string;
  readonly arch: string;
  readonly revision: number;
  readonly version: string;
}

function channelsOf(snap: SnapEntry): Channel[] {
  const seen = new Map<string, Channel>();
  for (const c of snap.channels) {
    const ch: Channel =
      c.branch === undefined
        ? { track: c.track, risk: c.risk as Channel["risk"] }
        : {
            track: c.track,
            risk: c.risk as Channel["risk"],
            branch: c.branch,
          };
    seen.set(fullChannelName(ch), ch);
  }
  return [...seen.values()].sort(compareChannels);
}

/**
 * Device architectures a snap is looked at for: those its releases name (an
 * `all` release shows under each of them), else `all` alone.
 */
function archesOf(snap: SnapEntry): string[] {
  const named = new Set(snap.channels.map((c) => c.arch).filter((a) => a !== ARCH_ALL));
  return named.size === 0 ? [ARCH_ALL] : [...named].sort();
}

/** Every (snap, channel, arch) with a current release, sorted. */
export function deviceView(catalogue: Catalogue): ViewEntry[] {
  const out: ViewEntry[] = [];
  for (const snap of catalogue.snaps) {
    for (const ch of channelsOf(snap)) {
      for (const arch of archesOf(snap)) {
        const head = effectiveHistory(snap, ch, arch).at(-1);
        if (head === undefined) continue;
        const rev = findRevision(snap, head.revision);
        out.push({
          name: snap.name,
          channel: fullChannelName(ch),
          arch,
          revision: head.revision,
          version: rev?.version ?? "?",
        });
      }
    }
  }
  return out;
}

export interface ViewChange {
  readonly name: string;
  readonly channel: string;
  readonly arch: string;
  readonly from?: { readonly revision: number; readonly version: string };
  readonly to?: { readonly revision: number; readonly version: string };
}

/** What changes from view `a` to view `b`, sorted by snap, channel, arch. */
export function diffViews(a: readonly ViewEntry[], b: readonly ViewEntry[]): ViewChange[] {
  const key = (e: ViewEntry): string => `${e.name}\u0000${e.channel}\u0000${e.arch}`;
  const before = new Map(a.map((e) => [key(e), e]));
  const after = new Map(b.map((e) => [key(e), e]));
  const out: ViewChange[] = [];
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(k);
    const y = after.get(k);
    if (x !== undefined && y !== undefined && x.revision === y.revision) continue;
    const e = (y ?? x) as ViewEntry;
    out.push({
      name: e.name,
      channel: e.channel,
      arch: e.arch,
      ...(x !== undefined ? { from: { revision: x.revision, version: x.version } } : {}),
      ...(y !== undefined ? { to: { revision: y.revision, version: y.version } } : {}),
    });
  }
  return out;
}

/** One line per change: `NAME CHANNEL ARCH: REV (VERSION) -> REV (VERSION)`, `new`, `closed`. */
export function formatChange(c: ViewChange): string {
  const r = (v: { revision: number; version: string }): string => `${v.revision} (${v.version})`;
  const what =
    c.from === undefined
      ? `new: ${c.to ? r(c.to) : "?"}`
      : c.to === undefined
        ? `closed (was ${r(c.from)})`
        : `${r(c.from)} -> ${r(c.to)}`;
  return `${c.name} ${c.channel} ${c.arch}: ${what}`;
}
