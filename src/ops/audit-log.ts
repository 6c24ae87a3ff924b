/**
 * log: read state/audit.jsonl, one JSON object per change
 * (`{time, user, op, ...detail}`, written by `appendAudit`). A line that does
 * not parse (a crash mid-append) is reported, never fatal.
 */
import { readFile } from "node:fs/promises";
import type { StoreLayout } from "../store/layout.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError } from "../util/fs.js";

export interface AuditRecord {
  readonly time: string;
  readonly user: string;
  readonly op: string;
  /** Everything else on the line (what the change was about). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditLog {
  readonly entries: readonly AuditRecord[];
  /** Lines that are not audit records: `line N: reason`. */
  readonly bad: readonly string[];
}

/** Pure: parses the audit log text. */
export function parseAuditLog(text: string): AuditLog {
  const entries: AuditRecord[] = [];
  const bad: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      bad.push(`line ${i + 1}: not JSON`);
      return;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      bad.push(`line ${i + 1}: not an object`);
      return;
    }
    const { time, user, op, ...detail } = v as Record<string, unknown>;
    if (typeof time !== "string" || typeof op !== "string" || Number.isNaN(Date.parse(time))) {
      bad.push(`line ${i + 1}: no time or op`);
      return;
    }
    entries.push({ time, user: typeof user === "string" ? user : "unknown", op, detail });
  });
  return { entries, bad };
}

/**
 * Pure: a `--since` argument as a time. Accepts an RFC 3339 / ISO 8601 date or
 * time (`2026-11-01`, `2026-11-01T12:00:00Z`) or an age: `90s`, `30m`, `12h`,
 * `7d`, `2w` before `now`.
 */
export function parseSince(arg: string, now: Date): Date {
  const m = /^([0-9]+)([smhdw])$/.exec(arg.trim());
  if (m?.[1] && m[2]) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
    return new Date(now.getTime() - Number(m[1]) * unit * 1000);
  }
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(arg.trim())) {
    const t = Date.parse(arg.trim());
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new SnapshelfError(
    "invalid-since",
    `cannot use --since "${arg}": want a date (2026-11-01, 2026-11-01T12:00:00Z) or an age (30m, 12h, 7d)`,
  );
}

/** Pure: entries at or after `since` (and of `op`, if given), in log order. */
export function filterAudit(entries: readonly AuditRecord[], since?: Date, op?: string): AuditRecord[] {
  return entries.filter(
    (e) => (since === undefined || Date.parse(e.time) >= since.getTime()) && (op === undefined || e.op === op),
  );
}

/** Reads the audit log (empty when nothing was ever changed). */
export async function readAuditLog(layout: StoreLayout): Promise<AuditLog> {
  let text: string;
  try {
    text = await readFile(layout.audit, "utf8");
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return { entries: [], bad: [] };
    throw new SnapshelfError("store-corrupt", `cannot read ${layout.audit}: ${fsErrorReason(err)}`);
  }
  return parseAuditLog(text);
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(formatValue).join(",");
  if (typeof v === "string") return /\s/.test(v) || v === "" ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One line for humans: `TIME USER OP key=value ...`. */
export function formatAuditLine(e: AuditRecord): string {
  const detail = Object.entries(e.detail)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(" ");
  return `${e.time} ${e.user} ${e.op}${detail ? ` ${detail}` : ""}`;
}
