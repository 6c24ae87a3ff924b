/**
 * remove: drop a snap, or some of its revisions, from the records. What goes
 * with a revision: its release events (so a later re-import does not silently
 * put it back in channels), overrides pinning it, and its snap-revision
 * assertion (it names only that blob). The snap-declaration stays (small,
 * shared by every revision, and what a re-import verifies against); store
 * metadata goes with the last revision. Blobs and assertion objects stay on
 * disk until `gc`, which also keeps whatever a retained generation still
 * serves, so devices are never handed a URL that 404s.
 */

import { digestHexToBase64Url } from "../blobs/store.js";
import { isPaired, resourcePairs } from "../catalogue/resources.js";
import type { AssertionRecord, ComponentRecord, Records, RevisionRecord } from "../model/records.js";
import { didYouMean } from "../model/suggest.js";
import { type ChangeOptions, changeRecords } from "../store/change.js";
import type { StoreLayout } from "../store/layout.js";
import { SnapshelfError } from "../util/errors.js";
import { dependentsOf, formatDependents } from "./dependents.js";

export interface RemovedRevision {
  readonly name: string;
  readonly revision: number;
  readonly sha3_384: string;
  readonly size: number;
}

export interface Removal {
  readonly records: Records;
  readonly removed: readonly RemovedRevision[];
  /** Release events dropped with them. */
  readonly releases: number;
  readonly overrides: number;
  /** Assertion records dropped (snap-revisions of the removed blobs). */
  readonly assertions: number;
}

const key = (name: string, revision: number) => `${name}\0${revision}`;

/**
 * Pure: `records` without the given revisions ({name, revision} pairs, all
 * present) and everything that only they need.
 */
export function withoutRevisions(records: Records, drop: readonly { name: string; revision: number }[]): Removal {
  const gone = new Set(drop.map((d) => key(d.name, d.revision)));
  const removedRecs: RevisionRecord[] = records.revisions.filter((r) => gone.has(key(r.name, r.revision)));
  if (removedRecs.length === 0) {
    return { records, removed: [], releases: 0, overrides: 0, assertions: 0 };
  }
  const revisions = records.revisions.filter((r) => !gone.has(key(r.name, r.revision)));
  const releases = records.releases.filter((e) => !gone.has(key(e.name, e.revision)));
  const overridesBefore = records.overrides ?? [];
  const overrides = overridesBefore.filter((o) => !gone.has(key(o.name, o.revision)));
  // a snap-revision's primary key is [snap-sha3-384 (base64url), provenance]
  const keptDigests = new Set(revisions.map((r) => r.sha3_384));
  const droppedDigests = new Set(
    removedRecs.filter((r) => !keptDigests.has(r.sha3_384)).map((r) => digestHexToBase64Url(r.sha3_384)),
  );
  const kept = records.assertions.filter(
    (a) => !(a.type === "snap-revision" && droppedDigests.has(a.primaryKey[0] ?? "")),
  );
  // components paired with no remaining revision go too, with their resource assertions
  const { components, assertions } = withoutUnpairedComponents(records.components ?? [], kept, revisions, removedRecs);
  const names = new Set(revisions.map((r) => r.name));
  const snaps: Record<string, (typeof records.snaps)[string]> = {};
  for (const [n, meta] of Object.entries(records.snaps)) if (names.has(n)) snaps[n] = meta;

  const { overrides: _o, components: _c, ...rest } = records;
  const next: Records = {
    ...rest,
    revisions,
    releases,
    assertions,
    snaps,
    ...(overrides.length > 0 ? { overrides } : {}),
    ...(components.length > 0 ? { components } : {}),
  };
  return {
    records: next,
    removed: removedRecs.map((r) => ({ name: r.name, revision: r.revision, sha3_384: r.sha3_384, size: r.size })),
    releases: records.releases.length - releases.length,
    overrides: overridesBefore.length - overrides.length,
    assertions: records.assertions.length - assertions.length,
  };
}

