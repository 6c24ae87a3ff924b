/**
 * Signed synthetic snaps for the bench: real squashfs blobs (random,
 * incompressible payload), each with `<name>_<rev>.assert` beside it holding
 * its snap-declaration and snap-revision, signed by snapd's published test
 * store key, so `snapshelf import` verifies them like store downloads.
 */
import { snapIdFor, writeSignedSnap } from "../../test/support/synthetic-snap.js";

export interface SnapSpec {
  readonly name: string;
  readonly revision: number;
  readonly payloadBytes: number;
  readonly architectures?: readonly string[];
}

export interface SignedSnap extends SnapSpec {
  readonly file: string;
  readonly assertFile: string;
  readonly snapId: string;
  readonly sha3_384: string;
  readonly size: number;
  /** The two assertions, one per element (fakestore wants one per file). */
  readonly declaration: Buffer;
  readonly revisionAssertion: Buffer;
}

/** A fixed signing time: the same inputs give byte-identical assertions. */
const SIGNED_AT = new Date("2026-01-01T00:00:00Z");

export async function makeSignedSnaps(dir: string, specs: readonly SnapSpec[]): Promise<SignedSnap[]> {
  const out: SignedSnap[] = [];
  for (const s of specs) {
    const w = await writeSignedSnap(dir, {
      name: s.name,
      revision: s.revision,
      version: `${s.revision}.0`,
      architectures: s.architectures ?? ["amd64"],
      payloadBytes: s.payloadBytes,
      timestamp: SIGNED_AT,
    });
    out.push({
      ...s,
      file: w.file,
      assertFile: w.assertFile,
      snapId: snapIdFor(s.name),
      sha3_384: w.sha3_384,
      size: w.size,
      declaration: w.declaration,
      revisionAssertion: w.revision,
    });
  }
  return out;
}
