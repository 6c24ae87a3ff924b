/**
 * Bundles of the bench's signed synthetic snaps, written with snapshelf's own
 * bundle writer (one per snap: its blob, snap-declaration and snap-revision;
 * no channel map), as `snapshelf export` would carry them across the gap.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { assertionEntryName, blobEntryName } from "../../src/bundle/format.js";
import { writeBundle } from "../../src/bundle/write.js";
import type { SignedSnap } from "./snaps.js";

function sha3(b: Buffer): string {
  return createHash("sha3-384").update(b).digest("hex");
}

/** Writes `<dir>/<name>.snapshelf.tar` for each snap; returns the paths. */
export async function writeBundles(dir: string, snaps: readonly SignedSnap[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const s of snaps) {
    const blob = blobEntryName(s.name, s.revision);
    const declEntry = assertionEntryName("snap-declaration", ["16", s.snapId], sha3(s.declaration));
    const digest = digestHexToBase64Url(s.sha3_384);
    const revEntry = assertionEntryName("snap-revision", [digest], sha3(s.revisionAssertion));
    const target = join(dir, `${s.name}.snapshelf.tar`);
    await writeBundle(
      target,
      {
        kind: "snap",
        name: s.name,
        snapId: s.snapId,
        store: { media: [], categories: [] },
        channelMap: [],
        revisions: [{ revision: s.revision, file: blob, sha3_384: s.sha3_384, size: s.size }],
        assertions: [
          {
            file: declEntry,
            type: "snap-declaration",
            key: ["16", s.snapId],
            revision: 0,
            sha3_384: sha3(s.declaration),
            size: s.declaration.length,
          },
          {
            file: revEntry,
            type: "snap-revision",
            key: [digest],
            revision: 0,
            sha3_384: sha3(s.revisionAssertion),
            size: s.revisionAssertion.length,
          },
        ],
      },
      {
        blobs: new Map([[blob, s.file]]),
        assertions: new Map([
          [declEntry, s.declaration],
          [revEntry, s.revisionAssertion],
        ]),
      },
      dir,
    );
    out.push(target);
  }
  return out;
}
