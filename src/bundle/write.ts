/**
 * Writing a bundle: bundle.json first, then the assertions, then the blobs,
 * as one tar written under a temporary name next to the target and renamed
 * into place (a reader never sees half a bundle). Entries are regular files
 * with fixed metadata (mode 0644, no owner, one mtime), so the same inputs
 * give the same bytes.
 */
import { link, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create } from "tar";
import { copyFilePortable } from "../util/copy.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError, tempPathFor } from "../util/fs.js";
import { BUNDLE_JSON, type BundleDoc, renderBundleDoc } from "./format.js";
import { DEFAULT_MAX_FILE_SIZE, writeSplit } from "./parts.js";
import { SIGNATURE_ENTRY } from "./signature.js";

export interface BundleSources {
  /** Entry name (`blobs/...`, snaps and components) -> path of the verified blob on disk. */
  readonly blobs: ReadonlyMap<string, string>;
  /** Entry name (`assertions/...`) -> the assertion's exact bytes. */
  readonly assertions: ReadonlyMap<string, Buffer>;
}

export interface WrittenBundle {
  /** The bundle, or its parts file when it was split. */
  readonly path: string;
  readonly size: number;
  readonly entries: readonly string[];
  /** Every file written (one, or the parts and the parts file). */
  readonly files: readonly string[];
}

export interface WriteBundleOptions {
  /** Signs bundle.json's bytes: the text of `bundle.json.minisig` (the second entry). */
  readonly sign?: (bundleJson: Buffer) => string;
  /** No file larger than this: longer bundles are split in parts (src/bundle/parts.ts). */
  readonly maxFileSize?: number;
}

/** The mtime of every entry: the newest release in the channel map (deterministic), else the epoch. */
function bundleMtime(doc: BundleDoc): Date {
  let newest = 0;
  for (const c of doc.channelMap) {
    const t = Date.parse(c.releasedAt);
    if (Number.isFinite(t) && t > newest) newest = t;
  }
  return new Date(Math.floor(newest / 1000) * 1000);
}

/** Hard link if possible (no copy of multi-GiB blobs), else copy. */
async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch (err) {
    if (isErrnoError(err) && (err.code === "EXDEV" || err.code === "EPERM" || err.code === "ENOTSUP")) {
      await copyFilePortable(src, dst);
      return;
    }
    throw err;
  }
}

/**
 * Writes `doc` and its entries to `target` (`<dir>/<name>.snapshelf.tar`).
 * Every file bundle.json lists must be in `sources` and nothing else may be.
 * `stagingRoot` is a scratch directory on the same filesystem as the blobs.
 */
export async function writeBundle(
  target: string,
  doc: BundleDoc,
  sources: BundleSources,
  stagingRoot: string,
  opts: WriteBundleOptions = {},
): Promise<WrittenBundle> {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("bundle-write-failed", `cannot write bundle ${target}: ${reason}`);
  const blobFiles = [...doc.revisions.map((r) => r.file), ...(doc.components ?? []).map((c) => c.file)];
  const assertionFiles = doc.assertions.map((a) => a.file);
  for (const f of blobFiles) if (!sources.blobs.has(f)) throw fail(`no source for ${f}`);
  for (const f of assertionFiles) if (!sources.assertions.has(f)) throw fail(`no source for ${f}`);
  if (sources.blobs.size !== blobFiles.length || sources.assertions.size !== assertionFiles.length) {
    throw fail("sources do not match bundle.json");
  }

  const staging = tempPathFor(join(stagingRoot, "bundle"));
  const tmp = tempPathFor(target);
  const entries = [
    BUNDLE_JSON,
    ...(opts.sign === undefined ? [] : [SIGNATURE_ENTRY]),
    ...[...assertionFiles].sort(),
    ...[...blobFiles].sort(),
  ];
  try {
    await mkdir(join(staging, "blobs"), { recursive: true });
    await mkdir(join(staging, "assertions"), { recursive: true });
    const json = Buffer.from(renderBundleDoc(doc));
    await writeFile(join(staging, BUNDLE_JSON), json);
    if (opts.sign !== undefined) await writeFile(join(staging, SIGNATURE_ENTRY), opts.sign(json));
    for (const f of assertionFiles) await writeFile(join(staging, ...f.split("/")), sources.assertions.get(f)!);
    for (const f of blobFiles) await linkOrCopy(sources.blobs.get(f)!, join(staging, ...f.split("/")));
    const pack = create(
      { cwd: staging, portable: true, mtime: bundleMtime(doc), noDirRecurse: true, strict: true },
      entries,
    );
    const w = await writeSplit(pack, target, tmp, opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE);
    return { path: w.files[w.files.length - 1] ?? target, size: w.size, entries, files: w.files };
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    throw fail(fsErrorReason(err));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
