/**
 * Writing a bundle: bundle.json first, then the assertions, then the blobs,
 * as one tar written under a temporary name next to the target and renamed
 * into place (a reader never sees half a bundle). Entries are regular files
 * with fixed metadata (mode 0644, no owner, one mtime), so the same inputs
 * give the same bytes.
 */
import { copyFile, link, mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { create } from "tar";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, fsyncDir, isErrnoError, tempPathFor, unlinkQuiet } from "../util/fs.js";
import { BUNDLE_JSON, type BundleDoc, renderBundleDoc } from "./format.js";

export interface BundleSources {
  /** Entry name (`blobs/...`) -> path of the verified blob on disk. */
  readonly blobs: ReadonlyMap<string, string>;
  /** Entry name (`assertions/...`) -> the assertion's exact bytes. */
  readonly assertions: ReadonlyMap<string, Buffer>;
}

export interface WrittenBundle {
  readonly path: string;
  readonly size: number;
  readonly entries: readonly string[];
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
      await copyFile(src, dst);
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
): Promise<WrittenBundle> {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("bundle-write-failed", `cannot write bundle ${target}: ${reason}`);
  const blobFiles = doc.revisions.map((r) => r.file);
  const assertionFiles = doc.assertions.map((a) => a.file);
  for (const f of blobFiles) if (!sources.blobs.has(f)) throw fail(`no source for ${f}`);
  for (const f of assertionFiles) if (!sources.assertions.has(f)) throw fail(`no source for ${f}`);
  if (sources.blobs.size !== blobFiles.length || sources.assertions.size !== assertionFiles.length) {
    throw fail("sources do not match bundle.json");
  }

  const staging = tempPathFor(join(stagingRoot, "bundle"));
  const tmp = tempPathFor(target);
  const entries = [BUNDLE_JSON, ...[...assertionFiles].sort(), ...[...blobFiles].sort()];
  try {
    await mkdir(join(staging, "blobs"), { recursive: true });
    await mkdir(join(staging, "assertions"), { recursive: true });
    await writeFile(join(staging, BUNDLE_JSON), renderBundleDoc(doc));
    for (const f of assertionFiles) await writeFile(join(staging, ...f.split("/")), sources.assertions.get(f)!);
    for (const f of blobFiles) await linkOrCopy(sources.blobs.get(f)!, join(staging, ...f.split("/")));
    await create(
      { file: tmp, cwd: staging, portable: true, mtime: bundleMtime(doc), noDirRecurse: true, strict: true },
      entries,
    );
    const fh = await open(tmp, "r+");
    let size: number;
    try {
      await fh.sync();
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    await fsyncDir(dirname(target));
    return { path: target, size, entries };
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    if (err instanceof SnapshelfError) throw err;
    throw fail(fsErrorReason(err));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
