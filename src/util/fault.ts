/**
 * Fault injection for the crash-consistency tests: `faultPoint(name)` marks a
 * place in a change (import, build, any atomic write) where the process may
 * die. With `SNAPSHELF_FAULT=<name>:<n>` the n-th time that point is reached
 * the process SIGKILLs itself (no cleanup, no `finally`, like a power cut
 * for everything not yet renamed). `*` matches every point, so `*:17` is "the
 * 17th fault point of the run, whichever it is": a test walks n upwards until
 * a run completes. `:n` defaults to 1. With `SNAPSHELF_FAULT_TRACE=1` every
 * point reached is written to stderr (`fault-point <name> <hit>`); with
 * `SNAPSHELF_FAULT_TRACE=time` each line also carries the wall-clock time in
 * milliseconds (fractional), so a test can order the points of several processes.
 *
 * `SNAPSHELF_FAULT_DELAY=<name>:<ms>[,<name>:<ms>...]` pauses the whole process
 * for `ms` milliseconds every time the point is reached (a synchronous sleep, as
 * if the scheduler had set it aside there): the concurrency tests use it to put
 * two processes' steps in every order.
 *
 * Unset (production), a fault point is one property read and a comparison.
 */

interface FaultSpec {
  readonly name: string;
  readonly n: number;
}

let spec: FaultSpec | null | undefined;
let trace: false | "plain" | "time" = false;
let delays = new Map<string, number>();
let total = 0;
const hits = new Map<string, number>();

function parseSpec(raw: string | undefined): FaultSpec | null {
  if (raw === undefined || raw === "") return null;
  const m = /^([A-Za-z0-9*:._-]+?)(?::([1-9][0-9]*))?$/.exec(raw);
  if (!m?.[1]) return null;
  return { name: m[1], n: m[2] === undefined ? 1 : Number(m[2]) };
}

function parseDelays(raw: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of (raw ?? "").split(",")) {
    const m = /^([A-Za-z0-9:._-]+):([0-9]{1,6})$/.exec(item.trim());
    if (m?.[1] && m[2]) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Re-reads the environment and forgets all hits (for tests that set the variables in-process). */
export function resetFaults(): void {
  spec = parseSpec(process.env["SNAPSHELF_FAULT"]);
  const t = process.env["SNAPSHELF_FAULT_TRACE"];
  trace = t === "1" ? "plain" : t === "time" ? "time" : false;
  delays = parseDelays(process.env["SNAPSHELF_FAULT_DELAY"]);
  total = 0;
  hits.clear();
}

/** Blocks this thread for `ms` milliseconds. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A place where a change may be interrupted; see the module comment. */
export function faultPoint(name: string): void {
  if (spec === undefined) resetFaults();
  if (spec === null && !trace && delays.size === 0) return;
  total++;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  if (trace === "plain") process.stderr.write(`fault-point ${name} ${hit}\n`);
  if (trace === "time")
    process.stderr.write(`fault-point ${name} ${hit} ${performance.timeOrigin + performance.now()}\n`);
  const delay = delays.get(name);
  if (delay !== undefined) sleepSync(delay);
  if (spec === null || spec === undefined) return;
  const count = spec.name === "*" ? total : spec.name === name ? hit : 0;
  if (count === spec.n) {
    process.stderr.write(`fault: killing at ${name} (hit ${hit})\n`);
    process.kill(process.pid, "SIGKILL");
  }
}
