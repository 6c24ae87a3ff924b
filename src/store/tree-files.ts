/**
 * What a generation's tree holds besides the rendered responses, and where
 * its files are: the catalogue it was rendered from (one file per snap plus
 * one for the rest, so a build rewrites only what changed), the build
 * manifest (what each snap contributed, for the next build to reuse), and the
 * directory of per-revision files shared by every generation.
 *
 * Shared files: a store of 20,000 revisions has 20,000 snap-revision
 * assertion files (and a snap-declaration per snap). Written into every
 * generation they made a build cost the whole catalogue; instead they live once in `trees/.shared/` at the same
 * relative path, and a lookup that misses in the generation's own tree falls
 * back there (the shim here, nginx through a named location). Like blobs/,
 * the directory only grows by complete files (link, or link + rename when a
 * newer revision of an assertion replaces one) and gc removes what no
 * retained generation or record names.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AssertionEntry, Catalogue, SnapEntry } from "../catalogue/types.js";
import { compareAssertionRecords } from "../model/records.js";
import { SnapshelfError } from "../util/errors.js";
import { errnoCode, fsErrorReason } from "../util/fs.js";
import type { StoreLayout } from "./layout.js";

/** Tree metadata (a dotfile: never served). */
export const TREE_META = ".snapshelf-tree.json";
/** The catalogue the tree was rendered from: `global.json` and `snaps/<name>.json`. */
export const TREE_CATALOGUE = ".catalogue";
/** Before per-snap catalogue files: one file (still read, never written). */
const TREE_CATALOGUE_V1 = ".catalogue.json";
/** What each snap contributed to the tree (read by the next build). */
export const TREE_MANIFEST = ".snapshelf-build.json";
/**
 * The pieces of the joined files, every snap's one after the other (raw text; the manifest has
 * the offsets), read by the next build. Kept apart from the manifest: the catalogue page's pieces
 * are 4 KB a snap, and as JSON strings they made reading and writing the manifest most of the cost
 * of a small build.
 */
export const TREE_PIECES = ".snapshelf-pieces";
/**
 * The tree layout's version. 2: info files flat (`v2/snaps/info/<name>.<arch>.json`), per-revision
 * assertions in the shared directory, the catalogue in `.catalogue/`. A generation of an older
 * format still serves (its info answers rendered in memory at load) and rolls back; the next build
 * writes the current one.
 */
export const TREE_FORMAT = 2;

export interface TreeMeta {
  readonly format: number;
  readonly baseUrl: string;
}

/** Files of a tree that are not responses (never served, not rendered by routes). */
export function isTreeBookkeeping(path: string): boolean {
  return (
    path === TREE_META ||
    path === TREE_MANIFEST ||
    path === TREE_PIECES ||
    path === TREE_CATALOGUE_V1 ||
    path.startsWith(`${TREE_CATALOGUE}/`)
  );
}

/**
 * Tree paths kept in the shared directory instead of each generation: the assertions there are one
 * or more per snap or revision, and the store (like Canonical's) serves the newest revision of an
 * assertion whatever else changed.
 */
export const SHARED_PREFIXES: readonly string[] = ["v2/assertions/snap-revision/", "v2/assertions/snap-declaration/"];

export function isSharedPath(path: string): boolean {
  return SHARED_PREFIXES.some((p) => path.startsWith(p));
}

/** The directory of files shared by all generations (same relative paths as a tree). */
export function sharedTreePath(layout: StoreLayout): string {
  return join(layout.trees, ".shared");
}

/** Where a tree path of a generation is on disk: its own tree, else (shared paths) the shared directory. */
export function treeFileLocation(layout: StoreLayout, treeDir: string, path: string): string | undefined {
  const own = join(treeDir, path);
  if (isFile(own)) return own;
  if (!isSharedPath(path)) return undefined;
  const shared = join(sharedTreePath(layout), path);
  return isFile(shared) ? shared : undefined;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
}

/** One snap's file of the tree catalogue. */
export interface SnapFragment {
  /** Absent for names with records but nothing to serve (no revision). */
  readonly snap?: SnapEntry;
  /** The snap's own assertions (declarations, snap-revisions). */
  readonly assertions: readonly AssertionEntry[];
}

export interface GlobalFragment {
  readonly assertions: readonly AssertionEntry[];
  readonly arches: readonly string[];
}

export function snapFragmentPath(name: string): string {
  return `${TREE_CATALOGUE}/snaps/${name}.json`;
}

export const GLOBAL_FRAGMENT_PATH = `${TREE_CATALOGUE}/global.json`;

/** The catalogue from its fragments: exactly the catalogue of the whole records. Pure. */
export function joinFragments(global: GlobalFragment, snaps: readonly SnapFragment[]): Catalogue {
  const entries: SnapEntry[] = [];
  for (const f of snaps) if (f.snap) entries.push(f.snap);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const assertions = [...global.assertions, ...snaps.flatMap((f) => f.assertions)].sort(compareAssertionRecords);
  return { snaps: entries, assertions, arches: global.arches };
}

function isCatalogue(v: unknown): v is Catalogue {
  const c = v as Catalogue;
  return typeof c === "object" && c !== null && Array.isArray(c.snaps) && Array.isArray(c.assertions);
}

/** Reads the catalogue a tree was rendered from; throws `tree-corrupt` naming the file. */
export function readTreeCatalogue(dir: string, what: string): Catalogue {
  let current = "";
  const read = (rel: string): unknown => {
    current = join(dir, rel);
    return JSON.parse(readFileSync(current, "utf8"));
  };
  try {
    let names: string[];
    try {
      names = readdirSync(join(dir, TREE_CATALOGUE, "snaps")).sort();
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      // a build of no snaps writes no snaps/ directory: the global file alone is a catalogue of none
      names = [];
    }
    if (names.length === 0 && !isFile(join(dir, GLOBAL_FRAGMENT_PATH)) && isFile(join(dir, TREE_CATALOGUE_V1))) {
      const whole = read(TREE_CATALOGUE_V1);
      if (!isCatalogue(whole)) throw new Error("not a catalogue");
      return whole;
    }
    const global = read(GLOBAL_FRAGMENT_PATH) as GlobalFragment;
    if (!Array.isArray(global?.assertions) || !Array.isArray(global.arches)) throw new Error("not a catalogue");
    const snaps: SnapFragment[] = [];
    for (const n of names) {
      if (!n.endsWith(".json")) continue;
      const f = read(`${TREE_CATALOGUE}/snaps/${n}`) as SnapFragment;
      if (!Array.isArray(f?.assertions)) throw new Error("not a catalogue fragment");
      snaps.push(f);
    }
    return joinFragments(global, snaps);
  } catch (err) {
    const reason = err instanceof SyntaxError || !errnoCode(err) ? (err as Error).message : fsErrorReason(err);
    throw new SnapshelfError("tree-corrupt", `cannot read ${what}: ${current || dir}: ${reason}`);
  }
}

export function readTreeMeta(dir: string, what: string): TreeMeta {
  const p = join(dir, TREE_META);
  let meta: TreeMeta;
  try {
    meta = JSON.parse(readFileSync(p, "utf8")) as TreeMeta;
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : fsErrorReason(err);
    throw new SnapshelfError("tree-corrupt", `cannot read ${what}: ${p}: ${reason}`);
  }
  if (typeof meta?.baseUrl !== "string") {
    throw new SnapshelfError("tree-corrupt", `cannot read ${what}: ${p}: not tree metadata`);
  }
  return meta;
}
