/**
 * Bundles split in parts, so that no file exceeds a filesystem's limit (FAT32:
 * 4 GiB - 1 byte), a single blob included. The tar stream is cut into
 * `<bundle>.001`, `<bundle>.002`, ... (as split(1) would: `cat` of the parts in
 * order is the bundle), and `<bundle>.parts.json` lists them with their size
 * and sha3-384:
 *
 * ```json
 * {"format": "snapshelf-bundle-parts", "version": 1, "bundle": "hello.snapshelf.tar",
 *  "size": 9000, "parts": [{"file": "hello.snapshelf.tar.001", "size": 4096, "sha3-384": "<hex>"}]}
 * ```
 *
 * The parts file is written last (the commit point of a split bundle). A
 * reader checks each part's size and digest as it streams it (an error names
 * the part), then the reassembled archive like any other bundle: bundle.json's
 * own sizes and digests (and its signature) cover every entry.
 */
import { createHash } from "node:crypto";
import { open, readdir, readFile, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { SnapshelfError } from "../util/errors.js";
import { fsyncDir, unlinkQuiet, writeFileAtomic } from "../util/fs.js";
import { asObject, intField, listField, parseJson, type ShapeFail, stringField } from "../util/json-shape.js";

export const PARTS_FORMAT = "snapshelf-bundle-parts";
export const PARTS_SUFFIX = ".parts.json";
/** Just under FAT32's limit of 4 GiB - 1 byte per file. */
export const DEFAULT_MAX_FILE_SIZE = 4 * 1024 ** 3 - 1024 ** 2;
/** Smallest part size accepted (a part holds at least a few tar blocks). */
export const MIN_MAX_FILE_SIZE = 4096;
export const MAX_PARTS = 9999;

export interface BundlePart {
  /** File name, in the directory of the parts file. */
  readonly file: string;
  readonly size: number;
  readonly sha3_384: string;
}

export interface PartsManifest {
  /** The bundle's name (`hello.snapshelf.tar`). */
  readonly bundle: string;
  readonly size: number;
  readonly parts: readonly BundlePart[];
}

/** `hello.snapshelf.tar.007`: at least three digits, as split(1) sorts them. */
export function partName(bundle: string, index: number): string {
  return `${bundle}.${String(index + 1).padStart(3, "0")}`;
}

/** Parses a size: bytes, or with a K, M, G or T suffix (powers of 1024). */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+)([KMGT]i?B?)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? "").charAt(0).toUpperCase();
  const mult = unit === "" ? 1 : 1024 ** ("KMGT".indexOf(unit) + 1);
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function renderParts(m: PartsManifest): string {
  return `${JSON.stringify(
    {
      format: PARTS_FORMAT,
      version: 1,
      bundle: m.bundle,
      size: m.size,
      parts: m.parts.map((p) => ({ file: p.file, size: p.size, "sha3-384": p.sha3_384 })),
    },
    null,
    2,
  )}\n`;
}

export function parseParts(text: string, source: string): PartsManifest {
  const fail: ShapeFail = (path, reason) =>
    new SnapshelfError("bad-bundle", `cannot read bundle ${source}: ${path === "" ? "" : `field ${path}: `}${reason}`);
  const o = asObject(parseJson(text, fail), "", fail);
  if (stringField(o, "format", "", fail) !== PARTS_FORMAT) throw fail("format", `expected "${PARTS_FORMAT}"`);
  const version = intField(o, "version", "", fail, 1);
  if (version > 1) throw fail("version", `version ${version} is newer than this snapshelf understands (1)`);
  const bundle = stringField(o, "bundle", "", fail, { pattern: /^[A-Za-z0-9_][A-Za-z0-9._,=+@-]{0,250}$/ });
  const list = listField(o, "parts", "", fail);
  if (list.length === 0 || list.length > MAX_PARTS) throw fail("parts", `expected 1 to ${MAX_PARTS} parts`);
  let total = 0;
  const parts = list.map((x, i): BundlePart => {
    const p = `parts[${i}]`;
    const po = asObject(x, p, fail);
    const file = stringField(po, "file", p, fail);
    if (file !== partName(bundle, i)) throw fail(`${p}.file`, `expected ${JSON.stringify(partName(bundle, i))}`);
    const size = intField(po, "size", p, fail, 1);
    total += size;
    return { file, size, sha3_384: stringField(po, "sha3-384", p, fail, { pattern: /^[0-9a-f]{96}$/ }) };
  });
  const size = intField(o, "size", "", fail);
  if (size !== total) throw fail("size", `${size}, but the parts add up to ${total}`);
  return { bundle, size, parts };
}

