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

interface Limits {
  readonly blob: number;
  readonly assertion: number;
  readonly json: number;
}

/** One piece of the archive: the bundle itself, or one part of a split bundle (checked as it ends). */
interface Segment {
  readonly file: string;
  readonly size?: number;
  readonly sha3_384?: string;
}

function bundleFail(path: string, reason: string): SnapshelfError {
  return new SnapshelfError("bad-bundle", `cannot read bundle ${path}: ${reason}`);
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
  const unpacker = new BundleUnpacker(path, stagingDir, {
    blob: opts.maxBlobSize ?? DEFAULT_MAX_BLOB,
    assertion: opts.maxAssertionSize ?? DEFAULT_MAX_ASSERTION,
    json: opts.maxBundleJsonSize ?? DEFAULT_MAX_JSON,
  });
  await mkdir(join(stagingDir, "blobs"), { recursive: true });
  await mkdir(join(stagingDir, "assertions"), { recursive: true });
  await unpacker.unpack(await segmentsOf(path), opts.onProgress);
  return unpacker.contents();
}

/** A split bundle (its parts file) is read part after part; a whole one is one segment. */
async function segmentsOf(path: string): Promise<Segment[]> {
  return path.endsWith(PARTS_SUFFIX)
    ? (await readPartsFile(path)).parts.map((p) => ({ ...p, file: join(dirname(path), p.file) }))
    : [{ file: path }];
}

/**
 * The tar parser's entries, each checked before a byte of it is written: bundle.json first (kept),
 * its signature next (kept), then the blobs and assertions it lists, streamed into staging and
 * hashed on the way. The first problem aborts the parser and is the one reported.
 */
class BundleUnpacker {
  private readonly parser: Parser;
  private readonly parsed: Promise<void>;
  private problem: SnapshelfError | undefined;
  private doc: BundleDoc | undefined;
  private jsonChunks: Buffer[] | undefined;
  private sigChunks: Buffer[] | undefined;
  private jsonBytes = 0;
  private first = true;
  private entries = 0;
  private readonly seen = new Set<string>();
  private readonly sinks: Sink[] = [];
  private readonly listed = new Map<string, { readonly size: number; readonly sha3_384: string }>();

  constructor(
    private readonly path: string,
    private readonly stagingDir: string,
    private readonly limits: Limits,
  ) {
    this.parser = new Parser({ strict: true, file: path, maxMetaEntrySize: 64 * 1024 });
    this.parser.on("entry", (entry: ReadEntry) => this.onEntry(entry));
    this.parsed = new Promise<void>((resolve, reject) => {
      this.parser.on("end", () => resolve());
      this.parser.on("error", (err: Error) => reject(err));
    });
    this.parsed.catch(() => undefined);
  }

  private fail(reason: string): SnapshelfError {
    return bundleFail(this.path, reason);
  }

  private abort(err: SnapshelfError): void {
    this.problem ??= err;
    this.parser.abort(err);
  }

  private ensureDoc(): BundleDoc {
    if (this.doc !== undefined) return this.doc;
    if (this.jsonChunks === undefined) throw this.fail(`the first entry must be ${BUNDLE_JSON}`);
    const doc = parseBundleDoc(Buffer.concat(this.jsonChunks).toString("utf8"), this.path);
    for (const r of doc.revisions) this.listed.set(r.file, { size: r.size, sha3_384: r.sha3_384 });
    for (const a of doc.assertions) this.listed.set(a.file, { size: a.size, sha3_384: a.sha3_384 });
    for (const c of doc.components ?? []) this.listed.set(c.file, { size: c.size, sha3_384: c.sha3_384 });
    this.doc = doc;
    return doc;
  }

  private onEntry(entry: ReadEntry): void {
    if (this.problem !== undefined) {
      entry.resume();
      return;
    }
    try {
      const kind = this.checkEntry(entry);
      if (kind === "dir") {
        entry.resume();
        return;
      }
      if (this.first) {
        this.first = false;
        this.keepJson(entry, kind);
        return;
      }
      const where = `entry ${JSON.stringify(entry.path)}`;
      if (kind === "json") throw this.fail(`${where}: duplicate entry`);
      if (kind === "signature") this.keepSignature(entry);
      else this.writeListed(entry, kind);
    } catch (err) {
      entry.resume();
      this.abort(err instanceof SnapshelfError ? err : this.fail(String(err)));
    }
  }

