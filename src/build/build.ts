/**
 * build: records x static routes -> a new generation of the tree, published
 * atomically. The tree is written under a temporary name, renamed into
 * trees/<generation>/, and only then is `current` switched (temp + rename),
 * so devices never see a half-written tree and an interrupted build leaves
 * the previous generation in service.
 *
 * A build costs what changed: records are kept per snap (state/parts/), and
 * the tree in service says which part each snap's files were rendered from
 * (its manifest). A snap whose part is unchanged has its files hard-linked
 * from that tree and its pieces of the joined files (names, catalogue page)
 * taken from the manifest; only changed snaps are loaded, folded and
 * rendered. Anything every snap depends on (the global records, the
 * architectures, the base URL, the renderer's code) is in the manifest's key:
 * when it differs, every snap is rendered. Per-revision assertion files live
 * in the shared directory (src/build/tree-files.ts), so a generation has a
 * few files per snap, not per revision.
 */
import { createHash } from "node:crypto";
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCatalogue, indexCatalogue } from "../catalogue/build-catalogue.js";
import type { Catalogue } from "../catalogue/types.js";
import { normaliseBaseUrl } from "../model/base-url.js";
import { emptyRecords, joinRecords, type SnapPart } from "../model/records.js";
import { KNOWN_ARCHES } from "../model/types.js";
import { STATIC_ROUTES } from "../routes/table.js";
import type { StaticRoute, TreeFile } from "../routes/types.js";
import { type ChangeOptions, change } from "../store/change.js";
import { assertionObjectPath, type StoreLayout, treePath } from "../store/layout.js";
import {
  DEFAULT_BASE_URL,
  generationNumbers,
  type RecordsIndex,
  readCurrentGeneration,
  readRecordsIndex,
  readSettings,
  writeSettings,
} from "../store/state.js";
import {
  GLOBAL_FRAGMENT_PATH,
  type GlobalFragment,
  isSharedPath,
  type SnapFragment,
  sharedTreePath,
  snapFragmentPath,
  TREE_FORMAT,
  TREE_MANIFEST,
  TREE_META,
  TREE_PIECES,
  type TreeMeta,
} from "../store/tree-files.js";
import { copyFileSyncPortable } from "../util/copy.js";
import { SnapshelfError } from "../util/errors.js";
import { faultPoint } from "../util/fault.js";
import { errnoCode, writeFileAtomic } from "../util/fs.js";
import { PortableNames } from "../util/portable-names.js";
import type { RenderContext } from "../wire/snap.js";

export interface BuildOptions extends ChangeOptions {
  readonly baseUrl?: string;
  /** false: build the generation without putting it in service (`build --no-switch`, then `switch`). */
  readonly switch?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuildResult {
  readonly generation: number;
  readonly path: string;
  readonly files: number;
  readonly baseUrl: string;
  /** Snaps rendered (the others were linked from the previous generation). */
  readonly rendered: number;
  readonly snaps: number;
}

/** stat, or undefined when absent (without an exception: a full build stats 20,000 absent files). */
function statQuiet(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

const LINK_FALLBACK = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP"]);

/**
 * Puts an immutable file (an assertion object, a file of an earlier tree) into the tree: a hard
 * link, or a copy where links cannot be made.
 */
function linkOrCopy(source: string, target: string): void {
  try {
    linkSync(source, target);
  } catch (err) {
    if (!LINK_FALLBACK.has(errnoCode(err) ?? "")) throw err;
    copyFileSyncPortable(source, target);
  }
}

/** What one snap put into a tree; the next build reuses it while the snap's part is unchanged. */
interface SnapManifest {
  readonly part: string;
  /** Architectures beyond the known ones its revisions are built for. */
  readonly extraArches: readonly string[];
  /** Its files in the generation's own tree (not the shared directory), fragment excluded. */
  readonly files: readonly string[];
  /** Every file it rendered, shared ones included. */
  readonly count: number;
  /**
   * Where its piece of each joined route is in the tree's pieces file (byte offset and length);
   * absent when it is not in the catalogue (no revision).
   */
  readonly pieces?: Readonly<Record<string, readonly [number, number]>>;
}

interface BuildManifest {
  readonly format: number;
  /** Digest of everything every snap's files depend on besides its own part. */
  readonly key: string;
  readonly snaps: Readonly<Record<string, SnapManifest>>;
}

const MANIFEST_FORMAT = 1;

let rendererDigest: string | undefined;

/**
 * Digest of the code that renders trees (every module of snapshelf): a tree rendered by other code
 * is never reused, so an upgrade re-renders everything once.
 */
function rendererId(): string {
  if (rendererDigest !== undefined) return rendererDigest;
  const h = createHash("sha3-384");
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) h.update(`${p.slice(root.length)}\0`).update(readFileSync(p));
    }
  };
  walk(root);
  rendererDigest = h.digest("hex");
  return rendererDigest;
}

