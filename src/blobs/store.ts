/**
 * Content-addressed blob store: `<root>/<sha3-384 hex>.snap`.
 *
 * Blobs are hashed while they are copied (one read pass), written under a
 * temporary name in the same directory, fsynced and renamed, so a file under
 * its final name is always complete and verified. Importing the same content
 * twice is a no-op.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { SnapshelfError } from "../util/errors.js";
import { faultPoint } from "../util/fault.js";
import { ensureDir, fsErrorReason, fsyncDir, tempPathFor, unlinkQuiet } from "../util/fs.js";
import { type CopyLimits, copyOnThread } from "./copy-thread.js";

export interface BlobInfo {
  /** sha3-384 of the content, 96 lowercase hex digits. */
  readonly sha3_384: string;
  readonly size: number;
  /** Where the blob lives: `blobPath(root, sha3_384)`. */
  readonly path: string;
}

export interface BlobExpectation {
  /** Expected sha3-384, hex (either case). */
  readonly sha3_384?: string;
  readonly size?: number;
}

export interface ImportBlobOptions {
  /** Refuse inputs larger than this many bytes (checked while copying). */
  readonly maxSize?: number;
  /** Called after each chunk with the number of bytes copied so far. */
  readonly onProgress?: (bytes: number) => void;
  /** How to name the input in errors (default: the path, or `stream`). */
  readonly sourceName?: string;
}

/** Files at least this large are copied and hashed on a worker thread (src/blobs/copy-thread.ts). */
const THREAD_COPY_MIN = 16 * 1024 * 1024;
/** Read/write chunk size: large buffers for throughput on multi-GiB snaps. */
const CHUNK_SIZE = 1 << 20;
const HEX_RE = /^[0-9a-f]{96}$/;
const B64URL_RE = /^[A-Za-z0-9_-]{64}$/;

function invalidDigest(value: string, reason: string): SnapshelfError {
  return new SnapshelfError("invalid-digest", `cannot use sha3-384 digest ${JSON.stringify(value)}: ${reason}`);
}

/** Lower-cases and checks a hex sha3-384 digest. */
function normaliseHex(hex: string): string {
  const lower = hex.toLowerCase();
  if (!HEX_RE.test(lower)) throw invalidDigest(hex, "not 96 hex digits");
  return lower;
}

/**
 * Where the blob with this digest lives: `<root>/<hex>.snap`. The digest is
 * checked (96 lowercase hex digits), so a caller can never address a path
 * outside the store.
 */
export function blobPath(root: string, sha3hex: string): string {
  if (!HEX_RE.test(sha3hex)) throw invalidDigest(sha3hex, "not 96 lowercase hex digits");
  return join(root, `${sha3hex}.snap`);
}

/** sha3-384 hex (store JSON) -> base64url without padding (assertions). */
export function digestHexToBase64Url(hex: string): string {
  return Buffer.from(normaliseHex(hex), "hex").toString("base64url");
}

/** sha3-384 base64url without padding (assertions) -> lowercase hex (store JSON). */
export function digestBase64UrlToHex(b64: string): string {
  if (!B64URL_RE.test(b64)) throw invalidDigest(b64, "not 64 base64url characters");
  const raw = Buffer.from(b64, "base64url");
  // 64 characters carry 384 bits exactly, so this only guards the decoder.
  if (raw.length !== 48) throw invalidDigest(b64, "not 48 bytes");
  return raw.toString("hex");
}

