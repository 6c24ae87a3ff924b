/**
 * Records built by hand for the operations unit tests (test/unit/ops-*):
 * revisions with distinct fake digests, releases in the order given.
 */
import { createHash } from "node:crypto";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { parseEpoch } from "../../src/model/epoch.js";
import {
  emptyRecords,
  type Records,
  type RevisionRecord,
  withReleases,
  withRevision,
} from "../../src/model/records.js";

/** A deterministic fake sha3-384 (hex) for NAME revision N. */
export function fakeDigest(name: string, revision: number): string {
  return createHash("sha3-384").update(`${name}_${revision}`).digest("hex");
}

export function revisionRecord(
  name: string,
  revision: number,
  architectures: readonly string[] = ["amd64"],
  epoch = "0",
): RevisionRecord {
  return {
    name,
    snapId: `${name}-id`,
    revision,
    sha3_384: fakeDigest(name, revision),
    size: 1000 + revision,
    createdAt: "2024-01-01T00:00:00Z",
    snapYaml: `name: ${name}\n`,
    info: {
      name,
      version: `v${revision}`,
      summary: "",
      description: "",
      type: "app",
      confinement: "strict",
      grade: "stable",
      architectures,
      epoch: parseEpoch(epoch),
      apps: [],
      defaultProviders: [],
    },
  };
}

/** [name, revision, architectures?, epoch?] */
export type RevSpec = readonly [string, number, (readonly string[])?, string?];
/** [name, channel (full), arch key, revision] in release order */
export type ReleaseSpec = readonly [string, string, string, number];

export function makeRecords(revs: readonly RevSpec[], releases: readonly ReleaseSpec[] = []): Records {
  let r = emptyRecords();
  for (const [name, revision, arches, epoch] of revs)
    r = withRevision(r, revisionRecord(name, revision, arches, epoch));
  r = withReleases(
    r,
    releases.map(([name, channel, arch, revision], i) => ({
      name,
      channel,
      arch,
      revision,
      at: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
    })),
  );
  // each revision's snap-revision assertion record, as an import would leave
  const assertions = r.revisions.map((x) => ({
    type: "snap-revision",
    primaryKey: [digestHexToBase64Url(x.sha3_384), "global-upload"],
    revision: 0,
    format: 0,
    object: createHash("sha3-384").update(`assert ${x.name}_${x.revision}`).digest("hex"),
    headers: { "snap-id": x.snapId, "snap-revision": String(x.revision) },
  }));
  return { ...r, assertions };
}