function extraArchesOf(part: SnapPart): string[] {
  const known: readonly string[] = KNOWN_ARCHES;
  const out = new Set<string>();
  for (const r of part.revisions)
    for (const a of r.info.architectures) if (a !== "all" && !known.includes(a)) out.add(a);
  return [...out].sort();
}

function readManifest(dir: string): BuildManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, TREE_MANIFEST), "utf8")) as BuildManifest;
    return m?.format === MANIFEST_FORMAT && typeof m.key === "string" && typeof m.snaps === "object" ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Writes tree files into a new generation directory and the shared directory. */
class TreeWriter {
  private readonly made = new Set<string>();
  /** Every tree path is valid on FAT, exFAT and NTFS, so a store copies onto any stick. */
  private readonly names = new PortableNames();
  private readonly shared: string;
  private tmpCount = 0;

  constructor(
    private readonly layout: StoreLayout,
    private readonly dir: string,
  ) {
    this.shared = sharedTreePath(layout);
  }

  /** Makes the directory of `target` (an absolute `/`-separated path built by string concatenation). */
  private parent(target: string): void {
    const d = target.slice(0, target.lastIndexOf("/"));
    if (this.made.has(d)) return;
    // parents are usually made already (files come grouped by directory): a plain mkdir is a
    // third of the cost of a recursive one
    try {
      mkdirSync(d);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT") mkdirSync(d, { recursive: true });
      else if (code !== "EEXIST") throw err;
    }
    this.made.add(d);
  }

  /** Writes one rendered file; returns whether it went to the generation's own tree. */
  write(f: TreeFile): boolean {
    faultPoint("build:tree-file");
    this.checkName(f.path);
    if (isSharedPath(f.path)) {
      // only assertion files are shared (SHARED_PREFIXES)
      if (!("object" in f.body)) throw new Error(`build: rendered text for shared path ${f.path}`);
      this.writeShared(f.path, assertionObjectPath(this.layout, f.body.object));
      return false;
    }
    const target = `${this.dir}/${f.path}`;
    this.parent(target);
    if ("text" in f.body) writeFileSync(target, f.body.text);
    else linkOrCopy(assertionObjectPath(this.layout, f.body.object), target);
    return true;
  }

  /**
   * A shared file appears complete or not at all: a link is atomic; a copy or a replacement (a
   * newer revision of the assertion) goes through a temporary name and a rename.
   */
  private writeShared(path: string, source: string): void {
    const target = `${this.shared}/${path}`;
    const have = statQuiet(target);
    if (have) {
      const src = statSync(source);
      if (src.ino === have.ino && src.dev === have.dev) return;
      if (src.size === have.size && readFileSync(source).equals(readFileSync(target))) return;
    } else {
      this.parent(target);
      try {
        linkSync(source, target);
        return;
      } catch (err) {
        if (!LINK_FALLBACK.has(errnoCode(err) ?? "")) throw err;
      }
    }
    mkdirSync(this.layout.tmp, { recursive: true });
    const tmp = join(this.layout.tmp, `shared-${process.pid}-${this.tmpCount++}`);
    linkOrCopy(source, tmp);
    renameSync(tmp, target);
  }

  writeText(path: string, text: string): void {
    const target = `${this.dir}/${path}`;
    this.parent(target);
    writeFileSync(target, text);
  }

