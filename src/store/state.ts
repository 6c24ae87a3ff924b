/**
 * I/O edge of the store directory: records, settings, the change lock and the
 * audit log. Every write goes to a temporary name and is renamed into place.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { SnapshelfError } from "../util/errors.js";
import { writeJsonAtomic } from "../util/fs.js";
import type { StoreLayout } from "./layout.js";
import { emptyRecords, RECORDS_FORMAT, type Records } from "./records.js";

export interface StoreSettings {
  readonly format: number;
  /** Base URL devices reach the store at (download URLs are built from it). */
  readonly baseUrl?: string;
  /** Retention: revisions kept per channel and arch by gc (absent = keep all); see src/ops/retention.ts. */
  readonly keepRevisions?: number;
  /** Also apply `keepRevisions` at every import. */
  readonly retainOnImport?: boolean;
  /** Generations gc keeps besides the one in service (absent = 5). */
  readonly keepGenerations?: number;
}

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";

export async function readRecords(layout: StoreLayout): Promise<Records> {
  let text: string;
  try {
    text = await readFile(layout.records, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyRecords();
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SnapshelfError("store-corrupt", `cannot read ${layout.records}: ${(err as Error).message}`);
  }
  const r = value as Records;
  if (typeof r !== "object" || r === null || r.format !== RECORDS_FORMAT || !Array.isArray(r.revisions)) {
    throw new SnapshelfError("store-corrupt", `cannot read ${layout.records}: unsupported records format`);
  }
  return r;
}

export async function writeRecords(layout: StoreLayout, records: Records): Promise<void> {
  await mkdir(layout.state, { recursive: true });
  await writeJsonAtomic(layout.records, records);
}

export async function readSettings(layout: StoreLayout): Promise<StoreSettings> {
  try {
    const v = JSON.parse(await readFile(layout.settings, "utf8")) as StoreSettings;
    return v;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { format: 1 };
    throw new SnapshelfError("store-corrupt", `cannot read ${layout.settings}: ${(err as Error).message}`);
  }
}

export async function writeSettings(layout: StoreLayout, settings: StoreSettings): Promise<void> {
  await mkdir(layout.root, { recursive: true });
  await writeJsonAtomic(layout.settings, settings);
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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `fn` holding the store's change lock. A lock left by a dead process
 * (an interrupted import) is taken over; one held by a live process is an error.
 */
export async function withStoreLock<T>(layout: StoreLayout, what: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(layout.state, { recursive: true });
  let fd: number;
  try {
    fd = openSync(layout.lock, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const holder = Number.parseInt(readFileSync(layout.lock, "utf8").trim(), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && pidAlive(holder) && holder !== process.pid) {
      throw new SnapshelfError("store-locked", `cannot ${what}: store ${layout.root} is busy (process ${holder})`);
    }
    unlinkSync(layout.lock);
    fd = openSync(layout.lock, "wx");
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
  try {
    return await fn();
  } finally {
    await rm(layout.tmp, { recursive: true, force: true });
    try {
      unlinkSync(layout.lock);
    } catch {
      // already gone
    }
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
