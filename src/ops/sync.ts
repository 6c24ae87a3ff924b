/**
 * Replicas (`snapshelf sync`): copies of a store's served state that other
 * servers serve, kept so that no device can see them disagree.
 *
 * A replica is a store directory holding what serving needs and nothing else:
 * `snapshelf.json` (marked `replicaOf`, so every changing verb refuses it),
 * `blobs/`, `trees/.shared/`, the generation in service under `trees/`, and
 * `current`. `serve` and the nginx configuration read it like any store.
 *
 * A sync runs in phases across ALL replicas, holding the source's store lock
 * (so no build or gc changes what is being copied):
 *   1. objects: on every replica, the blobs the source's generation names, the
 *      shared assertion files, and the generation's tree (copied to a staging
 *      name, renamed when complete; files unchanged since the replica's
 *      generation are hard-linked, copied where links are impossible);
 *   2. switch: only when phase 1 finished everywhere, `current` is written on
 *      every replica (temp + rename), so a device that got an answer naming a
 *      blob from one replica finds it on every other;
 *   3. prune: what the source no longer has, except the generation each
 *      replica served before and the blobs it names (devices may still act on
 *      an answer from it).
 * Interrupted anywhere, every replica still serves a complete generation; a
 * second run completes the work (everything is idempotent).
 */

import { copyFile, link, mkdir, readdir, readFile, realpath, rename, rm, stat, utimes } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { blobPath, importBlob } from "../blobs/store.js";
import { revisionBlobs } from "../catalogue/resources.js";
import { type ChangeOptions, change } from "../store/change.js";
import { type StoreLayout, treePath } from "../store/layout.js";
import {
  generationNumbers,
  readCurrentGeneration,
  readSettings,
  type StoreSettings,
  writeSettings,
} from "../store/state.js";
import { readTreeCatalogue, sharedTreePath } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";
import { faultPoint } from "../util/fault.js";
import { fsErrorReason, isErrnoError, pathExists, writeFileAtomic } from "../util/fs.js";

export interface SyncOptions extends ChangeOptions {
  /** Remove from replicas what the source no longer has (default true). */
  readonly prune?: boolean;
  readonly log?: (line: string) => void;
}

export interface ReplicaReport {
  readonly dir: string;
  /** Blobs copied (each hashed while copied) and their bytes. */
  readonly blobs: number;
  readonly blobBytes: number;
  /** Shared assertion files copied (new or changed). */
  readonly shared: number;
  /** Files of the generation's tree copied, and hard-linked from the replica's previous generation. */
  readonly treeCopied: number;
  readonly treeLinked: number;
  /** The generation the replica served before this sync (undefined: none). */
  readonly previous: number | undefined;
  /** Generations, blobs and shared files removed by the prune phase. */
  readonly pruned: number;
}

export interface SyncReport {
  readonly source: string;
  readonly generation: number;
  readonly replicas: readonly ReplicaReport[];
}

interface Counts {
  blobs: number;
  blobBytes: number;
  shared: number;
  treeCopied: number;
  treeLinked: number;
  pruned: number;
}

/** Link errors after which a file is copied instead (FAT32/exFAT, another filesystem, too many links). */
const NO_LINK = new Set(["EPERM", "EXDEV", "ENOTSUP", "EOPNOTSUPP", "EMLINK", "ENOSYS"]);

function refuse(what: string, reason: string): SnapshelfError {
  return new SnapshelfError("sync-refused", `cannot sync ${what}: ${reason}`);
}

/** The hex digests of every blob a generation's catalogue names. */
function blobsOf(tree: string, what: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const snap of readTreeCatalogue(tree, what).snaps) {
    for (const rev of snap.revisions) for (const b of revisionBlobs(rev)) out.set(b.sha3_384, b.size);
  }
  return out;
}

/** Regular files below `dir` as paths relative to it (sorted); a symbolic link is refused. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (isErrnoError(err) && err.code === "ENOENT") return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
      else throw new SnapshelfError("store-corrupt", `cannot sync ${p}: not a regular file`);
    }
  };
  await walk(dir);
  return out.sort();
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return false;
    throw err;
  }
}

/**
 * True when `to` holds the bytes of `from`: same size and modification time (to the
 * millisecond, as the copy set it), else compared byte for byte (filesystems such as
 * FAT32 keep times in 2-second steps).
 */
