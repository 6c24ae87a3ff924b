/**
 * Reading a bundle: recognise it, then unpack it into a staging directory
 * with every entry checked before a byte of it is written.
 *
 * Refused: absolute paths, `..`, anything but regular files (and the two
 * directories), duplicate entries, entries bundle.json does not list (or
 * lists with another size or sha3-384), entries larger than the limits,
 * unknown top-level entries, a first entry other than bundle.json, and
 * truncated or corrupt archives. Only names we construct ourselves
 * (`<staging>/blobs/<checked name>`) are ever created, with `wx`.
 * Nothing read here is trusted by the importer: blobs and assertions still go
 * through the ordinary verification.
 */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Header, Parser, type ReadEntry } from "tar";
import { fullChannelName, parseFullChannel } from "../model/channel.js";
import type { SnapMeta } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason } from "../util/fs.js";
import type { BundleContents, BundleRelease, BundleRevisionFacts, StagedDigest } from "./contents.js";
import { BUNDLE_JSON, BUNDLE_SUFFIX, type BundleDoc, MAX_LISTED, parseBundleDoc } from "./format.js";
import { PARTS_SUFFIX, readPartsFile } from "./parts.js";
import { MAX_SIGNATURE_SIZE, SIGNATURE_ENTRY } from "./signature.js";

export interface ReadBundleOptions {
  /** Largest blob entry accepted (default 64 GiB). */
  readonly maxBlobSize?: number;
  /** Largest assertion entry accepted (default 8 MiB). */
  readonly maxAssertionSize?: number;
  /** Largest bundle.json accepted (default 16 MiB). */
  readonly maxBundleJsonSize?: number;
  /** Called after each read with the bytes of the archive read so far. */
  readonly onProgress?: (bytesRead: number) => void;
}

const DEFAULT_MAX_BLOB = 64 * 1024 ** 3;
const DEFAULT_MAX_ASSERTION = 8 * 1024 ** 2;
const DEFAULT_MAX_JSON = 16 * 1024 ** 2;
const READ_CHUNK = 1 << 20;
/** Directory entries a bundle may carry (tools other than ours add them). */
const DIRS = new Set(["blobs", "blobs/", "assertions", "assertions/"]);
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/**
 * Whether `path` is a bundle: a regular file named `*.snapshelf.tar`, or any
 * tar whose first entry is bundle.json. Directories and other files are not.
 */
export async function isBundle(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  if (basename(path).endsWith(BUNDLE_SUFFIX) || basename(path).endsWith(`${BUNDLE_SUFFIX}${PARTS_SUFFIX}`)) return true;
  if (st.size < 512) return false;
  const fh = await open(path, "r");
  try {
    const block = Buffer.alloc(512);
    const { bytesRead } = await fh.read(block, 0, 512, 0);
    if (bytesRead < 512) return false;
    const h = new Header(block);
    return h.cksumValid && h.path === BUNDLE_JSON;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/**
 * Import arguments with every directory that holds bundles replaced by its
 * bundles (sorted), so `snapshelf import export/` takes an export directory
 * (whose `.cache`/`.partial` are not inputs). Other paths are kept as given.
 */
export async function expandBundleDirs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory()) {
      // whole bundles and split ones (their parts file stands for the parts)
      const bundles = (await readdir(p))
        .filter(
          (n) => (n.endsWith(BUNDLE_SUFFIX) || n.endsWith(`${BUNDLE_SUFFIX}${PARTS_SUFFIX}`)) && !n.startsWith("."),
        )
        .sort();
      if (bundles.length > 0) {
        out.push(...bundles.map((n) => join(p, n)));
        continue;
      }
    }
    out.push(p);
  }
  return out;
}

function entryKind(path: string): "json" | "signature" | "blob" | "assertion" | "dir" | undefined {
  if (path === BUNDLE_JSON) return "json";
  if (path === SIGNATURE_ENTRY) return "signature";
  if (DIRS.has(path)) return "dir";
  if (path.startsWith("blobs/")) return "blob";
  if (path.startsWith("assertions/")) return "assertion";
  return undefined;
}

/** Why a path is unsafe or unknown, if it is. */
function pathProblem(path: string): string | undefined {
  if (path === "") return "empty path";
  if (path.includes("\0")) return "NUL in path";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "absolute path";
  if (path.includes("\\")) return "backslash in path";
  const parts = path.split("/");
  if (parts.includes("..")) return "path escapes the bundle (`..`)";
  if (entryKind(path) === undefined) return "unknown top-level entry";
  return undefined;
}