export async function readPartsFile(path: string): Promise<PartsManifest> {
  let text: string;
  try {
    const fh = await open(path, "r");
    try {
      if ((await fh.stat()).size > 1024 * 1024) throw new Error("larger than 1 MiB");
      text = await readFile(fh, "utf8");
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    throw new SnapshelfError("bad-bundle", `cannot read bundle ${path}: ${(err as Error).message}`);
  }
  return parseParts(text, path);
}

/**
 * Streams `src` (a tar) into `target`, cut into parts of at most `maxFileSize`
 * bytes when it is longer. Everything goes to temporary names first (`tmpBase`
 * + `.NNN`); then either the one file is renamed to `target`, or the parts are
 * renamed and `target.parts.json` written last. Stale files of an earlier
 * export of the same bundle (whole or split) are removed. Returns the total
 * size and the files written.
 */
export async function writeSplit(
  src: AsyncIterable<Buffer>,
  target: string,
  tmpBase: string,
  maxFileSize: number,
): Promise<{ size: number; files: string[] }> {
  const tmps: { path: string; size: number; hash: ReturnType<typeof createHash> }[] = [];
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  let cur: (typeof tmps)[number] | undefined;
  const dir = dirname(target);
  const name = basename(target);
  try {
    for await (const chunk of src) {
      let off = 0;
      while (off < chunk.length) {
        if (cur === undefined || cur.size >= maxFileSize) {
          if (fh !== undefined) {
            await fh.sync();
            await fh.close();
            fh = undefined;
          }
          if (tmps.length >= MAX_PARTS) throw new Error(`more than ${MAX_PARTS} parts: raise --max-file-size`);
          cur = {
            path: `${tmpBase}.${String(tmps.length + 1).padStart(4, "0")}`,
            size: 0,
            hash: createHash("sha3-384"),
          };
          tmps.push(cur);
          fh = await open(cur.path, "wx", 0o644);
        }
        const n = Math.min(chunk.length - off, maxFileSize - cur.size);
        const piece = chunk.subarray(off, off + n);
        await fh!.write(piece);
        cur.hash.update(piece);
        cur.size += n;
        off += n;
      }
    }
    if (fh !== undefined) {
      await fh.sync();
      await fh.close();
      fh = undefined;
    }
    const size = tmps.reduce((a, t) => a + t.size, 0);
    // what an earlier export of this bundle left: the whole file, or parts
    const stale = (await readdir(dir)).filter(
      (n) => n === name || (n.startsWith(`${name}.`) && /^\.[0-9]{3,4}$/.test(n.slice(name.length))),
    );
    if (tmps.length <= 1) {
      const only = tmps[0];
      if (only === undefined) throw new Error("empty archive");
      await unlinkQuiet(join(dir, `${name}${PARTS_SUFFIX}`));
      await rename(only.path, target);
      for (const n of stale) if (n !== name) await unlinkQuiet(join(dir, n));
      await fsyncDir(dir);
      return { size, files: [target] };
    }
    const parts: BundlePart[] = [];
    for (const [i, t] of tmps.entries()) {
      const file = partName(name, i);
      parts.push({ file, size: t.size, sha3_384: t.hash.digest("hex") });
    }
    await unlinkQuiet(join(dir, `${name}${PARTS_SUFFIX}`));
    for (const [i, t] of tmps.entries()) await rename(t.path, join(dir, parts[i]!.file));
    for (const n of stale) if (!parts.some((p) => p.file === n)) await unlinkQuiet(join(dir, n));
    await writeFileAtomic(join(dir, `${name}${PARTS_SUFFIX}`), renderParts({ bundle: name, size, parts }));
    await fsyncDir(dir);
    return { size, files: [...parts.map((p) => join(dir, p.file)), join(dir, `${name}${PARTS_SUFFIX}`)] };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    for (const t of tmps) await unlinkQuiet(t.path).catch(() => undefined);
    throw err;
  }
}
