/**
 * Fault injection for the crash-consistency tests: `faultPoint(name)` marks a
 * place in a change (import, build, any atomic write) where the process may
 * die. With `SNAPSHELF_FAULT=<name>:<n>` the n-th time that point is reached
 * the process SIGKILLs itself (no cleanup, no `finally`, like a power cut
 * for everything not yet renamed). `*` matches every point, so `*:17` is "the
 * 17th fault point of the run, whichever it is": a test walks n upwards until
 * a run completes. `:n` defaults to 1. With `SNAPSHELF_FAULT_TRACE=1` every
 * point reached is written to stderr (`fault-point <name> <hit>`).
 *
 * Unset (production), a fault point is one property read and a comparison.
 */

interface FaultSpec {
  readonly name: string;
  readonly n: number;
}

let spec: FaultSpec | null | undefined;
let trace = false;
let total = 0;
const hits = new Map<string, number>();

function parseSpec(raw: string | undefined): FaultSpec | null {
  if (raw === undefined || raw === "") return null;
  const m = /^([A-Za-z0-9*:._-]+?)(?::([1-9][0-9]*))?$/.exec(raw);
  if (!m?.[1]) return null;
  return { name: m[1], n: m[2] === undefined ? 1 : Number(m[2]) };
}

/** Re-reads the environment and forgets all hits (for tests that set the variables in-process). */
export function resetFaults(): void {
  spec = parseSpec(process.env["SNAPSHELF_FAULT"]);
  trace = process.env["SNAPSHELF_FAULT_TRACE"] === "1";
  total = 0;
  hits.clear();
}

/** A place where a change may be interrupted; see the module comment. */
export function faultPoint(name: string): void {
  if (spec === undefined) resetFaults();
  if (spec === null && !trace) return;
  total++;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  if (trace) process.stderr.write(`fault-point ${name} ${hit}\n`);
  if (spec === null || spec === undefined) return;
  const count = spec.name === "*" ? total : spec.name === name ? hit : 0;
  if (count === spec.n) {
    process.stderr.write(`fault: killing at ${name} (hit ${hit})\n`);
    process.kill(process.pid, "SIGKILL");
  }
}
