/**
 * I/O edge of the store directory: records, settings, the change lock and the
 * audit log (changes commit through src/store/change.ts). Every write goes to a temporary name and is renamed into place.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import {
  emptyRecords,
  type GlobalRecords,
  joinRecords,
  RECORDS_FORMAT,
  type Records,
  type SnapPart,
  splitRecords,
} from "../model/records.js";
import { SnapshelfError } from "../util/errors.js";
import { errnoCode, fsErrorReason, pathExists, unlinkQuiet, writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { isObject } from "../util/json-shape.js";
import type { LockOptions, LockTarget } from "../util/lock.js";
import type { StoreLayout } from "./layout.js";

export interface StoreSettings {
  readonly format: number;
  /** Base URL devices reach the store at (download URLs are built from it). */
  readonly baseUrl?: string;
  /** The store's name for people (`init --name`; the catalogue page's heading). */
  readonly name?: string;
  /** Retention: revisions kept per channel and arch by gc (absent = keep all); see src/ops/retention.ts. */
  readonly keepRevisions?: number;
  /** Also apply `keepRevisions` at every import. */
  readonly retainOnImport?: boolean;
  /** Generations gc keeps besides the one in service (absent = 5). */
  readonly keepGenerations?: number;
  /** Set on a replica made by `snapshelf sync`: the source store's path. Every change is refused here. */
  readonly replicaOf?: string;
}

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";

/** On-disk format of `state/records.json` since records are kept per snap (format 1: one whole file). */
export const RECORDS_INDEX_FORMAT = 2;

/**
 * `state/records.json`: the global records and, per snap name, the content
 * address of its part (`state/parts/<sha3-384>.json`). Parts are written
 * before the index and never changed, so the index rename stays the one
 * commit point of every change.
 */
interface RecordsIndexFile extends GlobalRecords {
  readonly format: number;
  readonly parts: Readonly<Record<string, string>>;
}

/** The records as a build reads them: the global part at once, each snap's part on demand. */
export interface RecordsIndex {
  readonly global: GlobalRecords;
  /** Snap name -> content address of its part, sorted by name. */
  readonly parts: ReadonlyMap<string, string>;
  load(name: string): Promise<SnapPart>;
}

function partPath(layout: StoreLayout, hex: string): string {
  return join(layout.parts, `${hex}.json`);
}

/** A part's exact file bytes and content address. */
export function serialisePart(part: SnapPart): { text: string; hex: string } {
  const text = JSON.stringify(part);
  return { text, hex: createHash("sha3-384").update(text).digest("hex") };
}

function corrupt(path: string, reason: string): SnapshelfError {
  return new SnapshelfError("store-corrupt", `cannot read ${path}: ${reason}`);
}

async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw corrupt(path, (err as Error).message);
  }
}

/** Reads the records index (the global part and the address of each snap's part). */
export async function readRecordsIndex(layout: StoreLayout): Promise<RecordsIndex> {
  let value: unknown;
  try {
    value = await readJsonFile(layout.records);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
    value = emptyRecords();
  }
  if (isObject(value) && value["format"] === RECORDS_FORMAT && Array.isArray(value["revisions"])) {
    // format 1 (a whole file): split in memory; the next change writes format 2
    const { global, parts } = splitRecords(value as unknown as Records);
    const byName = new Map(parts.map((p) => [p.name, p]));
    return {
      global,
      parts: new Map(parts.map((p) => [p.name, serialisePart(p).hex])),
      load: async (name) => byName.get(name) ?? { name, assertions: [], revisions: [], releases: [], overrides: [] },
    };
  }
  if (
    !isObject(value) ||
    value["format"] !== RECORDS_INDEX_FORMAT ||
    !Array.isArray(value["roots"]) ||
    !Array.isArray(value["assertions"]) ||
    !isObject(value["parts"])
  ) {
    throw corrupt(layout.records, "unsupported records format");
  }
  const file = value as unknown as RecordsIndexFile;
  const parts = new Map<string, string>();
  for (const name of Object.keys(file.parts).sort()) {
    const hex = file.parts[name];
    if (typeof hex !== "string" || !/^[0-9a-f]{96}$/.test(hex)) throw corrupt(layout.records, `bad part of ${name}`);
    parts.set(name, hex);
  }
  return {
    global: { roots: file.roots, assertions: file.assertions },
    parts,
    load: async (name) => {
      const hex = parts.get(name);
      const p = hex === undefined ? undefined : partPath(layout, hex);
      if (p === undefined) throw corrupt(layout.records, `no part for ${name}`);
      const part = await readJsonFile(p);
      if (!isObject(part) || part["name"] !== name || !Array.isArray(part["revisions"])) {
        throw corrupt(p, `not the records of ${name}`);
      }
      return part as unknown as SnapPart;
    },
  };
}

