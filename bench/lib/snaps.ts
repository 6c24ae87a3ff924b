/**
 * Signed synthetic snaps for the bench: real squashfs blobs (random,
 * incompressible payload), each with `<name>_<rev>.assert` beside it holding
 * its snap-declaration and snap-revision, signed by snapd's published test
 * store key, so `snapshelf import` verifies them like store downloads.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileDigest, packSnap, signSnap, snapIdFor, snapYamlText } from "../../test/support/synthetic-snap.js";

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
    const file = join(dir, `${s.name}_${s.revision}.snap`);
    await packSnap(
      file,
      snapYamlText({ name: s.name, version: `${s.revision}.0`, architectures: s.architectures ?? ["amd64"] }),
      { staging: join(dir, `.staging-${s.name}-${s.revision}`), payloadBytes: s.payloadBytes },
    );
    const dg = await fileDigest(file);
    const signed = signSnap({ name: s.name, revision: s.revision, ...dg, timestamp: SIGNED_AT });
    const assertFile = join(dir, `${s.name}_${s.revision}.assert`);
    await writeFile(assertFile, Buffer.concat([signed.declaration, Buffer.from("\n"), signed.revision]));
    out.push({
      ...s,
      file,
      assertFile,
      snapId: snapIdFor(s.name),
      ...dg,
      declaration: signed.declaration,
      revisionAssertion: signed.revision,
    });
  }
  return out;
}
