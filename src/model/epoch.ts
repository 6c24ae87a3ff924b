/**
 * Epochs (snapd `snap/epoch.go` semantics): parsing the snap.yaml and JSON
 * forms, the "can read" relation, and snapd's string form. Pure, no I/O.
 */
import { SnapshelfError } from "../util/errors.js";
import type { Epoch } from "./types.js";

/** The default epoch `0`. */
export const ZERO_EPOCH: Epoch = Object.freeze({ read: Object.freeze([0]), write: Object.freeze([0]) });

const MAX_EPOCH_LIST = 10;
const UINT32_LIMIT = 2 ** 32;

function invalid(v: unknown, reason: string): SnapshelfError {
  let shown: string;
  try {
    shown = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    shown = String(v);
  }
  return new SnapshelfError("invalid-epoch", `cannot parse epoch ${shown}: ${reason}`);
}

/** An epoch number: base 10, no zero padding, below 2³². */
function parseEpochNumber(whole: unknown, v: unknown): number {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) {
      throw invalid(whole, `epoch numbers must be non-negative integers, but got ${v}`);
    }
    if (v >= UINT32_LIMIT) throw invalid(whole, `epoch numbers must be less than 2³², but got ${v}`);
    return v;
  }
  if (typeof v === "string") {
    if (!/^(0|[1-9][0-9]*)$/.test(v)) {
      throw invalid(whole, `epoch numbers must be base 10 with no zero padding, but got ${JSON.stringify(v)}`);
    }
    const n = Number(v);
    if (n >= UINT32_LIMIT) throw invalid(whole, `epoch numbers must be less than 2³², but got ${JSON.stringify(v)}`);
    return n;
  }
  throw invalid(whole, "epoch read/write attributes must be lists of epoch numbers");
}

function parseShort(whole: unknown, s: string): Epoch {
  if (s === "" || s === "0") return ZERO_EPOCH;
  const star = s.endsWith("*");
  const n = parseEpochNumber(whole, star ? s.slice(0, -1) : s);
  if (star) {
    if (n === 0) throw invalid(whole, "0* is an invalid epoch");
    return { read: [n - 1, n], write: [n] };
  }
  return { read: [n], write: [n] };
}

function parseList(whole: unknown, v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid(whole, "epoch read/write attributes must be lists of epoch numbers");
  return v.map((x: unknown) => parseEpochNumber(whole, x));
}

function isStrictlyIncreasing(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) {
    if ((xs[i - 1] ?? 0) >= (xs[i] ?? 0)) return false;
  }
  return true;
}

function intersects(a: readonly number[], b: readonly number[]): boolean {
  return a.some((x) => b.includes(x));
}

function isZeroList(xs: readonly number[]): boolean {
  return xs.length === 0 || (xs.length === 1 && xs[0] === 0);
}

/** Whether an epoch is `0` (also `{read:[0]}`-like forms and empty lists, as snapd's IsZero). */
export function isZeroEpoch(e: Epoch): boolean {
  return isZeroList(e.read) && isZeroList(e.write);
}

function parseStructured(whole: unknown, o: Record<string, unknown>): Epoch {
  let read = parseList(whole, o["read"]);
  let write = parseList(whole, o["write"]);
  // snapd: read defaults to write, write defaults to the last read; both unset = 0.
  if (read === undefined) {
    write ??= [0];
    read = write;
  } else if (read.length === 0) {
    throw invalid(whole, "epoch list cannot be explicitly empty");
  }
  if (write === undefined) {
    write = read.slice(-1);
  } else if (write.length === 0) {
    throw invalid(whole, "epoch list cannot be explicitly empty");
  }
  const e: Epoch = { read, write };
  if (isZeroEpoch(e)) return ZERO_EPOCH;
  if (read.length > MAX_EPOCH_LIST || write.length > MAX_EPOCH_LIST) {
    throw invalid(whole, "epoch list must not have more than 10 entries");
  }
  if (!isStrictlyIncreasing(read) || !isStrictlyIncreasing(write)) {
    throw invalid(whole, "epoch list must be a strictly increasing sequence");
  }
  if (!intersects(read, write)) throw invalid(whole, "epoch read and write lists must have a non-empty intersection");
  return e;
}

/**
 * Parses an epoch as snap.yaml or snapd's JSON carry it: absent (`undefined`
 * or `null`) = 0; `"N"`/`N`; `"N*"` (reads N-1 and N, writes N; N ≥ 1);
 * `{read: [...], write: [...]}` where read defaults to write and write to the
 * last read (snapd's rule), lists of at most 10 strictly increasing uint32
 * that must intersect.
 * @throws SnapshelfError `invalid-epoch`.
 */
export function parseEpoch(v: unknown): Epoch {
  if (v === undefined || v === null) return ZERO_EPOCH;
  if (typeof v === "string") return parseShort(v, v);
  if (typeof v === "number") {
    const n = parseEpochNumber(v, v);
    return n === 0 ? ZERO_EPOCH : { read: [n], write: [n] };
  }
  if (typeof v === "object" && !Array.isArray(v)) return parseStructured(v, v as Record<string, unknown>);
  throw invalid(v, "epoch must be a number, a string or a read/write object");
}

function orZero(xs: readonly number[]): readonly number[] {
  return xs.length === 0 ? [0] : xs;
}

/**
 * Whether a revision with epoch `reader` can read the data written by an
 * installed revision with epoch `installed`: `reader.read ∩ installed.write ≠ ∅`
 * (empty lists count as `[0]`).
 */
export function canRead(reader: Epoch, installed: Epoch): boolean {
  return intersects(orZero(reader.read), orZero(installed.write));
}

/**
 * snapd's `Epoch.String()`: `"0"`, `"N"`, `"N*"`, else compact JSON
 * `{"read":[...],"write":[...]}`.
 */
export function formatEpoch(e: Epoch): string {
  if (isZeroEpoch(e)) return "0";
  const [r0, r1] = e.read;
  const [w0] = e.write;
  if (e.write.length === 1 && e.read.length === 1 && r0 === w0) return String(r0);
  if (
    e.write.length === 1 &&
    e.read.length === 2 &&
    r0 !== undefined &&
    r1 !== undefined &&
    r0 + 1 === r1 &&
    r1 === w0
  ) {
    return `${r1}*`;
  }
  return JSON.stringify({ read: e.read, write: e.write });
}

function listEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** snapd's `Epoch.Equal`: all zero forms are equal, otherwise the lists must match. */
export function epochEquals(a: Epoch, b: Epoch): boolean {
  if (isZeroEpoch(a)) return isZeroEpoch(b);
  return listEquals(a.read, b.read) && listEquals(a.write, b.write);
}

/** The wire form `{read, write}` with empty lists as `[0]` (snapd's MarshalJSON). */
export function toEpochJson(e: Epoch): { read: number[]; write: number[] } {
  return { read: [...orZero(e.read)], write: [...orZero(e.write)] };
}