  /** Links files of an earlier tree into this one; false (and nothing linked) when one is missing. */
  private checkName(path: string): void {
    const problem = this.names.add(path);
    if (problem !== undefined) {
      throw new SnapshelfError(
        "unportable-name",
        `cannot build: tree path ${problem} (not valid on FAT, exFAT or NTFS)`,
      );
    }
  }

  linkFrom(previous: string, paths: readonly string[]): boolean {
    const done: string[] = [];
    try {
      for (const p of paths) {
        this.checkName(p);
        // tree paths are relative, `/`-separated and normalised: no join() needed
        const target = `${this.dir}/${p}`;
        this.parent(target);
        linkOrCopy(`${previous}/${p}`, target);
        done.push(target);
      }
      return true;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      for (const t of done) unlinkSync(t);
      return false;
    }
  }
}

export interface TreeResult {
  readonly files: number;
  readonly rendered: number;
  readonly snaps: number;
}

/** The tree in service and its manifest, when the next build can start from it. */
interface PreviousTree {
  readonly dir: string;
  readonly manifest: BuildManifest;
  /** Its pieces file. */
  readonly pieces: Buffer;
}

function previousTree(layout: StoreLayout): PreviousTree | undefined {
  const g = readCurrentGeneration(layout);
  if (g === undefined) return undefined;
  const dir = treePath(layout, g);
  const manifest = readManifest(dir);
  if (!manifest) return undefined;
  try {
    return { dir, manifest, pieces: readFileSync(join(dir, TREE_PIECES)) };
  } catch {
    // unreadable: render everything
    return undefined;
  }
}

type JoinedRoute = { readonly id: string; readonly split: Extract<StaticRoute["split"], { kind: "joined" }> };

/** What rendering one snap's files needs: the tree being written and what every snap shares. */
interface SnapRendering {
  readonly layout: StoreLayout;
  readonly records: RecordsIndex;
  readonly ctx: RenderContext;
  readonly extraArches: readonly string[];
  readonly out: TreeWriter;
  readonly perSnap: readonly StaticRoute[];
  readonly joined: readonly JoinedRoute[];
}

/** One snap in the tree: its manifest entry, and its pieces of the joined files (none when it has no snap). */
interface SnapOutput {
  readonly m: SnapManifest;
  readonly pieces: ReadonlyMap<string, string> | undefined;
}

/**
 * Writes every file of every static route for the records into `dir` (which must not exist),
 * re-rendering only the snaps whose records differ from `previous`'s.
 */
export async function writeTree(
  layout: StoreLayout,
  records: RecordsIndex,
  ctx: RenderContext,
  dir: string,
  previous?: PreviousTree,
): Promise<TreeResult> {
  // Synchronous file operations below, on purpose: a tree is thousands of tiny files and
  // directories, and a thread-pool round trip per operation costs more than the operation.
  // build is a batch command; nothing waits on it.
  const before = previous?.manifest.snaps ?? {};
  // ---- 1. the changed snaps' records, and what decides whether the previous tree can be reused
  const parts = new Map<string, SnapPart>();
  for (const [name, hex] of records.parts) {
    if (before[name]?.part !== hex) await loadPart(records, parts, name);
  }
  const extraArches = extraArchesFor(records, parts, before);
  const key = treeKey(records, ctx, extraArches);
  const reusable = previous !== undefined && previous.manifest.key === key ? previous : undefined;

  // ---- 2. per snap: linked from the previous tree, or rendered
  mkdirSync(dir, { recursive: true });
  const r: SnapRendering = {
    layout,
    records,
    ctx,
    extraArches,
    out: new TreeWriter(layout, dir),
    perSnap: STATIC_ROUTES.filter((route) => route.split.kind === "per-snap"),
    joined: STATIC_ROUTES.flatMap((route) =>
      route.split.kind === "joined" ? [{ id: route.id, split: route.split }] : [],
    ),
  };
  const snaps = await writeSnaps(r, parts, before, reusable);

  // ---- 3. what belongs to no snap, then the tree's own files
  const files = snaps.files + writeGlobal(r, snaps.byRoute);
  const meta: TreeMeta = { format: TREE_FORMAT, baseUrl: ctx.baseUrl };
  r.out.writeText(TREE_META, JSON.stringify(meta, null, 2) + "\n");
  const m: BuildManifest = { format: MANIFEST_FORMAT, key, snaps: snaps.manifest };
  r.out.writeText(TREE_MANIFEST, JSON.stringify(m));
  r.out.writeText(TREE_PIECES, snaps.pieceTexts.join(""));
  return { files, rendered: snaps.rendered, snaps: records.parts.size };
}

