/**
 * Large synthetic stores for the scale bench, written directly (records.json,
 * assertion objects, blobs) through the same pure record functions import
 * uses, WITHOUT signature verification: the figures measured on them are
 * build and serve costs, which never look at signatures. Blobs are tiny
 * (build checks that they exist with the recorded size, serve never reads
 * them unless downloaded).
 *
 * Shape: 40 revisions per snap (so 1,000 revisions are 25 snaps and 20,000
 * are 500), architectures amd64/arm64/armhf/all in turn, releases over 3
 * tracks x 4 risks, one snap-declaration per snap and one snap-revision per
 * revision.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import {
  type AssertionRecord,
  emptyRecords,
  type Records,
  type RevisionRecord,
  withAssertions,
  withReleases,
  withRevision,
} from "../../src/model/records.js";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { assertionObjectPath, type StoreLayout, storeLayout } from "../../src/store/layout.js";
import { writeRecords } from "../../src/store/state.js";
import { snapIdFor, snapYamlText } from "../../test/support/synthetic-snap.js";

export const REVISIONS_PER_SNAP = 40;
const ARCHES = [["amd64"], ["arm64"], ["armhf"], ["all"]] as const;
const TRACKS = ["latest", "2.x", "3.x"];
const RISKS = ["stable", "candidate", "beta", "edge"];
const PUBLISHER = "benchpublisher00000000000000000";
const AT = "2026-01-01T00:00:00Z";

function sha3(data: string | Buffer): string {
  return createHash("sha3-384").update(data).digest("hex");
}

async function writeObject(layout: StoreLayout, text: string): Promise<string> {
  const id = sha3(text);
  const p = assertionObjectPath(layout, id);
  await mkdir(join(p, ".."), { recursive: true });
  await writeFile(p, text);
  return id;
}

async function assertion(
  layout: StoreLayout,
  type: string,
  primaryKey: string[],
  headers: Record<string, string>,
): Promise<AssertionRecord> {
  const text = `type: ${type}\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n")}\nsign-key-sha3-384: ${"x".repeat(64)}\n\nAcLBUgQAAQoABgUCawJLFAAA${"A".repeat(600)}\n`;
  return { type, primaryKey, revision: 0, format: 0, object: await writeObject(layout, text), headers };
}

export interface SyntheticRevision {
  readonly revision: RevisionRecord;
  readonly assertion: AssertionRecord;
  readonly arch: string;
}

/** Writes one revision's blob and snap-revision object; returns its records. */
export async function syntheticRevision(layout: StoreLayout, snap: number, rev: number): Promise<SyntheticRevision> {
  const name = `scale-snap-${String(snap).padStart(4, "0")}`;
  const snapId = snapIdFor(name);
  const architectures = ARCHES[rev % ARCHES.length] ?? ["amd64"];
  const yaml = snapYamlText({ name, version: `${rev}.0`, architectures });
  const blob = Buffer.from(`${name} revision ${rev}\n`);
  const hex = sha3(blob);
  await writeFile(join(layout.blobs, `${hex}.snap`), blob);
  const a = await assertion(layout, "snap-revision", [digestHexToBase64Url(hex), "global-upload"], {
    "authority-id": "testrootorg",
    "snap-sha3-384": digestHexToBase64Url(hex),
    "developer-id": PUBLISHER,
    "snap-id": snapId,
    "snap-revision": String(rev),
    "snap-size": String(blob.length),
    timestamp: AT,
  });
  return {
    revision: {
      name,
      snapId,
      revision: rev,
      sha3_384: hex,
      size: blob.length,
      createdAt: AT,
      snapYaml: yaml,
      info: parseSnapYaml(yaml, name),
    },
    assertion: a,
    arch: architectures[0] ?? "amd64",
  };
}

/** The release event a synthetic revision gets: a track and risk from its number. */
export function releaseOf(r: SyntheticRevision): {
  name: string;
  channel: string;
  arch: string;
  revision: number;
  at: string;
} {
  const n = r.revision.revision;
  return {
    name: r.revision.name,
    channel: `${TRACKS[n % TRACKS.length]}/${RISKS[Math.floor(n / TRACKS.length) % RISKS.length]}`,
    arch: r.arch,
    revision: n,
    at: AT,
  };
}

/** Writes a store of `revisions` revisions into `dir` (which should not exist). */
export async function writeSyntheticStore(
  dir: string,
  revisions: number,
): Promise<{ snaps: number; records: Records }> {
  const layout = storeLayout(dir);
  await mkdir(layout.blobs, { recursive: true });
  const snaps = Math.max(1, Math.round(revisions / REVISIONS_PER_SNAP));
  const assertions: AssertionRecord[] = [
    await assertion(layout, "account", [PUBLISHER], {
      "authority-id": "testrootorg",
      "account-id": PUBLISHER,
      "display-name": "Bench Publisher",
      username: "bench-publisher",
      validation: "verified",
      timestamp: AT,
    }),
  ];
  const revs: RevisionRecord[] = [];
  const events: ReturnType<typeof releaseOf>[] = [];
  for (let s = 0; s < snaps; s++) {
    const name = `scale-snap-${String(s).padStart(4, "0")}`;
    assertions.push(
      await assertion(layout, "snap-declaration", ["16", snapIdFor(name)], {
        "authority-id": "testrootorg",
        series: "16",
        "snap-id": snapIdFor(name),
        "publisher-id": PUBLISHER,
        "snap-name": name,
        timestamp: AT,
      }),
    );
    const count = s === snaps - 1 ? revisions - REVISIONS_PER_SNAP * (snaps - 1) : REVISIONS_PER_SNAP;
    for (let r = 1; r <= count; r++) {
      const x = await syntheticRevision(layout, s, r);
      revs.push(x.revision);
      assertions.push(x.assertion);
      events.push(releaseOf(x));
    }
  }
  let records = withAssertions(emptyRecords(), assertions);
  records = {
    ...records,
    revisions: [...revs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.revision - b.revision)),
  };
  records = withReleases(records, events);
  await writeRecords(layout, records);
  return { snaps, records };
}

/** "Imports" one more revision of the first snap, released to latest/stable: records written directly. */
export async function addSyntheticRevision(dir: string, records: Records): Promise<Records> {
  const layout = storeLayout(dir);
  const first = records.revisions[0];
  const next = 1 + Math.max(...records.revisions.filter((r) => r.name === first?.name).map((r) => r.revision));
  const x = await syntheticRevision(layout, 0, next);
  let out = withAssertions(records, [x.assertion]);
  out = withRevision(out, x.revision);
  out = withReleases(out, [{ ...releaseOf(x), channel: "latest/stable" }]);
  await writeRecords(layout, out);
  return out;
}
