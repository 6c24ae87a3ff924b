/**
 * Synthetic snaps for tests and the bench: real squashfs files (mksquashfs)
 * with a meta/snap.yaml, and their snap-declaration and snap-revision signed
 * with snapd's published test store key (test/support/signer.ts), so
 * `snapshelf import --trusted-root <testrootorg>` accepts them like any
 * store-signed snap.
 */
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { runChecked } from "./process.js";
import { rfc3339, type SigningKey, signAssertion, snapdTestKeys } from "./signer.js";

export interface SnapYamlSpec {
  readonly name: string;
  readonly version?: string;
  readonly architectures?: readonly string[];
  readonly epoch?: string;
  readonly type?: string;
  readonly base?: string;
}

export function snapYamlText(s: SnapYamlSpec): string {
  const lines = [`name: ${s.name}`, `version: '${s.version ?? "1.0"}'`, `summary: synthetic ${s.name}`];
  lines.push(`description: a synthetic snap for tests`);
  if (s.type) lines.push(`type: ${s.type}`);
  if (s.base) lines.push(`base: ${s.base}`);
  if (s.epoch) lines.push(`epoch: ${s.epoch}`);
  lines.push(`architectures: [${(s.architectures ?? ["amd64"]).join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

/**
 * Packs `out` (a .snap) from a meta/snap.yaml with `yaml`, plus `payloadBytes`
 * of random (incompressible) data, uncompressed so packing costs little more
 * than writing. `staging` is a scratch directory (removed after).
 */
export async function packSnap(
  out: string,
  yaml: string,
  opts: { staging: string; payloadBytes?: number; files?: Readonly<Record<string, string>> },
): Promise<void> {
  await rm(opts.staging, { recursive: true, force: true });
  await mkdir(join(opts.staging, "meta"), { recursive: true });
  await writeFile(join(opts.staging, "meta", "snap.yaml"), yaml);
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    await mkdir(join(opts.staging, rel, ".."), { recursive: true });
    await writeFile(join(opts.staging, rel), text);
  }
  const payload = opts.payloadBytes ?? 0;
  if (payload > 0) {
    const fh = await open(join(opts.staging, "payload.bin"), "w");
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let done = 0; done < payload; done += chunk.length) {
        randomFillSync(chunk);
        await fh.write(chunk, 0, Math.min(chunk.length, payload - done));
      }
    } finally {
      await fh.close();
    }
  }
  await rm(out, { force: true });
  await runChecked(
    "mksquashfs",
    [opts.staging, out, "-noappend", "-all-root", "-no-xattrs", "-no-progress", "-noI", "-noD", "-noF", "-noX"],
    { timeoutMs: 600_000 },
  );
  await rm(opts.staging, { recursive: true, force: true });
}

/** sha3-384 (hex) and size of a file, streamed. */
export async function fileDigest(path: string): Promise<{ sha3_384: string; size: number }> {
  const h = createHash("sha3-384");
  let size = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha3_384: h.digest("hex"), size };
}

/** A deterministic 32-character snap-id for a name. */
export function snapIdFor(name: string): string {
  return createHash("sha256")
    .update(`snap-id:${name}`)
    .digest("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, 32)
    .padEnd(32, "x");
}

export interface SnapAssertionSpec {
  readonly name: string;
  readonly snapId?: string;
  readonly revision: number;
  readonly sha3_384: string;
  readonly size: number;
  /** Account that publishes (default testrootorg, a trusted root account). */
  readonly publisherId?: string;
  readonly authorityId?: string;
  readonly key?: SigningKey;
  readonly timestamp?: Date;
}

/** The snap-declaration and snap-revision of a blob, signed by the test store key (or `key`). */
export function signSnap(s: SnapAssertionSpec): { declaration: Buffer; revision: Buffer } {
  const key = s.key ?? snapdTestKeys().store;
  const authority = s.authorityId ?? "testrootorg";
  const publisher = s.publisherId ?? "testrootorg";
  const snapId = s.snapId ?? snapIdFor(s.name);
  // the signature's creation time too: the same inputs give the same bytes (no conflicting duplicates)
  const at = s.timestamp ?? new Date();
  const ts = rfc3339(at);
  return {
    declaration: signAssertion(
      "snap-declaration",
      {
        "authority-id": authority,
        series: "16",
        "snap-id": snapId,
        "publisher-id": publisher,
        "snap-name": s.name,
        timestamp: ts,
      },
      key,
      { at },
    ),
    revision: signAssertion(
      "snap-revision",
      {
        "authority-id": authority,
        "snap-sha3-384": digestHexToBase64Url(s.sha3_384),
        "developer-id": publisher,
        "snap-id": snapId,
        "snap-revision": String(s.revision),
        "snap-size": String(s.size),
        timestamp: ts,
      },
      key,
      { at },
    ),
  };
}

export interface SignedSnapSpec extends SnapYamlSpec {
  readonly revision?: number;
  /** Random payload bytes inside the squashfs (default none). */
  readonly payloadBytes?: number;
  /** Signing time (default now; fix it for byte-identical assertions). */
  readonly timestamp?: Date;
  /** Where `<name>_<revision>.assert` goes (default: beside the .snap, where import looks for it). */
  readonly assertDir?: string;
}

export interface SignedSnapFile {
  readonly file: string;
  readonly assertFile: string;
  readonly sha3_384: string;
  readonly size: number;
  readonly declaration: Buffer;
  readonly revision: Buffer;
}

/**
 * Packs `<dir>/<name>_<revision>.snap` and writes its snap-declaration and
 * snap-revision, signed by the test store key, to `<name>_<revision>.assert`
 * (as `snap download` does).
 */
export async function writeSignedSnap(dir: string, s: SignedSnapSpec): Promise<SignedSnapFile> {
  const revision = s.revision ?? 1;
  const base = `${s.name}_${revision}`;
  const file = join(dir, `${base}.snap`);
  await mkdir(dir, { recursive: true });
  await packSnap(file, snapYamlText(s), {
    staging: join(dir, `.staging-${base}`),
    ...(s.payloadBytes !== undefined ? { payloadBytes: s.payloadBytes } : {}),
  });
  const dg = await fileDigest(file);
  const signed = signSnap({ name: s.name, revision, ...dg, ...(s.timestamp ? { timestamp: s.timestamp } : {}) });
  const assertDir = s.assertDir ?? dir;
  await mkdir(assertDir, { recursive: true });
  const assertFile = join(assertDir, `${base}.assert`);
  await writeFile(assertFile, Buffer.concat([signed.declaration, Buffer.from("\n"), signed.revision]));
  return { file, assertFile, ...dg, declaration: signed.declaration, revision: signed.revision };
}
