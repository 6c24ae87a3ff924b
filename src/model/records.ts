/**
 * The imported state of a store, as plain data, and the pure changes made to
 * it. `state/records.json` holds exactly this; every change writes a whole
 * new copy atomically, so an interrupted change leaves the previous one.
 */
import type { SnapMeta, SnapYamlInfo } from "./types.js";

export const RECORDS_FORMAT = 1;

export interface AssertionRecord {
  readonly type: string;
  /** Full primary key (optional keys filled with their defaults). */
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
  /** The store's `created-at` when a bundle carried it, else the snap-revision assertion's timestamp. */
  readonly createdAt: string;
  /** The store's common ids of the revision (absent in records made without a bundle that had them). */
  readonly commonIds?: readonly string[];
  readonly snapYaml: string;
  readonly info: SnapYamlInfo;
}

/**
 * One component revision (a snap resource, snapd >= 2.62): its blob and what its
 * `meta/component.yaml` and `snap-resource-revision` say. Which snap revisions it goes with
 * is in the `snap-resource-pair` assertions (src/catalogue/resources.ts).
 */
export interface ComponentRecord {
  /** The snap's name. */
  readonly name: string;
  readonly snapId: string;
  /** The component's name (the assertions' `resource-name`). */
  readonly component: string;
  /** `resource-revision`. */
  readonly revision: number;
  /** Hex SHA3-384 of the blob (stored in blobs/ like a snap's). */
  readonly sha3_384: string;
  readonly size: number;
  /** component.yaml's `type` (`standard`, `kernel-modules`, ...). */
  readonly type: string;
  /** component.yaml's `version` ("" when it has none). */
  readonly version: string;
  readonly description: string;
  /** The snap-resource-revision's timestamp. */
  readonly createdAt: string;
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
  /** Component revisions (absent in stores that never had one), sorted by name, component, revision. */
  readonly components?: readonly ComponentRecord[];
}

