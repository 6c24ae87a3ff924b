/**
 * gc: reclaim space. In one locked change:
 *
 * 1. the retention policy (`--keep-revisions N`, else snapshelf.json's
 *    `keepRevisions`) drops old revisions from the records (the commit point);
 * 2. generations beyond the retention count (`--keep-generations N`, else
 *    `keepGenerations`, else 5) besides the one in service are pruned, and so
 *    are unreadable ones (they can be neither served nor rolled back to);
 * 3. blobs and assertion objects referenced by neither the records nor any
 *    retained generation's catalogue are deleted, with leftovers of
 *    interrupted changes (`.building-*` trees, temporary files).
 *
 * A blob a retained generation serves always survives: `rollback` to it must
 * never hand out a URL that 404s. Generations in service during the last
 * `graceSeconds` (default 60; from the audit log's builds and rollbacks) are
 * retained too, whatever the count: a running `serve` switches within a
 * second, and requests in flight finish on the generation they started with. `--dry-run` plans the same without the lock
 * and changes nothing. Planning is pure (`planGc`); deleting is at the edge.
 */
import { readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Records } from "../model/records.js";
import { type ChangeOptions, change, type Outcome } from "../store/change.js";
import { assertionObjectPath, type StoreLayout, treePath } from "../store/layout.js";
import {
  generationNumbers,
  readCurrentGeneration,
  readRecords,
  readRecordsIndex,
  readSettings,
} from "../store/state.js";
import { sharedTreePath } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";
import { isErrnoError } from "../util/fs.js";
import { processAlive } from "../util/lock.js";
import { type AuditRecord, readAuditLog } from "./audit-log.js";
import { type CatalogueRefs, catalogueRefs, diskUse, readGeneration, sharedPathsOf, walkFiles } from "./files.js";
import type { RemovedRevision } from "./remove.js";
import { applyRetention, checkKeep } from "./retention.js";

export const DEFAULT_KEEP_GENERATIONS = 5;
export const DEFAULT_GRACE_SECONDS = 60;

const BLOB_RE = /^([0-9a-f]{96})\.snap$/;
const OBJECT_RE = /^([0-9a-f]{96})\.assert$/;
/** Temporary names of util/fs.ts: `.<base>.tmp-<pid>-<rand>`. */
const TEMP_RE = /^\..+\.tmp-([0-9]+)-[0-9a-f]+$/;

/** A temporary file whose writer is dead: it will never be renamed into place. */
function isLeftoverTemp(name: string): boolean {
  const pid = Number(TEMP_RE.exec(name)?.[1] ?? "0");
  return pid > 0 && pid !== process.pid && !processAlive(pid);
}

export interface GcGeneration {
  readonly generation: number;
  /** Undefined when the generation's catalogue cannot be read. */
  readonly refs?: CatalogueRefs;
}

export interface GcInputs {
  /** The records after retention. */
  readonly records: Records;
  readonly current: number | undefined;
  readonly generations: readonly GcGeneration[];
  readonly keepGenerations: number;
  /** Generations in service recently: retained whatever the count. */
  readonly recent?: readonly number[];
  /** Hex digests of the blob files present. */
  readonly blobs: readonly string[];
  /** Assertion objects present. */
  readonly objects: readonly string[];
  /** Files present in the shared directory (relative paths). */
  readonly shared?: readonly string[];
}

export interface GcSelection {
  readonly keptGenerations: readonly number[];
  readonly pruneGenerations: readonly number[];
  /** Of those, the ones pruned because they cannot be read. */
  readonly damagedGenerations: readonly number[];
  readonly blobs: readonly string[];
  readonly objects: readonly string[];
  /** Shared-directory files neither the records nor a kept generation render. */
  readonly shared: readonly string[];
}