function checkCount(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new SnapshelfError("invalid-argument", `cannot import blob: invalid ${what} ${String(value)}`);
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

/**
 * The copy on this thread (streams, small files, or every copy thread busy):
 * one write in flight while the next chunk is hashed, so hashing (here) and
 * writing (thread pool) overlap and memory stays bounded. Returns [hex, size].
 */
async function copyHere(
  src: string | NodeJS.ReadableStream,
  tmp: string,
  limits: CopyLimits,
  fail: (code: string, reason: string) => SnapshelfError,
  onProgress: ((bytes: number) => void) | undefined,
): Promise<[string, number]> {
  const { wantSize, maxSize } = limits;
  const hash = createHash("sha3-384");
  let size = 0;
  const fh = await open(tmp, "wx", 0o644);
  let pending: Promise<void> = Promise.resolve();
  try {
    // Opened only now, so no early failure leaks a file descriptor.
    const input = typeof src === "string" ? createReadStream(src, { highWaterMark: CHUNK_SIZE }) : src;
    for await (const piece of input) {
      const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
      size += chunk.length;
      if (wantSize !== undefined && size > wantSize) {
        throw fail("blob-size-mismatch", `more than the expected ${wantSize} bytes`);
      }
      if (maxSize !== undefined && size > maxSize) {
        throw fail("blob-too-large", `more than the maximum of ${maxSize} bytes`);
      }
      hash.update(chunk);
      await pending;
      pending = writeAll(fh, chunk);
      // Marks the rejection handled until it is awaited (no unhandled-rejection crash meanwhile).
      pending.catch(() => undefined);
      onProgress?.(size);
      faultPoint("blob:chunk");
    }
    await pending;
    await fh.sync();
    return [hash.digest("hex"), size];
  } finally {
    // Never close under a write still in flight (its error, if any, is already handled above).
    await pending.catch(() => undefined);
    await fh.close();
  }
}

/**
 * Copies `src` (a file path or a stream) into the store while hashing it, in
 * one pass: temporary name in `root`, fsync, rename to `<root>/<hex>.snap`.
 *
 * - If `expect` gives a digest or size and the content differs, the temporary
 *   is removed and `blob-digest-mismatch` / `blob-size-mismatch` is thrown;
 *   nothing is left in `root`. A size overrun is detected as soon as it happens.
 * - `opts.maxSize` stops the copy (`blob-too-large`) once exceeded.
 * - If a blob with that digest (and size) exists already, it is kept and the
 *   copy is discarded (idempotent; the existing inode is not replaced).
 */
export async function importBlob(
  root: string,
  src: string | NodeJS.ReadableStream,
  expect: BlobExpectation = {},
  opts: ImportBlobOptions = {},
): Promise<BlobInfo> {
  const label = opts.sourceName ?? (typeof src === "string" ? src : "stream");
  const fail = (code: string, reason: string): SnapshelfError =>
    new SnapshelfError(code, `cannot import blob from ${label}: ${reason}`);
  const wantHex = expect.sha3_384 === undefined ? undefined : normaliseHex(expect.sha3_384);
  const wantSize = expect.size;
  const maxSize = opts.maxSize;
  checkCount(wantSize, "expected size");
  checkCount(maxSize, "maximum size");

  // the size when known up front (a file): large blobs are copied on a worker thread
  const knownSize = typeof src === "string" ? await sizeUpFront(src, { wantSize, maxSize }, fail) : undefined;
  try {
    await ensureDir(root);
  } catch (err) {
    throw new SnapshelfError("blob-write-failed", `cannot create blob store ${root}: ${fsErrorReason(err)}`);
  }
  const tmp = tempPathFor(join(root, "blob"));
  let size = 0;
  let hex: string;
  try {
    [hex, size] = await copyToTemp(src, tmp, knownSize, { wantSize, maxSize }, fail, opts.onProgress);
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    if (err instanceof SnapshelfError) throw err;
    throw fail("blob-import-failed", fsErrorReason(err));
  }

  try {
    if (wantSize !== undefined && size !== wantSize) {
      throw fail("blob-size-mismatch", `size is ${size} bytes, expected ${wantSize}`);
    }
    if (wantHex !== undefined && hex !== wantHex) {
      throw fail("blob-digest-mismatch", `sha3-384 is ${hex}, expected ${wantHex}`);
    }
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    throw err;
  }
  return { sha3_384: hex, size, path: await placeBlob(root, tmp, hex, size) };
}

/**
 * A file's size, checked against the limits before any temporary exists (a missing file, or a
 * size already known to be wrong, fails fast); the copy re-checks every byte.
 */
async function sizeUpFront(
  src: string,
  limits: CopyLimits,
  fail: (code: string, reason: string) => SnapshelfError,
): Promise<number> {
  const { wantSize, maxSize } = limits;
  let size: number;
  try {
    const st = await stat(src);
    if (!st.isFile()) throw fail("blob-read-failed", "not a regular file");
    size = st.size;
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    throw fail("blob-read-failed", fsErrorReason(err));
  }
  if (wantSize !== undefined && size !== wantSize) {
    throw fail("blob-size-mismatch", `size is ${size} bytes, expected ${wantSize}`);
  }
  if (maxSize !== undefined && size > maxSize) {
    throw fail("blob-too-large", `size is ${size} bytes, more than the maximum of ${maxSize}`);
  }
  return size;
}

/** Copies into `tmp` while hashing: a large file on a worker thread, anything else here. Returns [hex, size]. */
async function copyToTemp(
  src: string | NodeJS.ReadableStream,
  tmp: string,
  knownSize: number | undefined,
  limits: CopyLimits,
  fail: (code: string, reason: string) => SnapshelfError,
  onProgress: ((bytes: number) => void) | undefined,
): Promise<[string, number]> {
  // no idle worker (or a small or unknown size): copied here
  const onThread =
    typeof src === "string" && knownSize !== undefined && knownSize >= THREAD_COPY_MIN
      ? copyOnThread(src, tmp, limits, (n) => {
          onProgress?.(n);
          faultPoint("blob:chunk");
        })
      : undefined;
  if (onThread === undefined) return copyHere(src, tmp, limits, fail, onProgress);
  const out = await onThread;
  if ("limit" in out) {
    throw out.limit === "want"
      ? fail("blob-size-mismatch", `more than the expected ${limits.wantSize} bytes`)
      : fail("blob-too-large", `more than the maximum of ${limits.maxSize} bytes`);
  }
  return [out.hex, out.size];
}

/**
 * Renames the verified temporary to `<root>/<hex>.snap`; a blob already there (same size) is kept
 * and the copy discarded. Returns the blob's path.
 */
async function placeBlob(root: string, tmp: string, hex: string, size: number): Promise<string> {
  const path = blobPath(root, hex);
  try {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isFile() && existing.size === size) {
      await unlinkQuiet(tmp);
    } else {
      // Absent, or damaged outside our control: the verified copy replaces it atomically.
      await rename(tmp, path);
      await fsyncDir(root);
    }
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    throw new SnapshelfError("blob-write-failed", `cannot store blob ${path}: ${fsErrorReason(err)}`);
  }
  return path;
}

