/**
 * The real snapd daemon (test-keys build) in a private mount namespace, run
 * by test/realclient/daemon/in-namespace.sh: the device side of the
 * end-to-end tests that need `snap install`, `snap find` or `snap set`.
 */
import { constants } from "node:fs";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RunResult, runCommand } from "./process.js";
import { type ClientSet, harnessDir, realclientDir, SNAPD_2_57 } from "./realclient.js";

/** Root, loop devices, unshare and the daemon binary: what the scenario needs. */
export async function canRunDaemon(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await access(join(realclientDir(), "snapd-testkeys"), constants.X_OK);
    await access("/usr/bin/unshare", constants.X_OK);
    await access("/dev/loop-control", constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The test-keys `snap` client (what a step beginning with `!` should call). */
export function snapClient(): string {
  return join(realclientDir(), "snap-testkeys");
}

export interface DaemonRun {
  readonly result: RunResult;
  /** Everything the script printed (steps, their output and `rc=` lines). */
  readonly log: string;
  /** The sandbox (snapd.log, list files the steps wrote). */
  readonly sandbox: string;
}

/**
 * Starts snapd (of `clients`, default 2.57.6) against `storeUrl` in a sandbox (made if
 * missing; a second run on one sandbox keeps its state) and runs `steps`: each is the
 * arguments of a `snap` command, or `!shell command`. The log is also written to
 * `<sandbox>/<logName>` (default `run.log`).
 */
export async function runDaemonSteps(
  sandbox: string,
  storeUrl: string,
  steps: readonly string[],
  opts: { timeoutMs?: number; env?: Record<string, string | undefined>; clients?: ClientSet; logName?: string } = {},
): Promise<DaemonRun> {
  const dir = (opts.clients ?? SNAPD_2_57).dir();
  await mkdir(sandbox, { recursive: true });
  const result = await runCommand(
    "unshare",
    [
      "-m",
      "--propagation",
      "private",
      join(harnessDir(), "daemon", "in-namespace.sh"),
      sandbox,
      storeUrl.endsWith("/") ? storeUrl : `${storeUrl}/`,
      join(dir, "snapd-testkeys"),
      join(dir, "snap-testkeys"),
      join(harnessDir(), "daemon", "shim"),
      ...steps,
    ],
    { timeoutMs: opts.timeoutMs ?? 240_000, ...(opts.env ? { env: opts.env } : {}) },
  );
  const log = `${result.stdout}${result.stderr}`;
  await writeFile(join(sandbox, opts.logName ?? "run.log"), log);
  return { result, log, sandbox };
}
