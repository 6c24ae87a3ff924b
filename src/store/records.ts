/**
 * The imported state of a store, as plain data, and the pure changes made to
 * it. `state/records.json` holds exactly this; every change writes a whole
 * new copy atomically, so an interrupted change leaves the previous one.
 */
import type { SnapMeta } from "../catalogue/types.js";
import type { SnapYamlInfo } from "../model/types.js";

export const RECORDS_FORMAT = 1;

export interface AssertionRecord {
  readonly type: string;
  readonly primaryKey: readonly string[];
  readonly revision: number;
  readonly format: number;
  /** Hex SHA3-384 of the exact bytes; the object lives in state/assertions/. */
  readonly object: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface RevisionRecord {
  readonly name: string;
  readonly snapId: string;
  readonly revision: number;
  readonly sha3_384: string;
  readonly size: number;
  /** The snap-revision assertion's timestamp. */
  readonly createdAt: string;
  readonly snapYaml: string;
  readonly info: SnapYamlInfo;
}

export interface ReleaseRecord {
  readonly seq: number;
  readonly name: string;
  /** Full channel name track/risk[/branch]. */
  readonly channel: string;
  /** Device architecture or `all`. */
  readonly arch: string;
  readonly revision: number;
  readonly at: string;
}

/**
 * An operator's pin of what a (channel, arch key) serves, kept apart from the
 * imported release history (which it shadows, never rewrites). Applied in the
 * catalogue fold by `overrideReleases` (src/catalogue/overrides.ts).
 */
export interface OverrideRecord {
  readonly name: string;
  /** Full channel name track/risk[/branch]. */
  readonly channel: string;
  /** Device architecture or `all`. */
  readonly arch: string;
  readonly revision: number;
  /** When the override was set (shown as the channel's released-at). */
  readonly at: string;
}

export interface Records {
  readonly format: number;
  /** Objects (hex) of the trusted root assertions added with --trusted-root. */
  readonly roots: readonly string[];
  readonly assertions: readonly AssertionRecord[];
  readonly revisions: readonly RevisionRecord[];
  readonly releases: readonly ReleaseRecord[];
  /** Store metadata per snap name (from bundles, or set by the operator). */
  readonly snaps: Readonly<Record<string, SnapMeta>>;
  /** Operator overrides (absent in stores that never had one), sorted by name, channel, arch. */
  readonly overrides?: readonly OverrideRecord[];
}

export function emptyRecords(): Records {
  return { format: RECORDS_FORMAT, roots: [], assertions: [], revisions: [], releases: [], snaps: {} };
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpKey(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmpStr(a[i] ?? "", b[i] ?? "");
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

export function compareAssertionRecords(a: AssertionRecord, b: AssertionRecord): number {
  return cmpStr(a.type, b.type) || cmpKey(a.primaryKey, b.primaryKey) || a.revision - b.revision;
}

/** Adds assertions not already present (same type, key and revision); keeps order deterministic. */
export function withAssertions(r: Records, add: readonly AssertionRecord[]): Records {
  const seen = new Set(r.assertions.map((a) => a.object));
  const byRef = new Set(r.assertions.map((a) => `${a.type}\0${a.primaryKey.join("\0")}\0${a.revision}`));
  const fresh: AssertionRecord[] = [];
  for (const a of add) {
    const ref = `${a.type}\0${a.primaryKey.join("\0")}\0${a.revision}`;
    if (seen.has(a.object) || byRef.has(ref)) continue;
    seen.add(a.object);
    byRef.add(ref);
    fresh.push(a);
  }
  if (fresh.length === 0) return r;
  return { ...r, assertions: [...r.assertions, ...fresh].sort(compareAssertionRecords) };
}

export function withRoots(r: Records, objects: readonly string[]): Records {
  const roots = [...new Set([...r.roots, ...objects])].sort();
  return { ...r, roots };
}

/** Adds a revision; an identical re-import is a no-op. */
export function withRevision(r: Records, rev: RevisionRecord): Records {
  const existing = r.revisions.find((x) => x.name === rev.name && x.revision === rev.revision);
  if (existing) return r;
  const revisions = [...r.revisions, rev].sort((a, b) => cmpStr(a.name, b.name) || a.revision - b.revision);
  return { ...r, revisions };
}

export function nextReleaseSeq(r: Records): number {
  let max = 0;
  for (const x of r.releases) if (x.seq > max) max = x.seq;
  return max + 1;
}

/** Appends release events (already validated by the caller). */
export function withReleases(r: Records, events: readonly Omit<ReleaseRecord, "seq">[]): Records {
  let seq = nextReleaseSeq(r);
  const add = events.map((e) => ({ ...e, seq: seq++ }));
  return { ...r, releases: [...r.releases, ...add] };
}

/** Replaces a snap's store metadata (keys sorted for deterministic files). */
export function replaceSnapMeta(r: Records, name: string, meta: SnapMeta): Records {
  const snaps: Record<string, SnapMeta> = { ...r.snaps, [name]: meta };
  const sorted: Record<string, SnapMeta> = {};
  for (const k of Object.keys(snaps).sort()) {
    const v = snaps[k];
    if (v && Object.keys(v).length > 0) sorted[k] = v;
  }
  return { ...r, snaps: sorted };
}