/** Pure: what gc deletes. Throws if the generation in service cannot be read (its references are unknown). */
export function planGc(inp: GcInputs): GcSelection {
  const readable = inp.generations.filter((g) => g.refs !== undefined);
  const damaged = inp.generations.filter((g) => g.refs === undefined).map((g) => g.generation);
  if (inp.current !== undefined && damaged.includes(inp.current)) {
    throw new SnapshelfError(
      "tree-corrupt",
      `cannot gc: generation ${inp.current} in service cannot be read (run snapshelf verify, then build or rollback)`,
    );
  }
  const others = readable
    .map((g) => g.generation)
    .filter((n) => n !== inp.current)
    .sort((a, b) => b - a);
  const keepOthers = new Set(others.slice(0, inp.keepGenerations));
  const recent = new Set(inp.recent ?? []);
  const kept = readable.filter(
    (g) => g.generation === inp.current || keepOthers.has(g.generation) || recent.has(g.generation),
  );
  const keptNums = kept.map((g) => g.generation).sort((a, b) => a - b);
  const prune = inp.generations
    .map((g) => g.generation)
    .filter((n) => !keptNums.includes(n))
    .sort((a, b) => a - b);

  const blobRefs = new Set([
    ...inp.records.revisions.map((r) => r.sha3_384),
    ...(inp.records.components ?? []).map((c) => c.sha3_384),
  ]);
  const objectRefs = new Set([...inp.records.assertions.map((a) => a.object), ...inp.records.roots]);
  const sharedRefs = sharedPathsOf(inp.records.assertions);
  for (const g of kept) {
    for (const b of g.refs?.blobs ?? []) blobRefs.add(b);
    for (const o of g.refs?.objects ?? []) objectRefs.add(o);
    for (const p of g.refs?.shared ?? []) sharedRefs.add(p);
  }
  return {
    keptGenerations: keptNums,
    pruneGenerations: prune,
    damagedGenerations: damaged.sort((a, b) => a - b),
    blobs: inp.blobs.filter((b) => !blobRefs.has(b)).sort(),
    objects: inp.objects.filter((o) => !objectRefs.has(o)).sort(),
    shared: (inp.shared ?? []).filter((p) => !sharedRefs.has(p)).sort(),
  };
}

/**
 * Pure: the generations that were in service at some time in the last
 * `graceMs` before `now`, from the audit log (`build` puts `generation` in
 * service, `rollback` puts `to`).
 */
export function recentGenerations(entries: readonly AuditRecord[], now: Date, graceMs: number): number[] {
  const out = new Set<number>();
  let serving: number | undefined;
  for (const e of entries) {
    const to = e.op === "build" ? e.detail["generation"] : e.op === "rollback" ? e.detail["to"] : undefined;
    if (typeof to !== "number") continue;
    // the generation this switch replaced was in service until e.time
    if (serving !== undefined && Date.parse(e.time) >= now.getTime() - graceMs) out.add(serving);
    serving = to;
  }
  if (serving !== undefined) out.add(serving);
  return [...out].sort((a, b) => a - b);
}

export interface GcOptions extends ChangeOptions {
  readonly dryRun?: boolean;
  /** Keep generations in service during the last N seconds (default 60). */
  readonly graceSeconds?: number;
  readonly now?: Date;
  readonly keepGenerations?: number;
  readonly keepRevisions?: number;
}

export interface GcItem {
  /** Relative to the store directory. */
  readonly path: string;
  readonly bytes: number;
  /** What it was (`hello-offline revision 2`, `generation 3`, `leftover`). */
  readonly what: string;
}

