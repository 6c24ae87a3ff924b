/**
 * The change lock of a directory (the store's `state/`, an export directory).
 *
 * The lock itself is a Linux abstract-namespace Unix socket whose name is
 * derived from the directory's device and inode numbers
 * (`\0snapshelf-lock-<dev>-<ino>`): binding it is one system call that
 * succeeds for exactly one process (`EADDRINUSE` for every other), and the
 * kernel releases it when the holder's socket closes, including when the
 * holder is SIGKILLed. There is nothing to take over: a dead holder holds
 * nothing, so no process ever reads a PID, deletes a lock and creates one.
 * Node 20 has no flock(2); a native flock addon would complicate the .deb
 * (its bundled node binary's ABI), and a lock file with a staleness rule
 * (proper-lockfile, lockfile) removes a stale lock and creates a new one in two
 * steps, which is the race this module exists to close.
 *
 * Scope: the socket name lives in the network namespace, so processes that
 * change one store must share it (containers with their own network namespace
 * and a shared store directory are not excluded from each other), and any
 * local process of that namespace can hold the name (keeping changes waiting,
 * never letting two run at once).
 *
 * Beside it, a small holder file (`state/lock`, an export's `.lock`) says who
 * holds the lock: `{"verb", "pid", "since"}`, written atomically once the
 * lock is held and removed before it is released. It is information only: a
 * file left by a killed holder is overwritten by the next one, and one that
 * names a dead process is reported as such.
 */
import { readFile, stat } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { SnapshelfError } from "./errors.js";
import { faultPoint } from "./fault.js";
import { isErrnoError, unlinkQuiet, writeJsonAtomic } from "./fs.js";

/** What a lock protects and how its messages name it. */
export interface LockTarget {
  /** The directory (or file: an export's signing key) whose identity (device, inode) names the lock; it must exist. */
  readonly dir: string;
  /** The holder file. */
  readonly holderFile: string;
  /** How messages name the locked thing, e.g. `store /srv/snaps`. */
  readonly label: string;
  /** Error code of the busy error. */
  readonly busyCode: string;
}

/** Who holds a lock (the holder file). */
export interface LockHolder {
  /** The change it makes, as in `cannot <verb>`: `import`, `build`, `roll back`... */
  readonly verb: string;
  readonly pid: number;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
}

/** Waiting for a busy lock (`--wait[=SECONDS]`). */
export interface LockWait {
  /** Longest wait, in seconds. */
  readonly seconds: number;
  /** Told once, when the wait starts, who is waited for. */
  readonly onWait?: (line: string) => void;
}

export interface LockOptions {
  /** Without it a busy lock fails at once. */
  readonly wait?: LockWait;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** Default of a bare `--wait`: one hour, so a stuck change cannot pile up cron jobs forever. */
export const DEFAULT_WAIT_SECONDS = 3600;

const POLL_MS = 100;
/** How long a held lock may go without a holder file naming a live process before the holder is called unknown. */
const UNKNOWN_TRIES = 20;
const UNKNOWN_MS = 50;

/** True while process `pid` exists (EPERM: it exists, owned by another user). The one liveness check. */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrnoError(err) && err.code === "EPERM";
  }
}

async function socketName(dir: string): Promise<string> {
  const st = await stat(dir, { bigint: true });
  return `\0snapshelf-lock-${st.dev}-${st.ino}`;
}

function bind(name: string): Promise<Server | undefined> {
  // a connection (a `status` probe) learns the lock is held; it is closed at once
  const server = createServer((c) => c.destroy());
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.close();
      if (isErrnoError(err) && err.code === "EADDRINUSE") resolve(undefined);
      else reject(err);
    };
    server.once("error", onError);
    server.listen({ path: name, exclusive: true }, () => {
      server.off("error", onError);
      // holding the lock must not keep a finished process alive (the kernel releases it at exit)
      server.unref();
      resolve(server);
    });
  });
}

/** Whether some process holds the lock named `name` now (a connection probe: nothing is bound). */
function probe(name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ path: name });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", (err) => {
      c.destroy();
      if (isErrnoError(err) && err.code === "ECONNREFUSED") resolve(false);
      // a full backlog: someone listens
      else if (isErrnoError(err) && err.code === "EAGAIN") resolve(true);
      else reject(err);
    });
  });
}