  /** What any entry must be: safe path, seen once, a directory or a regular file. */
  private checkEntry(entry: ReadEntry): ReturnType<typeof entryKind> {
    this.entries++;
    if (this.entries > 2 * MAX_LISTED + 3) throw this.fail("too many entries");
    const p = entry.path;
    const where = `entry ${JSON.stringify(p)}`;
    const bad = pathProblem(p);
    if (bad !== undefined) throw this.fail(`${where}: ${bad}`);
    if (this.seen.has(p.replace(/\/$/, ""))) throw this.fail(`${where}: duplicate entry`);
    this.seen.add(p.replace(/\/$/, ""));
    const kind = entryKind(p);
    if (kind === "dir") {
      if (entry.type !== "Directory") throw this.fail(`${where}: ${typeProblem(entry.type)}`);
      return kind;
    }
    if (!FILE_TYPES.has(entry.type)) throw this.fail(`${where}: ${typeProblem(entry.type)}`);
    return kind;
  }

  /** The first entry: bundle.json, kept in memory (bounded). */
  private keepJson(entry: ReadEntry, kind: ReturnType<typeof entryKind>): void {
    const where = `entry ${JSON.stringify(entry.path)}`;
    const limit = this.limits.json;
    if (kind !== "json") throw this.fail(`the first entry must be ${BUNDLE_JSON}, not ${JSON.stringify(entry.path)}`);
    if (entry.size > limit) throw this.fail(`${where}: larger than ${limit} bytes`);
    const chunks: Buffer[] = [];
    this.jsonChunks = chunks;
    entry.on("data", (c: Buffer) => {
      this.jsonBytes += c.length;
      if (this.jsonBytes > limit) this.abort(this.fail(`${where}: larger than ${limit} bytes`));
      else chunks.push(c);
    });
  }

  /** The operator's signature over bundle.json: right after it, version 2 and later. */
  private keepSignature(entry: ReadEntry): void {
    const where = `entry ${JSON.stringify(entry.path)}`;
    if (this.entries !== 2 || this.sigChunks !== undefined) throw this.fail(`${where}: must be the second entry`);
    if ((this.ensureDoc().version ?? 1) < 2) throw this.fail(`${where}: not allowed in a version 1 bundle`);
    if (entry.size > MAX_SIGNATURE_SIZE) throw this.fail(`${where}: larger than ${MAX_SIGNATURE_SIZE} bytes`);
    const chunks: Buffer[] = [];
    this.sigChunks = chunks;
    entry.on("data", (c: Buffer) => chunks.push(c));
  }

