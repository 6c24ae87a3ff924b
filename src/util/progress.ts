/**
 * Progress of long work on stderr. On a terminal: one status line updated in
 * place (at most ~10 times a second) with per-blob and overall bytes. Not on
 * a terminal (pipes, logs, CI): only sparse lines, one per finished blob.
 * `quiet`: nothing but warnings.
 */

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(chunk: string): boolean;
}

export interface ProgressOptions {
  readonly quiet?: boolean;
  /** What the status line says is going on (default: downloading blobs). */
  readonly activity?: { readonly doing: string; readonly things: string };
  /** Milliseconds clock (injectable for tests). */
  readonly now?: () => number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `45s`, `2m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class Progress {
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly now: () => number;
  private readonly activity: { readonly doing: string; readonly things: string };
  private status = "";
  private lastDraw = 0;
  private totalBytes = 0;
  private totalBlobs = 0;
  private doneBlobs = 0;
  private doneBytes = 0;
  private readonly active = new Map<string, { bytes: number; size: number }>();
  /** When the first bytes were announced, and bytes that took no time (already there): for the rate. */
  private startedAt: number | undefined;
  private instantBytes = 0;

  constructor(
    private readonly out: ProgressStream,
    opts: ProgressOptions = {},
  ) {
    this.tty = out.isTTY === true && !process.env["CI"];
    this.quiet = opts.quiet ?? false;
    this.now = opts.now ?? Date.now;
    this.activity = opts.activity ?? { doing: "downloading", things: "blobs" };
  }

  private clear(): void {
    if (this.tty && this.status !== "") {
      this.out.write("\r\x1b[K");
      this.status = "";
    }
  }

  private draw(force = false): void {
    if (!this.tty || this.quiet || (this.totalBlobs === 0 && this.active.size === 0)) return;
    const t = this.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    let current = 0;
    const names: string[] = [];
    for (const [label, a] of this.active) {
      current += a.bytes;
      const pct = a.size > 0 ? Math.floor((100 * a.bytes) / a.size) : 100;
      names.push(`${label} ${pct}%`);
    }
    const line = `${this.activity.doing} ${this.doneBlobs}/${this.totalBlobs} ${this.activity.things}, ${formatBytes(this.doneBytes + current)} of ${formatBytes(this.totalBytes)}${this.rateAndEta(t, this.doneBytes + current)}${names.length > 0 ? `: ${names.join(", ")}` : ""}`;
    // a pseudo-terminal may report no size (0)
    const columns = (this.out as { columns?: number }).columns ?? 0;
    const width = columns >= 20 ? columns : 100;
    this.status = line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
    this.out.write(`\r\x1b[K${this.status}`);
  }

  /** `, 12 MiB/s, 1m05s left` once a second has passed and bytes moved; "" before and when done. */
  private rateAndEta(t: number, bytes: number): string {
    if (this.startedAt === undefined || bytes >= this.totalBytes) return "";
    const seconds = (t - this.startedAt) / 1000;
    const moved = bytes - this.instantBytes;
    if (seconds < 1 || moved <= 0) return "";
    const rate = moved / seconds;
    return `, ${formatBytes(Math.round(rate))}/s, ${formatDuration((this.totalBytes - bytes) / rate)} left`;
  }

  /** A line that stays (progress notes; suppressed when quiet). */
  note(line: string): void {
    if (this.quiet) return;
    this.clear();
    this.out.write(`${line}\n`);
    this.draw(true);
  }

  /** A warning: always shown. */
  warn(line: string): void {
    this.clear();
    this.out.write(`warning: ${line}\n`);
    this.draw(true);
  }

  startDownloads(blobs: number, bytes: number): void {
    this.startedAt ??= this.now();
    this.totalBlobs += blobs;
    this.totalBytes += bytes;
    this.draw(true);
  }

  blobProgress(label: string, bytes: number, size: number): void {
    this.active.set(label, { bytes, size });
    this.draw();
  }

  /** A blob is done; `quietly`: no line of its own off a terminal (the caller logs its own). */
  blobDone(label: string, size: number, how: "downloaded" | "cached" | "quietly"): void {
    this.active.delete(label);
    this.doneBlobs++;
    this.doneBytes += size;
    if (how === "cached") this.instantBytes += size;
    if (this.tty) {
      this.draw(true);
    } else if (!this.quiet && how !== "quietly") {
      this.out.write(
        how === "cached"
          ? `${label}: already downloaded (${formatBytes(size)})\n`
          : `downloaded ${label} (${formatBytes(size)}), ${this.doneBlobs}/${this.totalBlobs}\n`,
      );
    }
  }

  /** Ends the status line. */
  finish(): void {
    this.clear();
  }
}