/** A snap's records part, loaded once into `parts`. */
async function loadPart(records: RecordsIndex, parts: Map<string, SnapPart>, name: string): Promise<SnapPart> {
  let p = parts.get(name);
  if (!p) {
    p = await records.load(name);
    parts.set(name, p);
  }
  return p;
}

/** Architectures beyond the known ones any revision is built for: from the loaded parts, else the previous manifest. */
function extraArchesFor(
  records: RecordsIndex,
  parts: ReadonlyMap<string, SnapPart>,
  before: Readonly<Record<string, SnapManifest>>,
): string[] {
  const extras = new Set<string>();
  for (const name of records.parts.keys()) {
    const p = parts.get(name);
    for (const a of p ? extraArchesOf(p) : (before[name]?.extraArches ?? [])) extras.add(a);
  }
  return [...extras].sort();
}

/** What every snap's files depend on besides its own records: when it changes, nothing is reused. */
function treeKey(records: RecordsIndex, ctx: RenderContext, extraArches: readonly string[]): string {
  return createHash("sha3-384")
    .update(
      JSON.stringify({
        renderer: rendererId(),
        tree: TREE_FORMAT,
        baseUrl: ctx.baseUrl,
        extraArches,
        global: records.global,
      }),
    )
    .digest("hex");
}

/**
 * Every snap's files, linked from the reusable tree when its part is unchanged, else rendered;
 * and the pieces file: every snap's pieces in catalogue order, and where each is.
 */
async function writeSnaps(
  r: SnapRendering,
  parts: Map<string, SnapPart>,
  before: Readonly<Record<string, SnapManifest>>,
  reusable: PreviousTree | undefined,
): Promise<{
  manifest: Record<string, SnapManifest>;
  pieceTexts: string[];
  byRoute: Map<string, string[]>;
  files: number;
  rendered: number;
}> {
  const manifest: Record<string, SnapManifest> = {};
  const pieceTexts: string[] = [];
  let offset = 0;
  let files = 0;
  let rendered = 0;
  const byRoute = new Map<string, string[]>(r.joined.map((j) => [j.id, []]));
  for (const [name, hex] of r.records.parts) {
    const old = reusable ? before[name] : undefined;
    let m: SnapManifest;
    let pieces: ReadonlyMap<string, string> | undefined;
    if (reusable && old?.part === hex && r.out.linkFrom(reusable.dir, [...old.files, snapFragmentPath(name)])) {
      m = old;
      if (old.pieces) {
        const buf = reusable.pieces;
        pieces = new Map(Object.entries(old.pieces).map(([id, [o, l]]) => [id, buf.toString("utf8", o, o + l)]));
      }
    } else {
      ({ m, pieces } = renderSnap(r, name, hex, await loadPart(r.records, parts, name)));
      rendered++;
    }
    files += m.count;
    if (pieces === undefined) {
      const { pieces: _none, ...rest } = m;
      manifest[name] = rest;
      continue;
    }
    const at: Record<string, readonly [number, number]> = {};
    for (const j of r.joined) {
      const text = pieces.get(j.id) ?? "";
      const length = Buffer.byteLength(text);
      at[j.id] = [offset, length];
      offset += length;
      pieceTexts.push(text);
      byRoute.get(j.id)?.push(text);
    }
    manifest[name] = { ...m, pieces: at };
  }
  return { manifest, pieceTexts, byRoute, files, rendered };
}