/** Adds a component revision; one already held (same snap, component and revision) is kept. */
export function withComponent(r: Records, c: ComponentRecord): Records {
  const have = r.components ?? [];
  if (have.some((x) => x.name === c.name && x.component === c.component && x.revision === c.revision)) return r;
  const components = [...have, c].sort(
    (a, b) => cmpStr(a.name, b.name) || cmpStr(a.component, b.component) || a.revision - b.revision,
  );
  return { ...r, components };
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

/**
 * Adds a revision; an identical re-import is a no-op, except that store facts a bundle carries
 * (created-at, common ids) replace those of a record that had none (an older import).
 */
export function withRevision(r: Records, rev: RevisionRecord): Records {
  const existing = r.revisions.find((x) => x.name === rev.name && x.revision === rev.revision);
  if (existing) {
    if (existing.sha3_384 !== rev.sha3_384 || existing.commonIds !== undefined || rev.commonIds === undefined) return r;
    const upgraded = { ...existing, createdAt: rev.createdAt, commonIds: rev.commonIds };
    return { ...r, revisions: r.revisions.map((x) => (x === existing ? upgraded : x)) };
  }
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

/**
 * A bundle's metadata for a snap the store may have: what exports asked for (`exported`) is
 * summed, so `export --since` with no names keeps following every channel and architecture
 * any export brought in; the rest is the bundle's.
 */
export function mergeExported(old: SnapMeta | undefined, meta: SnapMeta): SnapMeta {
  const a = old?.exported;
  const b = meta.exported;
  if (a === undefined) return meta;
  const union = (x: readonly string[], y: readonly string[]): string[] => [...new Set([...x, ...y])];
  return {
    ...meta,
    exported: b === undefined ? a : { channels: union(a.channels, b.channels), arches: union(a.arches, b.arches) },
  };
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

/**
 * One snap's share of the records: everything about that name, and the
 * snap-declaration and snap-revision assertions of its snap-ids. Stored as its
 * own content-addressed file, so a change to one snap writes (and a build
 * reads) only that snap's part.
 */
export interface SnapPart {
  readonly name: string;
  readonly assertions: readonly AssertionRecord[];
  readonly revisions: readonly RevisionRecord[];
  readonly releases: readonly ReleaseRecord[];
  readonly overrides: readonly OverrideRecord[];
  readonly meta?: SnapMeta;
  /** Its component revisions (absent when it has none). */
  readonly components?: readonly ComponentRecord[];
}

/** What belongs to no single snap: trusted roots and the other assertions (accounts, keys, ...). */
export interface GlobalRecords {
  readonly roots: readonly string[];
  readonly assertions: readonly AssertionRecord[];
}

/** Assertion types stored with the snap whose `snap-id` header they carry. */
const PER_SNAP_TYPES: ReadonlySet<string> = new Set([
  "snap-declaration",
  "snap-revision",
  "snap-resource-revision",
  "snap-resource-pair",
]);

/** Splits records into the global part and one part per snap name (sorted by name). Pure. */
export function splitRecords(r: Records): { global: GlobalRecords; parts: SnapPart[] } {
  const names = new Set<string>();
  const owner = new Map<string, string>();
  for (const x of r.revisions) names.add(x.name);
  for (const x of r.releases) names.add(x.name);
  for (const x of r.overrides ?? []) names.add(x.name);
  for (const n of Object.keys(r.snaps)) names.add(n);
  for (const x of r.components ?? []) names.add(x.name);
  const sorted = [...names].sort(cmpStr);
  for (const x of r.revisions) if (!owner.has(x.snapId)) owner.set(x.snapId, x.name);
  const parts = new Map<string, { a: AssertionRecord[]; v: RevisionRecord[]; r: ReleaseRecord[]; o: OverrideRecord[] }>(
    sorted.map((n) => [n, { a: [], v: [], r: [], o: [] }]),
  );
  const global: AssertionRecord[] = [];
  for (const a of r.assertions) {
    const name = PER_SNAP_TYPES.has(a.type) ? owner.get(a.headers["snap-id"] ?? "") : undefined;
    const part = name === undefined ? undefined : parts.get(name);
    if (part) part.a.push(a);
    else global.push(a);
  }
  for (const x of r.revisions) parts.get(x.name)?.v.push(x);
  for (const x of r.releases) parts.get(x.name)?.r.push(x);
  for (const x of r.overrides ?? []) parts.get(x.name)?.o.push(x);
  const comps = new Map<string, ComponentRecord[]>();
  for (const x of r.components ?? []) comps.set(x.name, [...(comps.get(x.name) ?? []), x]);
  return {
    global: { roots: r.roots, assertions: global },
    parts: sorted.map((name) => {
      const p = parts.get(name) ?? { a: [], v: [], r: [], o: [] };
      const meta = r.snaps[name];
      return {
        name,
        assertions: p.a,
        revisions: p.v,
        releases: p.r,
        overrides: p.o,
        ...(meta !== undefined ? { meta } : {}),
        ...(comps.has(name) ? { components: comps.get(name) ?? [] } : {}),
      };
    }),
  };
}

/** The inverse of `splitRecords`: the same records, in the same order. Pure. */
export function joinRecords(global: GlobalRecords, parts: readonly SnapPart[]): Records {
  const byName = [...parts].sort((a, b) => cmpStr(a.name, b.name));
  const assertions = [...global.assertions, ...byName.flatMap((p) => p.assertions)].sort(compareAssertionRecords);
  const releases = byName.flatMap((p) => p.releases).sort((a, b) => a.seq - b.seq);
  const overrides = byName.flatMap((p) => p.overrides);
  const snaps: Record<string, SnapMeta> = {};
  for (const p of byName) if (p.meta !== undefined) snaps[p.name] = p.meta;
  const components = byName.flatMap((p) => p.components ?? []);
  return {
    format: RECORDS_FORMAT,
    roots: global.roots,
    assertions,
    revisions: byName.flatMap((p) => p.revisions),
    releases,
    snaps,
    ...(overrides.length > 0 ? { overrides } : {}),
    ...(components.length > 0 ? { components } : {}),
  };
}