  /** A blob or assertion bundle.json lists (with this size): streamed into staging, hashed on the way. */
  private writeListed(entry: ReadEntry, kind: ReturnType<typeof entryKind>): void {
    const p = entry.path;
    const where = `entry ${JSON.stringify(p)}`;
    this.ensureDoc();
    const want = this.listed.get(p);
    if (want === undefined) throw this.fail(`${where}: not listed in ${BUNDLE_JSON}`);
    const limit = kind === "blob" ? this.limits.blob : this.limits.assertion;
    if (entry.size > limit) throw this.fail(`${where}: ${entry.size} bytes, more than the limit of ${limit}`);
    if (entry.size !== want.size) {
      throw this.fail(`${where}: ${entry.size} bytes, but ${BUNDLE_JSON} says ${want.size}`);
    }
    const file = join(this.stagingDir, ...p.split("/"));
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
        stream.on("error", (err) => reject(this.fail(`cannot write ${file}: ${fsErrorReason(err)}`)));
      }),
    };
    sink.done.catch((err: unknown) => {
      if (err instanceof SnapshelfError) this.abort(err);
    });
    this.sinks.push(sink);
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
  }

  /** Feeds the archive's segments to the parser and waits for every entry to be written. */
  async unpack(segments: readonly Segment[], onProgress: ((bytesRead: number) => void) | undefined): Promise<void> {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      const buf = Buffer.alloc(READ_CHUNK);
      let archiveBytes = 0;
      let segment = -1;
      let segHash: Hash | undefined;
      let segBytes = 0;
      for (;;) {
        if (this.problem !== undefined) break;
        if (fh === undefined) {
          segment++;
          const seg = segments[segment];
          if (seg === undefined) break;
          try {
            fh = await open(seg.file, "r");
          } catch (err) {
            throw this.fail(`${seg.file}: ${fsErrorReason(err)}`);
          }
          segHash = seg.sha3_384 === undefined ? undefined : createHash("sha3-384");
          segBytes = 0;
        }
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) {
          await fh.close();
          fh = undefined;
          this.checkSegment(segments[segment]!, segBytes, segHash);
          continue;
        }
        segBytes += bytesRead;
        segHash?.update(buf.subarray(0, bytesRead));
        archiveBytes += bytesRead;
        onProgress?.(archiveBytes);
        // the parser copies what it keeps, so the buffer can be reused
        await this.write(Buffer.from(buf.subarray(0, bytesRead)));
      }
      await this.finish();
    } catch (err) {
      for (const s of this.sinks) s.stream.destroy();
      await Promise.allSettled(this.sinks.map((s) => s.done));
      throw err;
    } finally {
      await fh?.close();
    }
  }

  /** A part of a split bundle, as its parts file describes it. */
  private checkSegment(seg: Segment, segBytes: number, segHash: Hash | undefined): void {
    if (seg.size !== undefined && segBytes !== seg.size)
      throw this.fail(`part ${basename(seg.file)}: ${segBytes} bytes, but the parts file says ${seg.size}`);
    const got = segHash?.digest("hex");
    if (got !== undefined && got !== seg.sha3_384) {
      throw new SnapshelfError(
        "bundle-digest-mismatch",
        `cannot read bundle ${this.path}: part ${basename(seg.file)} has sha3-384 ${got}, but the parts file says ${seg.sha3_384}`,
      );
    }
  }

  /** Writes a chunk to the parser, waiting for it to drain (or fail). */
  private async write(chunk: Buffer): Promise<void> {
    const more = this.parser.write(chunk);
    if (!more && this.problem === undefined) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.parser.off("drain", done);
          this.parser.off("error", done);
          resolve();
        };
        this.parser.once("drain", done);
        this.parser.once("error", done);
      });
    }
  }

  /** Ends the parser and waits for the archive's end and every entry's file; the first problem is thrown. */
  private async finish(): Promise<void> {
    if (this.problem === undefined) this.parser.end();
    try {
      await this.parsed;
    } catch (err) {
      if (this.problem !== undefined) throw this.problem;
      throw this.fail(tarReason(err));
    }
    if (this.problem !== undefined) throw this.problem;
    await Promise.all(this.sinks.map((s) => s.done));
    if (this.problem !== undefined) throw this.problem;
  }

  /** What was written, checked against bundle.json (all of it, nothing else), as the importer consumes it. */
  contents(): BundleContents {
    const d = this.ensureDoc();
    // what was written, as hashed while writing it: the importer uses these instead of reading again
    const staged = new Map<string, StagedDigest>();
    for (const s of this.sinks) {
      const want = this.listed.get(s.file);
      const got = s.hash.digest("hex");
      staged.set(join(this.stagingDir, ...s.file.split("/")), { sha3_384: got, size: s.bytes });
      if (want === undefined) throw this.fail(`entry ${JSON.stringify(s.file)}: not listed in ${BUNDLE_JSON}`);
      if (s.bytes !== want.size)
        throw this.fail(`entry ${JSON.stringify(s.file)}: truncated (${s.bytes} of ${want.size} bytes)`);
      if (got !== want.sha3_384) {
        throw new SnapshelfError(
          "bundle-digest-mismatch",
          `cannot read bundle ${this.path}: entry ${JSON.stringify(s.file)} has sha3-384 ${got}, but ${BUNDLE_JSON} says ${want.sha3_384}`,
        );
      }
    }
    const present = new Set(this.sinks.map((s) => s.file));
    for (const f of this.listed.keys()) {
      if (!present.has(f))
        throw this.fail(`${BUNDLE_JSON} lists ${JSON.stringify(f)}, which the archive lacks (truncated?)`);
    }
    const json = this.jsonChunks === undefined ? "" : Buffer.concat(this.jsonChunks).toString("utf8");
    const signature = this.sigChunks === undefined ? undefined : Buffer.concat(this.sigChunks).toString("utf8");
    return {
      ...toContents(d, this.stagingDir),
      staged,
      bundle: { source: this.path, json, ...(signature === undefined ? {} : { signature }) },
    };
  }
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
  const componentFiles = (doc.components ?? []).map((c) => join(stagingDir, ...c.file.split("/")));
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
    ...(componentFiles.length === 0 ? {} : { componentFiles }),
    assertionFiles,
    releases,
    meta: { [name]: meta },
    ...(revisionFacts.length === 0 ? {} : { revisionFacts }),
  };
}