/** The holder file's content, if it is one (a file of an older version held only a PID). */
export async function readHolder(file: string): Promise<LockHolder | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { verb, pid, since } = v;
  if (typeof verb !== "string" || typeof pid !== "number" || typeof since !== "string") return undefined;
  return { verb, pid, since };
}

/** The holder file's holder if it names a live process (a killed holder's file names a dead one). */
async function liveHolder(file: string): Promise<LockHolder | undefined> {
  const h = await readHolder(file);
  return h !== undefined && processAlive(h.pid) ? h : undefined;
}

/** The holder of a lock found held, allowing a new holder a moment to write its file. */
async function currentHolder(file: string): Promise<LockHolder | undefined> {
  for (let i = 0; i < UNKNOWN_TRIES; i++) {
    const h = await liveHolder(file);
    if (h !== undefined) return h;
    await sleep(UNKNOWN_MS);
  }
  return undefined;
}

/** How the busy error, the wait note and `status` describe a holder. */
export function describeHolder(h: LockHolder | undefined): string {
  return h === undefined ? "a change by another process" : `${h.verb} by process ${h.pid} since ${h.since}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Takes the lock for `verb`, or fails at once with
 * `cannot <verb>: <label> is busy: <verb> by process <pid> since <time> (use --wait to wait)`;
 * with `wait`, polls until the holder ends, for at most `wait.seconds`.
 */
export async function acquireLock(target: LockTarget, verb: string, opts: LockOptions = {}): Promise<HeldLock> {
  const name = await socketName(target.dir);
  const deadline = Date.now() + (opts.wait?.seconds ?? 0) * 1000;
  let told = false;
  let unknown = 0;
  let server: Server | undefined;
  for (;;) {
    faultPoint("lock:before-bind");
    server = await bind(name);
    if (server !== undefined) break;
    const holder = await liveHolder(target.holderFile);
    // a new holder writes its file just after taking the lock, and a holder that ends removes it
    // just before releasing: try again for a moment before calling the holder unknown
    if (holder === undefined && unknown++ < UNKNOWN_TRIES) {
      await sleep(UNKNOWN_MS);
      continue;
    }
    if (opts.wait === undefined || Date.now() >= deadline) {
      const waited = opts.wait === undefined ? "use --wait to wait" : `waited ${opts.wait.seconds} s`;
      throw new SnapshelfError(
        target.busyCode,
        `cannot ${verb}: ${target.label} is busy: ${describeHolder(holder)} (${waited})`,
      );
    }
    if (!told) {
      opts.wait.onWait?.(`waiting for ${target.label}: ${describeHolder(holder)}`);
      told = true;
    }
    await sleep(Math.max(1, Math.min(POLL_MS, deadline - Date.now())));
  }
  const held = server;
  faultPoint("lock:bound");
  try {
    const holder: LockHolder = { verb, pid: process.pid, since: new Date().toISOString() };
    await writeJsonAtomic(target.holderFile, holder);
  } catch (err) {
    held.close();
    throw err;
  }
  faultPoint("lock:held");
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      faultPoint("lock:before-release");
      try {
        await unlinkQuiet(target.holderFile);
      } finally {
        await new Promise<void>((r) => held.close(() => r()));
      }
    },
  };
}

/** Runs `fn` holding the lock (see `acquireLock`). */
export async function withLock<T>(
  target: LockTarget,
  verb: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const lock = await acquireLock(target, verb, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** A lock's state as the next change would find it. */
export type LockState =
  | { readonly held: true; readonly holder?: LockHolder }
  /** Free; `left` is the holder file a killed holder left behind (the next change overwrites it). */
  | { readonly held: false; readonly left?: LockHolder };

/** The lock's state, without taking it (a `status` look). */
export async function lockState(target: LockTarget): Promise<LockState> {
  let name: string;
  try {
    name = await socketName(target.dir);
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return { held: false };
    throw err;
  }
  if (await probe(name)) {
    const holder = await currentHolder(target.holderFile);
    return holder === undefined ? { held: true } : { held: true, holder };
  }
  const left = await readHolder(target.holderFile);
  return left === undefined ? { held: false } : { held: false, left };
}