export interface GcResult {
  readonly dryRun: boolean;
  readonly keepRevisions?: number;
  readonly keepGenerations: number;
  /** Revisions dropped by the retention policy. */
  readonly revisions: readonly RemovedRevision[];
  readonly keptGenerations: readonly number[];
  readonly generations: readonly GcItem[];
  readonly blobs: readonly GcItem[];
  readonly assertions: readonly GcItem[];
  readonly leftovers: readonly GcItem[];
  readonly bytes: number;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return [];
    throw err;
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

/** What is on disk for gc to consider: objects present, and leftovers of interrupted changes. */
interface StoreScan {
  /** Hex digests of the blob files present. */
  readonly blobs: string[];
  readonly objects: string[];
  readonly leftovers: GcItem[];
  /** Files of the shared directory (relative paths). */
  readonly sharedFiles: string[];
}

/** What gc deletes, each with its size and what it was. */
interface GcItems {
  readonly generations: GcItem[];
  readonly blobs: GcItem[];
  readonly assertions: GcItem[];
}

/** Plans (and unless dry-run, performs) a gc of the store. */
export async function gc(layout: StoreLayout, opts: GcOptions = {}): Promise<GcResult> {
  const run = async (): Promise<Outcome<GcResult>> => {
    // ---- 1. settings, and the retention policy applied to the records
    const settings = await readSettings(layout);
    const keepGenerations = checkKeep(
      opts.keepGenerations ?? settings.keepGenerations ?? DEFAULT_KEEP_GENERATIONS,
      "generations to keep",
      true,
    );
    const keepRevisions = opts.keepRevisions ?? settings.keepRevisions;
    const before = await readRecords(layout);
    const removal =
      keepRevisions === undefined ? undefined : applyRetention(before, checkKeep(keepRevisions, "revisions to keep"));
    const records = removal?.records ?? before;

    // ---- 2. what is there: generations, objects, leftovers
    const current = readCurrentGeneration(layout);
    const { generations, names } = await readGcGenerations(layout, before);
    const scan = await scanStore(layout);

    // ---- 3. plan (pure), then size what goes
    const grace = checkKeep(opts.graceSeconds ?? DEFAULT_GRACE_SECONDS, "seconds of grace", true);
    const recent = recentGenerations((await readAuditLog(layout)).entries, opts.now ?? new Date(), grace * 1000);
    const sel = planGc({
      records,
      current,
      generations,
      keepGenerations,
      recent,
      blobs: scan.blobs,
      objects: scan.objects,
      shared: scan.sharedFiles,
    });
    const items = await sizeItems(layout, sel, names);
    const leftovers = scan.leftovers;
    const all = [...items.generations, ...items.blobs, ...items.assertions, ...leftovers];
    const result: GcResult = {
      dryRun: opts.dryRun === true,
      ...(keepRevisions !== undefined ? { keepRevisions } : {}),
      keepGenerations,
      revisions: removal?.removed ?? [],
      keptGenerations: sel.keptGenerations,
      generations: items.generations,
      blobs: items.blobs,
      assertions: items.assertions,
      leftovers,
      bytes: all.reduce((n, i) => n + i.bytes, 0),
    };
    if (opts.dryRun) return { result };

    // ---- 4. records first (the commit point), then the files nothing names any more
    return {
      result,
      ...(removal && removal.removed.length > 0 ? { records: removal.records } : {}),
      afterCommit: () => deleteSelected(layout, sel, leftovers),
      audit: {
        op: "gc",
        detail: {
          keepRevisions: keepRevisions ?? null,
          keepGenerations,
          revisions: result.revisions.map((r) => `${r.name}=${r.revision}`),
          generations: sel.pruneGenerations,
          blobs: sel.blobs,
          assertions: sel.objects.length,
          leftovers: leftovers.length,
          bytes: result.bytes,
        },
      },
    };
  };
  return opts.dryRun ? (await run()).result : change(layout, "gc", opts, run);
}

/**
 * Every generation's references (none when it cannot be read), and names of blobs for messages:
 * from the records before retention and every generation.
 */
async function readGcGenerations(
  layout: StoreLayout,
  before: Records,
): Promise<{ generations: GcGeneration[]; names: Map<string, string> }> {
  const generations: GcGeneration[] = [];
  const names = new Map<string, string>();
  for (const r of before.revisions) names.set(r.sha3_384, `${r.name} revision ${r.revision}`);
  for (const generation of await generationNumbers(layout)) {
    try {
      const g = await readGeneration(layout, generation);
      generations.push({ generation, refs: catalogueRefs(g.catalogue) });
      for (const s of g.catalogue.snaps) {
        for (const r of s.revisions)
          if (!names.has(r.sha3_384)) names.set(r.sha3_384, `${s.name} revision ${r.revision}`);
      }
    } catch {
      generations.push({ generation });
    }
  }
  return { generations, names };
}

/** The blobs, assertion objects and shared files present, and leftovers of interrupted changes. */
async function scanStore(layout: StoreLayout): Promise<StoreScan> {
  const blobFiles = await listDir(layout.blobs);
  const blobs = blobFiles.flatMap((n) => BLOB_RE.exec(n)?.[1] ?? []);
  const objects: string[] = [];
  const leftovers: GcItem[] = [];
  for (const n of blobFiles) {
    if (isLeftoverTemp(n))
      leftovers.push({ path: `blobs/${n}`, bytes: await sizeOf(join(layout.blobs, n)), what: "leftover" });
  }
  for (const sub of await listDir(layout.assertions)) {
    for (const n of await listDir(join(layout.assertions, sub))) {
      const object = OBJECT_RE.exec(n)?.[1];
      if (object?.startsWith(sub)) objects.push(object);
      else if (isLeftoverTemp(n)) {
        const p = join(layout.assertions, sub, n);
        leftovers.push({ path: `state/assertions/${sub}/${n}`, bytes: await sizeOf(p), what: "leftover" });
      }
    }
  }
  leftovers.push(...(await otherLeftovers(layout)));
  const sharedFiles = (await walkFiles(sharedTreePath(layout))).map((f) => f.path);
  return { blobs, objects, leftovers, sharedFiles };
}

/** Leftovers outside the objects: trees of interrupted builds or gcs, temporary files, unnamed record parts. */
async function otherLeftovers(layout: StoreLayout): Promise<GcItem[]> {
  const leftovers: GcItem[] = [];
  for (const n of await listDir(layout.trees)) {
    if (n.startsWith(".building-") || n.startsWith(".pruning-")) {
      leftovers.push({
        path: `trees/${n}`,
        bytes: await diskUse(join(layout.trees, n)),
        what: "leftover tree of an interrupted build or gc",
      });
    }
  }
  for (const n of await listDir(layout.root)) {
    if (isLeftoverTemp(n)) leftovers.push({ path: n, bytes: await sizeOf(join(layout.root, n)), what: "leftover" });
  }
  for (const n of await listDir(layout.state)) {
    if (isLeftoverTemp(n)) {
      leftovers.push({ path: `state/${n}`, bytes: await sizeOf(join(layout.state, n)), what: "leftover" });
    }
  }
  // parts the records index does not name: written by a change that was interrupted before its commit
  const named = new Set((await readRecordsIndex(layout)).parts.values());
  for (const n of await listDir(layout.parts)) {
    const hex = /^([0-9a-f]{96})\.json$/.exec(n)?.[1];
    if ((hex !== undefined && !named.has(hex)) || (hex === undefined && isLeftoverTemp(n))) {
      const what = hex === undefined ? "leftover" : "records of an interrupted change";
      leftovers.push({ path: `state/parts/${n}`, bytes: await sizeOf(join(layout.parts, n)), what });
    }
  }
  return leftovers;
}

/** The selection as items: path, size, what it was. */
async function sizeItems(layout: StoreLayout, sel: GcSelection, names: ReadonlyMap<string, string>): Promise<GcItems> {
  const sharedDir = sharedTreePath(layout);
  const generations: GcItem[] = [];
  for (const g of sel.pruneGenerations) {
    generations.push({
      path: `trees/${g}`,
      bytes: await diskUse(treePath(layout, g)),
      what: sel.damagedGenerations.includes(g) ? `generation ${g} (unreadable)` : `generation ${g}`,
    });
  }
  const blobs: GcItem[] = [];
  for (const b of sel.blobs) {
    blobs.push({
      path: `blobs/${b}.snap`,
      bytes: await sizeOf(join(layout.blobs, `${b}.snap`)),
      what: names.get(b) ?? "orphan",
    });
  }
  const assertions: GcItem[] = [];
  for (const o of sel.objects) {
    assertions.push({
      path: `state/assertions/${o.slice(0, 2)}/${o}.assert`,
      bytes: await sizeOf(assertionObjectPath(layout, o)),
      what: "assertion",
    });
  }
  for (const p of sel.shared) {
    assertions.push({
      path: `trees/.shared/${p}`,
      bytes: await sizeOf(join(sharedDir, p)),
      what: "assertion file no kept generation serves",
    });
  }
  return { generations, blobs, assertions };
}

/** Deletes what gc selected (after the records are committed). */
async function deleteSelected(layout: StoreLayout, sel: GcSelection, leftovers: readonly GcItem[]): Promise<void> {
  const sharedDir = sharedTreePath(layout);
  for (const g of sel.pruneGenerations) {
    // out of the numbered names first, so a half-deleted tree is never listed as a generation
    const doomed = join(layout.trees, `.pruning-${g}`);
    await rename(treePath(layout, g), doomed);
    await rm(doomed, { recursive: true, force: true });
  }
  for (const b of sel.blobs) await rm(join(layout.blobs, `${b}.snap`), { force: true });
  for (const o of sel.objects) await rm(assertionObjectPath(layout, o), { force: true });
  for (const p of sel.shared) {
    await rm(join(sharedDir, p), { force: true });
    // and the directories it leaves empty (one per revision)
    for (let d = dirname(p); d !== "." && d !== ""; d = dirname(d)) {
      try {
        await rmdir(join(sharedDir, d));
      } catch {
        break;
      }
    }
  }
  for (const l of leftovers) await rm(join(layout.root, l.path), { recursive: true, force: true });
}
