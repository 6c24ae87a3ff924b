/**
 * `serve --workers N`: N server processes sharing one listening socket
 * (node:cluster). Each worker is a complete `serve`: it loads the generation
 * in service and follows `current` on its own; the kernel hands each new
 * connection to one of them (SCHED_NONE: the primary only creates the socket;
 * its round-robin hand-off doubled p99 under load in the bench). The primary
 * serves nothing: it starts the workers, reports the URL once all listen,
 * passes SIGHUP on, stops them on SIGTERM/SIGINT, and replaces a worker that
 * dies while serving (a worker that fails before listening, e.g. nothing
 * built yet, stops the whole command with that worker's error).
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { SnapshelfError } from "../util/errors.js";

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  readonly snapshelf: "listening";
  readonly url: string;
}

function isListening(m: unknown): m is ListeningMessage {
  return typeof m === "object" && m !== null && (m as { snapshelf?: unknown }).snapshelf === "listening";
}

/** `--workers` value: a positive count, or `auto` (one per CPU). */
export function parseWorkers(v: string): number {
  if (v === "auto") return availableParallelism();
  const n = Number(v);
  if (!/^[1-9][0-9]*$/.test(v) || n > 256) {
    throw new SnapshelfError("bad-workers", `cannot use --workers ${v}: want a count 1..256 or "auto"`);
  }
  return n;
}

/** In a worker: tell the primary this worker listens at `url`. */
export function reportListening(url: string): void {
  const m: ListeningMessage = { snapshelf: "listening", url };
  process.send?.(m);
}

/** Replacements allowed per minute before the primary gives up (a worker crashing in a loop). */
const MAX_RESTARTS_PER_MINUTE = 10;

/**
 * Runs in the primary: forks `count` workers running this same command line,
 * resolves with the URL once every one listens; `log` gets what the primary
 * has to say afterwards (replacements, stops).
 */
export function startWorkers(count: number, log: (line: string) => void): Promise<string> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ args: process.argv.slice(2), silent: false });
  let stopping = false;
  const restarts: number[] = [];
  const listening = new Set<Worker>();

  return new Promise<string>((resolve, reject) => {
    let url: string | undefined;
    const fork = (): void => {
      const w = cluster.fork({ SNAPSHELF_SERVE_WORKER: "1" });
      w.on("message", (m: unknown) => {
        if (!isListening(m)) return;
        listening.add(w);
        url = m.url;
        if (listening.size === count) resolve(url);
      });
      w.on("exit", (code, signal) => {
        const wasListening = listening.delete(w);
        if (stopping) return;
        if (!wasListening && url === undefined) {
          // failed at start-up: its error is on stderr already; stop the others and fail the command
          stopping = true;
          for (const other of Object.values(cluster.workers ?? {})) other?.kill();
          reject(
            new SnapshelfError(
              "worker-failed",
              `cannot serve: a worker stopped before listening (exit ${code ?? signal})`,
            ),
          );
          return;
        }
        const now = Date.now();
        while (restarts.length > 0 && (restarts[0] ?? 0) < now - 60_000) restarts.shift();
        if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
          log(`error: worker ${w.process.pid} stopped (${code ?? signal}); too many restarts, not replacing it`);
          return;
        }
        restarts.push(now);
        log(`worker ${w.process.pid} stopped (${code ?? signal}); starting another`);
        fork();
      });
    };
    for (let i = 0; i < count; i++) fork();

    process.on("SIGHUP", () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGHUP");
    });
    const stop = (): void => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      let left = workers.length;
      if (left === 0) process.exit(0);
      for (const w of workers) {
        w.once("exit", () => {
          if (--left === 0) process.exit(0);
        });
        w.process.kill("SIGTERM");
      }
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

/** Whether this process is a serve worker started by `startWorkers`. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env["SNAPSHELF_SERVE_WORKER"] === "1";
}