function typeProblem(type: string): string {
  switch (type) {
    case "SymbolicLink":
      return "symbolic links are not allowed";
    case "Link":
      return "hard links are not allowed";
    case "CharacterDevice":
    case "BlockDevice":
      return "devices are not allowed";
    case "FIFO":
      return "fifos are not allowed";
    default:
      return `entries of type ${type} are not allowed`;
  }
}

interface Sink {
  readonly file: string;
  readonly hash: Hash;
  bytes: number;
  readonly done: Promise<void>;
  readonly stream: WriteStream;
}

/**
 * Unpacks the bundle at `path` into `stagingDir` (which must exist and be
 * empty) and returns what the importer needs. Throws `SnapshelfError`
 * (`bad-bundle`) naming the bundle and the entry or field at fault; on error
 * the caller removes the staging directory.
 */
export async function readBundle(
  path: string,
  stagingDir: string,
  opts: ReadBundleOptions = {},
): Promise<BundleContents> {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("bad-bundle", `cannot read bundle ${path}: ${reason}`);
  const limits = {
    blob: opts.maxBlobSize ?? DEFAULT_MAX_BLOB,
    assertion: opts.maxAssertionSize ?? DEFAULT_MAX_ASSERTION,
    json: opts.maxBundleJsonSize ?? DEFAULT_MAX_JSON,
  };

  let doc: BundleDoc | undefined;
  let jsonChunks: Buffer[] | undefined;
  let sigChunks: Buffer[] | undefined;
  let jsonBytes = 0;
  let first = true;
  let entries = 0;
  let problem: SnapshelfError | undefined;
  const seen = new Set<string>();
  const sinks: Sink[] = [];
  const listed = new Map<string, { readonly size: number; readonly sha3_384: string }>();

  const parser = new Parser({ strict: true, file: path, maxMetaEntrySize: 64 * 1024 });
  const abort = (err: SnapshelfError): void => {
    problem ??= err;
    parser.abort(err);
  };

  const ensureDoc = (): BundleDoc => {
    if (doc !== undefined) return doc;
    if (jsonChunks === undefined) throw fail(`the first entry must be ${BUNDLE_JSON}`);
    doc = parseBundleDoc(Buffer.concat(jsonChunks).toString("utf8"), path);
    for (const r of doc.revisions) listed.set(r.file, { size: r.size, sha3_384: r.sha3_384 });
    for (const a of doc.assertions) listed.set(a.file, { size: a.size, sha3_384: a.sha3_384 });
    return doc;
  };

  const onEntry = (entry: ReadEntry): void => {
    if (problem !== undefined) {
      entry.resume();
      return;
    }
    try {
      entries++;
      if (entries > 2 * MAX_LISTED + 3) throw fail("too many entries");
      const p = entry.path;
      const where = `entry ${JSON.stringify(p)}`;
      const bad = pathProblem(p);
      if (bad !== undefined) throw fail(`${where}: ${bad}`);
      if (seen.has(p.replace(/\/$/, ""))) throw fail(`${where}: duplicate entry`);
      seen.add(p.replace(/\/$/, ""));
      const kind = entryKind(p);
      if (kind === "dir") {
        if (entry.type !== "Directory") throw fail(`${where}: ${typeProblem(entry.type)}`);
        entry.resume();
        return;
      }
      if (!FILE_TYPES.has(entry.type)) throw fail(`${where}: ${typeProblem(entry.type)}`);
      if (first) {
        first = false;
        if (kind !== "json") throw fail(`the first entry must be ${BUNDLE_JSON}, not ${JSON.stringify(p)}`);
        if (entry.size > limits.json) throw fail(`${where}: larger than ${limits.json} bytes`);
        const chunks: Buffer[] = [];
        jsonChunks = chunks;
        entry.on("data", (c: Buffer) => {
          jsonBytes += c.length;
          if (jsonBytes > limits.json) abort(fail(`${where}: larger than ${limits.json} bytes`));
          else chunks.push(c);
        });
        return;
      }
      if (kind === "json") throw fail(`${where}: duplicate entry`);
      if (kind === "signature") {
        // the operator's signature over bundle.json: right after it, version 2 and later
        if (entries !== 2 || sigChunks !== undefined) throw fail(`${where}: must be the second entry`);
        if ((ensureDoc().version ?? 1) < 2) throw fail(`${where}: not allowed in a version 1 bundle`);
        if (entry.size > MAX_SIGNATURE_SIZE) throw fail(`${where}: larger than ${MAX_SIGNATURE_SIZE} bytes`);
        const chunks: Buffer[] = [];
        sigChunks = chunks;
        entry.on("data", (c: Buffer) => chunks.push(c));
        return;
      }
      ensureDoc();
      const want = listed.get(p);
      if (want === undefined) throw fail(`${where}: not listed in ${BUNDLE_JSON}`);
      const limit = kind === "blob" ? limits.blob : limits.assertion;
      if (entry.size > limit) throw fail(`${where}: ${entry.size} bytes, more than the limit of ${limit}`);
      if (entry.size !== want.size) {
        throw fail(`${where}: ${entry.size} bytes, but ${BUNDLE_JSON} says ${want.size}`);
      }
      const file = join(stagingDir, ...p.split("/"));
      // a few chunks may queue: the thread pool writes chunk n while chunk n+1 is read and hashed here
      const stream = createWriteStream(file, { flags: "wx", mode: 0o644, highWaterMark: 4 * READ_CHUNK });
      const sink: Sink = {
        file: p,
        hash: createHash("sha3-384"),
        bytes: 0,
        stream,
        // settles on close: after the data is flushed, or once destroyed on an error path
        done: new Promise<void>((resolve, reject) => {
          stream.on("close", () => resolve());
          stream.on("error", (err) => reject(fail(`cannot write ${file}: ${fsErrorReason(err)}`)));
        }),
      };
      sink.done.catch((err: unknown) => {
        if (err instanceof SnapshelfError) abort(err);
      });
      sinks.push(sink);
      // one consumer, explicit backpressure: the entry may already hold buffered data,
      // which the first listener receives at once
      entry.on("data", (c: Buffer) => {
        sink.hash.update(c);
        sink.bytes += c.length;
        if (!stream.write(c)) {
          entry.pause();
          stream.once("drain", () => entry.resume());
        }
      });
      entry.on("end", () => stream.end());
    } catch (err) {
      entry.resume();
      abort(err instanceof SnapshelfError ? err : fail(String(err)));
    }
  };
  parser.on("entry", onEntry);

  await mkdir(join(stagingDir, "blobs"), { recursive: true });
  await mkdir(join(stagingDir, "assertions"), { recursive: true });

  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("end", () => resolve());
    parser.on("error", (err: Error) => reject(err));
  });
  parsed.catch(() => undefined);

  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // a split bundle (its parts file) is read part after part, each checked as it ends
    const segments: { file: string; size?: number; sha3_384?: string }[] = path.endsWith(PARTS_SUFFIX)
      ? (await readPartsFile(path)).parts.map((p) => ({ ...p, file: join(dirname(path), p.file) }))
      : [{ file: path }];
    const buf = Buffer.alloc(READ_CHUNK);
    let archiveBytes = 0;
    let segment = -1;
    let segHash: Hash | undefined;
    let segBytes = 0;
    for (;;) {
      if (problem !== undefined) break;
      if (fh === undefined) {
        segment++;
        const seg = segments[segment];
        if (seg === undefined) break;
        try {
          fh = await open(seg.file, "r");
        } catch (err) {
          throw fail(`${seg.file}: ${fsErrorReason(err)}`);
        }
        segHash = seg.sha3_384 === undefined ? undefined : createHash("sha3-384");
        segBytes = 0;
      }
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) {
        const seg = segments[segment]!;
        await fh.close();
        fh = undefined;
        if (seg.size !== undefined && segBytes !== seg.size)
          throw fail(`part ${basename(seg.file)}: ${segBytes} bytes, but the parts file says ${seg.size}`);
        const got = segHash?.digest("hex");
        if (got !== undefined && got !== seg.sha3_384) {
          throw new SnapshelfError(
            "bundle-digest-mismatch",
            `cannot read bundle ${path}: part ${basename(seg.file)} has sha3-384 ${got}, but the parts file says ${seg.sha3_384}`,
          );
        }
        continue;
      }
      segBytes += bytesRead;
      segHash?.update(buf.subarray(0, bytesRead));
      archiveBytes += bytesRead;
      opts.onProgress?.(archiveBytes);
      // the parser copies what it keeps, so the buffer can be reused
      const more = parser.write(Buffer.from(buf.subarray(0, bytesRead)));
      if (!more && problem === undefined) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            parser.off("drain", done);
            parser.off("error", done);
            resolve();
          };
          parser.once("drain", done);
          parser.once("error", done);
        });
      }
    }
    if (problem === undefined) parser.end();
    try {
      await parsed;
    } catch (err) {
      if (problem !== undefined) throw problem;
      throw fail(tarReason(err));
    }
    if (problem !== undefined) throw problem;
    await Promise.all(sinks.map((s) => s.done));
    if (problem !== undefined) throw problem;
  } catch (err) {
    for (const s of sinks) s.stream.destroy();
    await Promise.allSettled(sinks.map((s) => s.done));
    throw err;
  } finally {
    await fh?.close();
  }

  const d = ensureDoc();
  // what was written, as hashed while writing it: the importer uses these instead of reading again
  const staged = new Map<string, StagedDigest>();
  for (const s of sinks) {
    const want = listed.get(s.file);
    const got = s.hash.digest("hex");
    staged.set(join(stagingDir, ...s.file.split("/")), { sha3_384: got, size: s.bytes });
    if (want === undefined) throw fail(`entry ${JSON.stringify(s.file)}: not listed in ${BUNDLE_JSON}`);
    if (s.bytes !== want.size)
      throw fail(`entry ${JSON.stringify(s.file)}: truncated (${s.bytes} of ${want.size} bytes)`);
    if (got !== want.sha3_384) {
      throw new SnapshelfError(
        "bundle-digest-mismatch",
        `cannot read bundle ${path}: entry ${JSON.stringify(s.file)} has sha3-384 ${got}, but ${BUNDLE_JSON} says ${want.sha3_384}`,
      );
    }
  }
  const present = new Set(sinks.map((s) => s.file));
  for (const f of listed.keys()) {
    if (!present.has(f)) throw fail(`${BUNDLE_JSON} lists ${JSON.stringify(f)}, which the archive lacks (truncated?)`);
  }
  const json = jsonChunks === undefined ? "" : Buffer.concat(jsonChunks).toString("utf8");
  const signature = sigChunks === undefined ? undefined : Buffer.concat(sigChunks).toString("utf8");
  return {
    ...toContents(d, stagingDir),
    staged,
    bundle: { source: path, json, ...(signature === undefined ? {} : { signature }) },
  };
}

