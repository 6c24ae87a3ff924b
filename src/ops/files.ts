/**
 * Reading the store directory for operations: walking trees, sizes, the
 * generations present, and what a generation's catalogue references.
 */

import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { indexCatalogue } from "../catalogue/build-catalogue.js";
import { revisionBlobs } from "../catalogue/resources.js";
import type { AssertionEntry, Catalogue } from "../catalogue/types.js";
import { STATIC_ROUTES } from "../routes/table.js";
import { type StoreLayout, treePath } from "../store/layout.js";
import { isSharedPath, readTreeCatalogue, readTreeMeta, type TreeMeta } from "../store/tree-files.js";
import { isErrnoError } from "../util/fs.js";

export interface FileEntry {
  /** Relative to the walked directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrnoError(err) && (err.code === "ENOENT" || err.code === "ENOTDIR")) return [];
    throw err;
  }
}

/** Every regular file under `dir` (symlinks are listed, never followed), sorted by path. */
export async function walkFiles(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdirOrEmpty(abs)).sort()) {
      const full = join(abs, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(full);
      if (st.isDirectory()) await walk(full, r);
      else out.push({ path: r, size: st.size });
    }
  };
  await walk(dir, "");
  return out;
}

/** Apparent size in bytes of everything under `path` (0 if absent). */
export async function diskUse(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return 0;
    throw err;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdirOrEmpty(path)) total += await diskUse(join(path, name));
  return total;
}

export interface GenerationTree {
  readonly generation: number;
  readonly dir: string;
  readonly meta: TreeMeta;
  readonly catalogue: Catalogue;
}

/** Reads a generation's metadata and catalogue; throws `tree-corrupt` naming the file. */
export async function readGeneration(layout: StoreLayout, generation: number): Promise<GenerationTree> {
  const dir = treePath(layout, generation);
  const what = `read generation ${generation}`;
  return { generation, dir, meta: readTreeMeta(dir, what), catalogue: readTreeCatalogue(dir, what) };
}

/** What a catalogue makes devices fetch: blobs (hex sha3-384) and assertion objects. */
export interface CatalogueRefs {
  readonly blobs: ReadonlySet<string>;
  readonly objects: ReadonlySet<string>;
  /** Its files in the shared directory (trees/.shared), relative paths. */
  readonly shared?: ReadonlySet<string>;
}

export function catalogueRefs(catalogue: Catalogue): CatalogueRefs {
  const blobs = new Set<string>();
  for (const s of catalogue.snaps) for (const r of s.revisions) for (const b of revisionBlobs(r)) blobs.add(b.sha3_384);
  return {
    blobs,
    objects: new Set(catalogue.assertions.map((a) => a.object)),
    shared: sharedPathsOf(catalogue.assertions),
  };
}

/** The shared-directory files that assertions render to (the same routes a build renders them with). */
export function sharedPathsOf(assertions: readonly AssertionEntry[]): Set<string> {
  const out = new Set<string>();
  const index = indexCatalogue({ snaps: [], assertions, arches: [] });
  for (const route of STATIC_ROUTES) {
    if (route.split.kind !== "per-snap") continue;
    for (const f of route.files(index, { baseUrl: "" })) if (isSharedPath(f.path)) out.add(f.path);
  }
  return out;
}