async function sameContent(from: string, to: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(from), stat(to).catch(() => undefined)]);
  if (!b?.isFile() || b.size !== a.size) return false;
  if (Math.trunc(b.mtimeMs) === Math.trunc(a.mtimeMs)) return true;
  const [x, y] = await Promise.all([readFile(from), readFile(to)]);
  return x.equals(y);
}

/** Copies `from` to `to` atomically (temp + rename), keeping the modification time (the next sync compares it). */
async function copyAtomic(from: string, to: string): Promise<void> {
  const tmp = `${to}.sync-${process.pid}`;
  await copyFile(from, tmp);
  const s = await stat(from);
  await utimes(tmp, s.atime, s.mtime);
  await rename(tmp, to);
}

/**
 * Phase 0: `dst` may become (or already is) a replica of `source`: an empty
 * or missing directory, or a replica of this very source. Never a store with
 * records of its own, never another source's replica.
 */
async function claim(dst: StoreLayout, source: string, settings: StoreSettings): Promise<void> {
  const what = `to ${dst.root}`;
  if (await pathExists(dst.settings)) {
    const theirs = await readSettings(dst);
    if (theirs.replicaOf === undefined) throw refuse(what, "it is a store of its own, not a replica");
    if (theirs.replicaOf !== source) throw refuse(what, `it is a replica of ${theirs.replicaOf}, not of ${source}`);
  } else if (await pathExists(dst.root)) {
    const entries = await readdir(dst.root);
    if (entries.length > 0) throw refuse(what, "the directory is not empty and is not a replica");
  }
  const { keepRevisions: _k, retainOnImport: _r, keepGenerations: _g, ...serving } = settings;
  await mkdir(dst.root, { recursive: true });
  await writeSettings(dst, { ...serving, replicaOf: source });
}

/** Phase 1 for one replica: every object the generation names, and its tree, complete under its final name. */
async function copyObjects(
  src: StoreLayout,
  dst: StoreLayout,
  generation: number,
  blobs: ReadonlyMap<string, number>,
  c: Counts,
): Promise<void> {
  await mkdir(dst.blobs, { recursive: true });
  for (const [hex, size] of blobs) {
    const have = await stat(blobPath(dst.blobs, hex)).catch(() => undefined);
    if (have?.isFile() && have.size === size) continue;
    // hashed while copied: a bad medium or a changed source is caught here, not by a device
    await importBlob(dst.blobs, blobPath(src.blobs, hex), { sha3_384: hex, size }, { sourceName: `${src.root}` });
    c.blobs++;
    c.blobBytes += size;
  }
  const srcShared = sharedTreePath(src);
  const dstShared = sharedTreePath(dst);
  for (const rel of await filesBelow(srcShared)) {
    const from = join(srcShared, rel);
    const to = join(dstShared, rel);
    if (await sameContent(from, to)) continue;
    await mkdir(join(to, ".."), { recursive: true });
    await copyAtomic(from, to);
    c.shared++;
  }
  const final = treePath(dst, generation);
  if (await pathExists(final)) return; // renamed only when complete
  const from = treePath(src, generation);
  const staging = join(dst.trees, `.sync-${generation}`);
  await rm(staging, { recursive: true, force: true });
  const previous = readCurrentGeneration(dst);
  const prevSrc = previous === undefined ? undefined : treePath(src, previous);
  const prevDst = previous === undefined ? undefined : treePath(dst, previous);
  for (const rel of await filesBelow(from)) {
    const to = join(staging, rel);
    await mkdir(join(to, ".."), { recursive: true });
    // unchanged since the replica's generation (the build hard-linked it in the source): link it here too
    if (prevSrc !== undefined && prevDst !== undefined && (await sameFile(join(from, rel), join(prevSrc, rel)))) {
      try {
        await link(join(prevDst, rel), to);
        c.treeLinked++;
        continue;
      } catch (err) {
        if (!(isErrnoError(err) && (NO_LINK.has(err.code ?? "") || err.code === "ENOENT"))) throw err;
      }
    }
    await copyFile(join(from, rel), to);
    c.treeCopied++;
  }
  await mkdir(staging, { recursive: true });
  await rename(staging, final);
}