function tarReason(err: unknown): string {
  const e = err as { tarCode?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (/Unrecognized archive format/.test(msg)) return "not a tar archive (or a corrupt one)";
  if (/Truncated input/.test(msg)) return `truncated archive (${msg.replace(/^TAR_BAD_ARCHIVE: /, "")})`;
  if (/checksum failure/.test(msg)) return "corrupt archive (header checksum failure)";
  return `corrupt archive (${msg})`;
}

/** bundle.json -> what the importer consumes. */
export function toContents(doc: BundleDoc, stagingDir: string): BundleContents {
  const snapFiles = doc.revisions.map((r) => join(stagingDir, ...r.file.split("/")));
  const assertionFiles = doc.assertions.map((a) => join(stagingDir, ...a.file.split("/")));
  const name = doc.name;
  if (doc.kind !== "snap" || name === undefined) return { snapFiles, assertionFiles, releases: [], meta: {} };
  const releases: BundleRelease[] = doc.channelMap.map((c) => ({
    name,
    revision: c.revision,
    channel: fullChannelName(parseFullChannel(c.channel)),
    arch: c.arch,
    at: c.releasedAt,
  }));
  const s = doc.store;
  const meta: SnapMeta = {
    ...(s?.title === undefined ? {} : { title: s.title }),
    ...(s?.summary === undefined ? {} : { summary: s.summary }),
    ...(s?.description === undefined ? {} : { description: s.description }),
    ...(s?.license === undefined ? {} : { license: s.license }),
    ...(s?.contact === undefined ? {} : { contact: s.contact }),
    ...(s?.website === undefined ? {} : { website: s.website }),
    ...(s?.storeUrl === undefined ? {} : { storeUrl: s.storeUrl }),
    media: s?.media ?? [],
    categories: s?.categories ?? [],
    ...(s?.featuredCategories === undefined ? {} : { featuredCategories: s.featuredCategories }),
    ...(s?.links === undefined ? {} : { links: s.links }),
    ...(s?.prices === undefined ? {} : { prices: s.prices }),
    ...(s?.private === undefined ? {} : { private: s.private }),
    // explicit even when it is `latest`: the importer merges metadata, and a
    // default track the publisher has since dropped must not linger
    defaultTrack: s?.defaultTrack ?? "latest",
    ...(doc.exportedWith === undefined ? {} : { exported: doc.exportedWith }),
  };
  const revisionFacts: BundleRevisionFacts[] = doc.revisions
    .filter((r) => r.createdAt !== undefined || r.commonIds !== undefined)
    .map((r) => ({
      name,
      revision: r.revision,
      ...(r.createdAt === undefined ? {} : { createdAt: r.createdAt }),
      ...(r.commonIds === undefined ? {} : { commonIds: r.commonIds }),
    }));
  return {
    snapFiles,
    assertionFiles,
    releases,
    meta: { [name]: meta },
    ...(revisionFacts.length === 0 ? {} : { revisionFacts }),
  };
}