/** Renders one snap's files (its blobs checked first), its fragment, and its pieces of the joined files. */
function renderSnap(r: SnapRendering, name: string, hex: string, part: SnapPart): SnapOutput {
  const catalogue = buildCatalogue(joinRecords(r.records.global, [part]), { arches: r.extraArches });
  const snap = catalogue.snaps.find((s) => s.name === name);
  const objects = new Set(part.assertions.map((a) => a.object));
  const own: Catalogue = {
    snaps: snap ? [snap] : [],
    assertions: catalogue.assertions.filter((a) => objects.has(a.object)),
    arches: catalogue.arches,
  };
  // every download URL a response names must exist: check the blobs before rendering
  for (const rev of snap?.revisions ?? []) {
    const p = join(r.layout.blobs, `${rev.sha3_384}.snap`);
    const st = statQuiet(p);
    if (!st || st.size !== rev.size) {
      throw new SnapshelfError(
        "blob-missing",
        `cannot build: blob of ${name} revision ${rev.revision} is missing or damaged (${p})`,
      );
    }
  }
  const index = indexCatalogue(own);
  const mine: string[] = [];
  let count = 0;
  for (const route of r.perSnap) {
    for (const f of route.files(index, r.ctx)) {
      if (r.out.write(f)) mine.push(f.path);
      count++;
    }
  }
  const fragment: SnapFragment = { ...(snap ? { snap } : {}), assertions: own.assertions };
  r.out.writeText(snapFragmentPath(name), JSON.stringify(fragment));
  const pieces = new Map<string, string>();
  if (snap) for (const j of r.joined) pieces.set(j.id, j.split.piece(snap, catalogue.arches, r.ctx));
  return {
    m: { part: hex, extraArches: extraArchesOf(part), files: mine, count },
    pieces: snap ? pieces : undefined,
  };
}

/** What belongs to no snap: the other assertions, and the files joined from every snap's piece. Returns the files written. */
function writeGlobal(r: SnapRendering, byRoute: ReadonlyMap<string, string[]>): number {
  let files = 0;
  const global = buildCatalogue({ ...emptyRecords(), ...r.records.global }, { arches: r.extraArches });
  const index = indexCatalogue(global);
  for (const route of r.perSnap) {
    for (const f of route.files(index, r.ctx)) {
      r.out.write(f);
      files++;
    }
  }
  for (const j of r.joined) {
    for (const f of j.split.join(byRoute.get(j.id) ?? [], r.ctx)) {
      r.out.write(f);
      files++;
    }
  }
  const fragment: GlobalFragment = { assertions: global.assertions, arches: global.arches };
  r.out.writeText(GLOBAL_FRAGMENT_PATH, JSON.stringify(fragment));
  return files;
}

/** Builds a new generation from the store's records and puts it in service. */
export async function buildStore(layout: StoreLayout, opts: BuildOptions = {}): Promise<BuildResult> {
  return change(layout, "build", opts, async () => {
    const settings = await readSettings(layout);
    const baseUrl = normaliseBaseUrl(opts.baseUrl ?? settings.baseUrl ?? DEFAULT_BASE_URL);
    const records = await readRecordsIndex(layout);

    await mkdir(layout.trees, { recursive: true });
    // leftovers of interrupted builds are never in service: remove them
    for (const n of await readdir(layout.trees)) {
      if (n.startsWith(".building-")) await rm(join(layout.trees, n), { recursive: true, force: true });
    }
    const gens = await generationNumbers(layout);
    const generation = (gens[gens.length - 1] ?? 0) + 1;
    const tmp = join(layout.trees, `.building-${generation}`);
    const tree = await writeTree(
      layout,
      records,
      { baseUrl, ...(settings.name !== undefined ? { storeName: settings.name } : {}) },
      tmp,
      previousTree(layout),
    );
    const final = treePath(layout, generation);
    faultPoint("build:before-tree-rename");
    await rename(tmp, final);
    faultPoint("build:before-current");
    if (opts.switch !== false) await writeFileAtomic(layout.current, `${generation}\n`);
    faultPoint("build:after-current");
    if (settings.baseUrl !== baseUrl) await writeSettings(layout, { ...settings, baseUrl });
    const { files, rendered, snaps } = tree;
    opts.log?.(`built generation ${generation}: ${files} files, base URL ${baseUrl}`);
    if (rendered < snaps) opts.log?.(`rendered ${rendered} of ${snaps} snaps; the others are unchanged`);
    return {
      result: { generation, path: final, files, baseUrl, rendered, snaps },
      audit: {
        op: "build",
        detail: { generation, files, baseUrl, rendered, ...(opts.switch === false ? { switched: false } : {}) },
      },
    };
  });
}