/** Phase 3 for one replica: what the source no longer has, keeping `keep` generations and their blobs. */
async function prune(src: StoreLayout, dst: StoreLayout, keep: ReadonlySet<number>, c: Counts): Promise<void> {
  const srcGens = new Set(await generationNumbers(src));
  const kept = new Set<string>();
  for (const g of keep)
    for (const hex of blobsOf(treePath(dst, g), `generation ${g} of ${dst.root}`).keys()) kept.add(hex);
  for (const g of await generationNumbers(dst)) {
    if (srcGens.has(g) || keep.has(g)) continue;
    await rm(treePath(dst, g), { recursive: true, force: true });
    c.pruned++;
  }
  for (const name of await readdir(dst.blobs)) {
    const hex = name.endsWith(".snap") ? name.slice(0, -".snap".length) : "";
    if (kept.has(hex) || (await pathExists(join(src.blobs, name)))) continue;
    await rm(join(dst.blobs, name), { force: true });
    c.pruned++;
  }
  const dstShared = sharedTreePath(dst);
  const srcShared = sharedTreePath(src);
  for (const rel of await filesBelow(dstShared)) {
    if (await pathExists(join(srcShared, rel))) continue;
    await rm(join(dstShared, rel), { force: true });
    c.pruned++;
  }
}

async function distinct(src: StoreLayout, dsts: readonly StoreLayout[]): Promise<string> {
  const source = await realpath(src.root).catch((err: unknown) => {
    throw new SnapshelfError("sync-refused", `cannot sync from ${src.root}: ${fsErrorReason(err)}`);
  });
  const seen = new Set<string>();
  for (const d of dsts) {
    const full = await realpath(d.root).catch(() => d.root);
    const inside = (a: string, b: string) => a === b || a.startsWith(b + sep);
    if (inside(full, source) || inside(source, full)) {
      throw refuse(`to ${d.root}`, `a replica cannot be the source ${source} or lie inside it (or hold it)`);
    }
    if (seen.has(full)) throw refuse(`to ${d.root}`, "named twice");
    seen.add(full);
  }
  return source;
}

/** Makes or updates replicas of `src` (see the module comment for the phases). */
export async function syncReplicas(
  src: StoreLayout,
  dsts: readonly StoreLayout[],
  opts: SyncOptions = {},
): Promise<SyncReport> {
  if (dsts.length === 0) throw refuse("", "no replica named (--to DIR)");
  const source = await distinct(src, dsts);
  const log = opts.log ?? (() => {});
  return change(src, "sync", { ...opts, allowReplica: true }, async () => {
    const generation = readCurrentGeneration(src);
    if (generation === undefined) {
      throw new SnapshelfError(
        "sync-refused",
        `cannot sync from ${src.root}: no generation in service (run snapshelf build first)`,
      );
    }
    const blobs = blobsOf(treePath(src, generation), `generation ${generation} of ${src.root}`);
    const settings = await readSettings(src);
    const counts = dsts.map(() => ({ blobs: 0, blobBytes: 0, shared: 0, treeCopied: 0, treeLinked: 0, pruned: 0 }));
    const previous = dsts.map((d) => readCurrentGeneration(d));
    for (const d of dsts) await claim(d, source, settings);
    // 1. every object on every replica ...
    for (const [i, d] of dsts.entries()) {
      const c = counts[i] as Counts;
      try {
        await copyObjects(src, d, generation, blobs, c);
      } catch (err) {
        if (err instanceof SnapshelfError) throw err;
        throw refuse(`to ${d.root}`, fsErrorReason(err));
      }
      log(
        `replica ${d.root}: ${c.blobs} blob${c.blobs === 1 ? "" : "s"} (${c.blobBytes} bytes), ` +
          `${c.shared} shared file${c.shared === 1 ? "" : "s"}, generation ${generation}: ` +
          `${c.treeCopied} file${c.treeCopied === 1 ? "" : "s"} copied, ${c.treeLinked} linked`,
      );
      faultPoint("sync-objects");
    }
    // 2. ... before any replica switches
    for (const d of dsts) {
      await writeFileAtomic(d.current, `${generation}\n`);
      faultPoint("sync-switch");
    }
    log(`${dsts.length} replica${dsts.length === 1 ? "" : "s"} switched to generation ${generation}`);
    // 3. prune what the source dropped, never what a device may still act on
    if (opts.prune !== false) {
      for (const [i, d] of dsts.entries()) {
        const keep = new Set<number>([generation]);
        const prev = previous[i];
        if (prev !== undefined && (await pathExists(treePath(d, prev)))) keep.add(prev);
        await prune(src, d, keep, counts[i] as Counts);
      }
    }
    const replicas = dsts.map((d, i) => ({ dir: d.root, previous: previous[i], ...(counts[i] as Counts) }));
    return {
      result: { source, generation, replicas },
      audit: {
        op: "sync",
        detail: { generation, replicas: replicas.map((r) => ({ dir: r.dir, blobs: r.blobs, previous: r.previous })) },
      },
    };
  });
}