/**
 * Pure: which revisions `remove NAME [--revision R...]` means. Throws
 * name-not-found / revision-not-found naming what is missing.
 */
export function selectRemoval(
  records: Records,
  name: string,
  revisions: readonly number[] = [],
): { name: string; revision: number }[] {
  const mine = records.revisions.filter((r) => r.name === name);
  if (mine.length === 0)
    throw new SnapshelfError(
      "name-not-found",
      `cannot remove ${name}: no such snap in the store${didYouMean(name, new Set(records.revisions.map((r) => r.name)))}`,
    );
  if (revisions.length === 0) return mine.map((r) => ({ name, revision: r.revision }));
  const missing = revisions.filter((n) => !mine.some((r) => r.revision === n));
  if (missing.length > 0) {
    throw new SnapshelfError(
      "revision-not-found",
      `cannot remove ${name}: no revision ${missing.join(", ")} in the store (it has ${mine.map((r) => r.revision).join(", ")})`,
    );
  }
  return [...new Set(revisions)].sort((a, b) => a - b).map((revision) => ({ name, revision }));
}

export interface RemoveOptions extends ChangeOptions {
  /** Compute and return the removal, change nothing. */
  readonly dryRun?: boolean;
  /** Remove even a snap others need as base or default content provider. */
  readonly force?: boolean;
}

/** Removes a snap or some of its revisions (locked, audited). Run `build`, then `gc`. */
export async function removeSnap(
  layout: StoreLayout,
  name: string,
  revisions: readonly number[] = [],
  opts: RemoveOptions = {},
): Promise<Removal> {
  return changeRecords(layout, "remove", opts, async (records) => {
    const removal = withoutRevisions(records, selectRemoval(records, name, revisions));
    // the whole snap goes: whoever needs it by name would fail to install on devices
    const gone = !removal.records.revisions.some((r) => r.name === name);
    const deps = gone ? dependentsOf(removal.records, name) : [];
    if (deps.length > 0 && opts.force !== true) {
      throw new SnapshelfError(
        "snap-needed",
        `cannot remove ${name}: ${formatDependents(deps)} need${deps.length === 1 ? "s" : ""} it; devices could not install them (remove them first, or --force)`,
      );
    }
    if (opts.dryRun === true) return { result: removal };
    return {
      result: removal,
      records: removal.records,
      audit: {
        op: "remove",
        detail: {
          name,
          revisions: removal.removed.map((r) => r.revision),
          releases: removal.releases,
          overrides: removal.overrides,
          assertions: removal.assertions,
        },
      },
    };
  });
}

/**
 * Pure: the components still paired with one of `revisions`, and `assertions` without the
 * snap-resource-pairs naming a `removed` revision and the snap-resource-revisions of the
 * components dropped.
 */
function withoutUnpairedComponents(
  components: readonly ComponentRecord[],
  assertions: readonly AssertionRecord[],
  revisions: readonly RevisionRecord[],
  removed: readonly RevisionRecord[],
): { components: ComponentRecord[]; assertions: AssertionRecord[] } {
  const gone = new Set(removed.map((r) => `${r.snapId}\0${r.revision}`));
  const pairs = resourcePairs(assertions);
  const keep = components.filter((c) => revisions.some((r) => r.snapId === c.snapId && isPaired(pairs, c, r.revision)));
  const droppedDigests = new Set(
    components.filter((c) => !keep.includes(c)).map((c) => digestHexToBase64Url(c.sha3_384)),
  );
  const rest = assertions.filter((a) => {
    if (a.type === "snap-resource-pair")
      return !gone.has(`${a.headers["snap-id"] ?? ""}\0${a.headers["snap-revision"] ?? ""}`);
    if (a.type === "snap-resource-revision") return !droppedDigests.has(a.headers["resource-sha3-384"] ?? "");
    return true;
  });
  return { components: keep, assertions: rest };
}
