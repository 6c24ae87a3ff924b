/**
 * The bench's one table: every figure measured against its baseline in the
 * same run, the ratio, the issue's target and whether it was met. Absolute
 * numbers on shared machines are noise; ratios are what the targets are on.
 */
import { cpus } from "node:os";

export interface Row {
  /** What was measured, with the unit. */
  readonly figure: string;
  readonly snapshelf: number;
  /** The baseline measured in the same run (undefined: the target is absolute). */
  readonly baseline?: number;
  readonly baselineName?: string;
  /** How to compute the ratio: snapshelf/baseline (higher is better) or baseline/snapshelf. */
  readonly ratio?: number;
  /** Human form of the target, e.g. `>= 0.9x`, `< 2 s`. */
  readonly target: string;
  readonly met: boolean;
  readonly note?: string;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpus().length} CPU (${cpu}), node ${process.version}, ${process.platform}/${process.arch}`;
}

/** The table as GitHub-flavoured Markdown (readable in a terminal too). */
export function renderTable(rows: readonly Row[]): string {
  const head = ["figure", "snapshelf", "baseline", "ratio", "target", "verdict"];
  const body = rows.map((r) => [
    r.figure,
    fmt(r.snapshelf),
    r.baseline === undefined ? "-" : `${fmt(r.baseline)}${r.baselineName ? ` (${r.baselineName})` : ""}`,
    r.ratio === undefined ? "-" : `${fmt(r.ratio)}x`,
    r.target,
    r.met ? "met" : "MISSED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`);
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    ...(notes.length ? ["", ...notes] : []),
  ].join("\n");
}