export async function readRecords(layout: StoreLayout): Promise<Records> {
  // a reader without the lock may see a part removed by a change that committed meanwhile: read again
  for (let attempt = 0; ; attempt++) {
    try {
      const index = await readRecordsIndex(layout);
      const parts: SnapPart[] = [];
      for (const name of index.parts.keys()) parts.push(await index.load(name));
      return joinRecords(index.global, parts);
    } catch (err) {
      if (attempt > 0 || errnoCode(err) !== "ENOENT") throw err;
    }
  }
}

/**
 * Writes the records: the parts not already stored, then the index (the
 * commit point), then removes the parts the previous index named and this
 * one does not.
 */
export async function writeRecords(layout: StoreLayout, records: Records): Promise<void> {
  await mkdir(layout.parts, { recursive: true });
  let previous: ReadonlySet<string> = new Set();
  try {
    const old = await readJsonFile(layout.records);
    if (isObject(old) && isObject(old["parts"])) {
      previous = new Set(Object.values(old["parts"]).filter((v): v is string => typeof v === "string"));
    }
  } catch {
    // absent or unreadable: nothing to clean up after
  }
  const { global, parts } = splitRecords(records);
  const index: Record<string, string> = {};
  for (const part of parts) {
    const { text, hex } = serialisePart(part);
    index[part.name] = hex;
    if (!previous.has(hex) && !(await pathExists(partPath(layout, hex)))) {
      await writeFileAtomic(partPath(layout, hex), text);
    }
  }
  const file: RecordsIndexFile = {
    format: RECORDS_INDEX_FORMAT,
    roots: global.roots,
    assertions: global.assertions,
    parts: index,
  };
  await writeJsonAtomic(layout.records, file);
  const kept = new Set(Object.values(index));
  for (const hex of previous) if (!kept.has(hex)) await unlinkQuiet(partPath(layout, hex));
}

export async function readSettings(layout: StoreLayout): Promise<StoreSettings> {
  try {
    const v = JSON.parse(await readFile(layout.settings, "utf8")) as StoreSettings;
    return v;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return { format: 1 };
    throw new SnapshelfError("store-corrupt", `cannot read ${layout.settings}: ${fsErrorReason(err)}`);
  }
}

export async function writeSettings(layout: StoreLayout, settings: StoreSettings): Promise<void> {
  await mkdir(layout.root, { recursive: true });
  await writeJsonAtomic(layout.settings, settings);
}

/** The generation numbers under trees/, ascending (leftovers such as `.building-N` excluded). */
export async function generationNumbers(layout: StoreLayout): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(layout.trees);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw err;
  }
  return names
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number)
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
}

/** The generation in service, or undefined when nothing was built yet. */
export function readCurrentGeneration(layout: StoreLayout): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(layout.current, "utf8").trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The store's lock: `state/lock` says who holds it (src/util/lock.ts). */
export function storeLockTarget(layout: StoreLayout): LockTarget {
  return { dir: layout.state, holderFile: layout.lock, label: `store ${layout.root}`, busyCode: "store-locked" };
}

export interface StoreLockOptions extends LockOptions {
  /** Allowed on a replica (`snapshelf sync` itself); every other change is refused there. */
  readonly allowReplica?: boolean;
}

/** A replica (made by `snapshelf sync`) refuses every change but sync's: they are made at its source. */
export async function refuseReplica(layout: StoreLayout, what: string, opts: StoreLockOptions = {}): Promise<void> {
  const { replicaOf } = await readSettings(layout);
  if (replicaOf !== undefined && opts.allowReplica !== true) {
    throw new SnapshelfError(
      "store-is-replica",
      `cannot ${what}: store ${layout.root} is a replica of ${replicaOf}: change the source and run snapshelf sync`,
    );
  }
}

export interface AuditEntry {
  readonly op: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Appends one line to the audit log: what, when, by which OS user. */
export async function appendAudit(layout: StoreLayout, entry: AuditEntry, now = new Date()): Promise<void> {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  const line = JSON.stringify({ time: now.toISOString(), user, op: entry.op, ...entry.detail });
  await appendFile(layout.audit, line + "\n");
}
