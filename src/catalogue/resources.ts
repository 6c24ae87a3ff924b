/**
 * Components (snap resources, snapd >= 2.62) in the catalogue: which component revisions go
 * with a snap revision. A component revision goes with the snap revisions its
 * `snap-resource-pair` assertions name; a snap revision serves, per component, the highest
 * revision paired with it (a newer pairing with the same snap revision is a component-only
 * update, which snapd's `currentSnapMatchesStoreSnap` sees as an update). Pure.
 */
import type { AssertionRecord, ComponentRecord, Records } from "../model/records.js";
import type { ResourceEntry, RevisionEntry } from "./types.js";

function pairKey(snapId: string, component: string, resourceRevision: string, snapRevision: string): string {
  return `${snapId}\0${component}\0${resourceRevision}\0${snapRevision}`;
}

/** Every (snap-id, component, resource revision, snap revision) that a snap-resource-pair states. */
export function resourcePairs(assertions: readonly AssertionRecord[]): Set<string> {
  const out = new Set<string>();
  for (const a of assertions) {
    if (a.type !== "snap-resource-pair") continue;
    const h = a.headers;
    out.add(
      pairKey(h["snap-id"] ?? "", h["resource-name"] ?? "", h["resource-revision"] ?? "", h["snap-revision"] ?? ""),
    );
  }
  return out;
}

/** Whether `pairs` pairs the component revision `c` with snap revision `snapRevision`. */
export function isPaired(pairs: ReadonlySet<string>, c: ComponentRecord, snapRevision: number): boolean {
  return pairs.has(pairKey(c.snapId, c.component, String(c.revision), String(snapRevision)));
}

function toEntry(c: ComponentRecord): ResourceEntry {
  return {
    name: c.component,
    type: `component/${c.type}`,
    revision: c.revision,
    version: c.version,
    sha3_384: c.sha3_384,
    size: c.size,
    createdAt: c.createdAt,
    description: c.description,
  };
}

/**
 * A function giving the resources of one snap revision (sorted by name): per component of the
 * snap, its highest revision paired with that snap revision.
 */
export function resourcesOfRecords(records: Records): (snapId: string, snapRevision: number) => ResourceEntry[] {
  const all = records.components ?? [];
  if (all.length === 0) return () => [];
  const pairs = resourcePairs(records.assertions);
  const bySnap = new Map<string, ComponentRecord[]>();
  for (const c of all) bySnap.set(c.snapId, [...(bySnap.get(c.snapId) ?? []), c]);
  return (snapId, snapRevision) => {
    const best = new Map<string, ComponentRecord>();
    for (const c of bySnap.get(snapId) ?? []) {
      if (!isPaired(pairs, c, snapRevision)) continue;
      const prev = best.get(c.component);
      if (prev === undefined || prev.revision < c.revision) best.set(c.component, c);
    }
    return [...best.keys()].sort().map((k) => toEntry(best.get(k) as ComponentRecord));
  };
}

/** The blobs a revision makes devices fetch: its snap and its components (hex sha3-384 and size). */
export function revisionBlobs(rev: RevisionEntry): { sha3_384: string; size: number }[] {
  return [
    { sha3_384: rev.sha3_384, size: rev.size },
    ...(rev.resources ?? []).map((r) => ({ sha3_384: r.sha3_384, size: r.size })),
  ];
}
