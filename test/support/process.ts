/**
 * Child processes for tests: one-shot commands with a hard timeout, and
 * long-running servers that are ready once they print a line. Every child runs
 * in its own process group so a timeout or `stop()` also ends what it spawned
 * (check.sh's `timeout`, probe, snap-testkeys, ...). Every wait is bounded and
 * fails with the command and the tail of its output.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { verbose } from "./work-dir.js";

/** How many trailing output lines error messages quote. */
const TAIL_LINES = 40;

type Env = Record<string, string | undefined>;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills the child's whole process group (it was spawned detached, so pgid == pid). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last resort: a test that forgot stop() (or threw before it) must not leave
  // a server behind holding a port
  process.once("exit", () => {
    for (const c of running) killGroup(c, "SIGKILL");
  });
}

function spawnTracked(cmd: string, args: readonly string[], opts: { env?: Env; cwd?: string }): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  track(child);
  return child;
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

function tail(lines: readonly string[]): string {
  return lines.slice(-TAIL_LINES).join("\n");
}

/** Waits for `exit` without hanging forever; resolves false on timeout. */
function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

/** SIGTERM the group, then SIGKILL if it has not exited after `graceMs`. */
async function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child, "SIGTERM");
  if (await waitExit(child, graceMs)) return;
  killGroup(child, "SIGKILL");
  await waitExit(child, graceMs);
}

export interface RunOptions {
  env?: Env;
  cwd?: string;
  /** Hard limit for the whole command; the process group is killed after it. Default 120 s. */
  timeoutMs?: number;
  /** Called with each output line (stdout and stderr) as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface RunResult {
  /** Exit status, or null if killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion, collecting its output. Never rejects on a non-zero exit; check `code`. */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args, opts);
    const out: string[] = [];
    const err: string[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void terminate(child);
    }, timeoutMs);
    const mirror = verbose();
    const lineReaders: Promise<void>[] = [];
    for (const [stream, sink] of [
      ["stdout", out],
      ["stderr", err],
    ] as const) {
      const src = child[stream];
      if (src === null) continue;
      const rl = createInterface({ input: src, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on("line", (line) => {
        sink.push(line);
        opts.onLine?.(line, stream);
        if (mirror && opts.onLine === undefined) process.stderr.write(`[${cmd.split("/").pop()}] ${line}\n`);
      });
      lineReaders.push(new Promise((done) => rl.once("close", () => done())));
    }
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${describe(cmd, args)}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      void Promise.all(lineReaders).then(() =>
        resolve({
          code,
          signal,
          stdout: out.length > 0 ? `${out.join("\n")}\n` : "",
          stderr: err.length > 0 ? `${err.join("\n")}\n` : "",
          timedOut,
        }),
      );
    });
  });
}

/** Like `runCommand`, but rejects unless the command exits 0; the error quotes its output. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await runCommand(cmd, args, opts);
  if (res.code === 0) return res;
  const why = res.timedOut
    ? `timed out after ${opts.timeoutMs ?? 120_000} ms`
    : res.code === null
      ? `killed by ${res.signal}`
      : `exit status ${res.code}`;
  const output = tail(`${res.stdout}${res.stderr}`.trimEnd().split("\n"));
  throw new Error(`${describe(cmd, args)}: ${why}\n${output}`);
}

export interface StartOptions {
  env?: Env;
  cwd?: string;
  /**
   * The line on stdout or stderr that means "ready". Its named group `url`, or
   * else its first group, becomes `url`. Default: `serving <URL>`. `null`: do
   * not wait for any line (e.g. snapd's fakestore prints nothing; poll it with
   * `waitForHttp`).
   */
  ready?: RegExp | null;
  /** Bound on the wait for `ready`. Default 30 s. */
  timeoutMs?: number;
  /** Append all output here as well. */
  logFile?: string;
}

export interface StartedProcess {
  /** From the ready line, if it captured one. */
  url?: string;
  child: ChildProcess;
  /** The last output lines (stdout and stderr interleaved), for error messages. */
  output(): string;
  /** True until the process exits. */
  alive(): boolean;
  /** SIGTERM (then SIGKILL) the process group and wait for it; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_READY = /\bserving (?<url>https?:\/\/\S+)/;

/**
 * Starts a long-running process (a server) and waits until it prints a line
 * matching `ready`. Rejects, after killing it, if it exits first or the line
 * does not come within `timeoutMs`. Stop it in `t.after(() => p.stop())`.
 */
export function startProcess(cmd: string, args: readonly string[], opts: StartOptions = {}): Promise<StartedProcess> {
  const ready = opts.ready === undefined ? DEFAULT_READY : opts.ready;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawnTracked(cmd, args, opts);
  const lines: string[] = [];
  const log: WriteStream | undefined =
    opts.logFile === undefined ? undefined : createWriteStream(opts.logFile, { flags: "a" });
  log?.on("error", (e) => process.stderr.write(`cannot write ${opts.logFile}: ${e.message}\n`));
  const mirror = verbose();
  const name = cmd.split("/").pop() ?? cmd;
  let stopping: Promise<void> | undefined;

  const handle = (url: string | undefined): StartedProcess => ({
    ...(url === undefined ? {} : { url }),
    child,
    output: () => tail(lines),
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => {
      stopping ??= terminate(child).then(
        () =>
          new Promise<void>((done) => {
            if (log === undefined) done();
            else log.end(() => done());
          }),
      );
      return stopping;
    },
  });

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const message = `cannot start ${describe(cmd, args)}: ${why}\n${tail(lines)}`;
      void handle(undefined)
        .stop()
        .then(() => reject(new Error(message)));
    };
    const timer = setTimeout(() => fail(`no line matching ${String(ready)} within ${timeoutMs} ms`), timeoutMs);
    for (const stream of ["stdout", "stderr"] as const) {
      const src = child[stream];
      if (src === null) continue;
      createInterface({ input: src, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
        lines.push(line);
        if (lines.length > 10 * TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
        log?.write(`${line}\n`);
        if (mirror) process.stderr.write(`[${name}] ${line}\n`);
        if (settled || ready === null) return;
        const m = ready.exec(line);
        if (m === null) return;
        settled = true;
        clearTimeout(timer);
        resolve(handle(m.groups?.["url"] ?? m[1]));
      });
    }
    child.once("error", (e) => fail(e.message));
    child.once("exit", (code, signal) =>
      fail(`exited (${code === null ? `signal ${signal}` : `status ${code}`}) before ready`),
    );
    if (ready === null) {
      // give an immediate failure (bad flags, missing binary) a moment to show
      setTimeout(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(handle(undefined));
      }, 100);
    }
  });
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; there is a small race until it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("cannot pick a free port"))));
    });
  });
}

/**
 * Polls `url` until it answers any HTTP status (returned), or rejects after
 * `timeoutMs`. Pass `proc` to fail fast when the server dies instead.
 */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs?: number; proc?: StartedProcess } = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last = "no attempt";
  while (Date.now() < deadline) {
    if (opts.proc !== undefined && !opts.proc.alive()) {
      throw new Error(`cannot reach ${url}: the server exited\n${opts.proc.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status;
    } catch (e) {
      last = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cannot reach ${url} within ${timeoutMs} ms: ${last}`);
}