/**
 * Moves a file this process wrote itself into the store, given the sha3-384
 * and size computed while it was written (a bundle entry extracted into the
 * change's private staging directory): fsync, rename to `<root>/<hex>.snap`.
 * No second read and hash. Only for files nobody else could have written
 * since: never for an operator's input, which `importBlob` copies.
 */
export async function adoptBlob(root: string, file: string, sha3hex: string, size: number): Promise<BlobInfo> {
  const hex = normaliseHex(sha3hex);
  const path = blobPath(root, hex);
  try {
    await ensureDir(root);
    const fh = await open(file, "r");
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size !== size) {
        throw new SnapshelfError(
          "blob-size-mismatch",
          `cannot store blob from ${file}: size changed since it was written`,
        );
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isFile() && existing.size === size) await unlinkQuiet(file);
    else {
      await rename(file, path);
      await fsyncDir(root);
    }
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    throw new SnapshelfError("blob-write-failed", `cannot store blob ${path}: ${fsErrorReason(err)}`);
  }
  return { sha3_384: hex, size, path };
}

/** sha3-384 (hex) and size of a file, in one read pass. */
export async function hashFile(path: string): Promise<{ sha3_384: string; size: number }> {
  const hash = createHash("sha3-384");
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_SIZE })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
    }
  } catch (err) {
    throw new SnapshelfError("blob-read-failed", `cannot hash ${path}: ${fsErrorReason(err)}`);
  }
  return { sha3_384: hash.digest("hex"), size };
}
