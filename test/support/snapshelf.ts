/**
 * Drives the snapshelf CLI the way an operator would: compiled CLI from
 * dist/, one process per command.
 */
import { join, resolve } from "node:path";
import { storeLayout } from "../../src/store/layout.js";
import { isStore } from "../../src/store/store-dir.js";
import type { Manifest } from "./realclient.js";
import { type RunResult, repoRoot, runChecked, runCommand, type StartedProcess, startProcess } from "./realclient.js";

export function cliPath(): string {
  return join(repoRoot(), "bin", "snapshelf");
}

/** The base URL `init` gives the stores tests make (the one build used before `init` existed). */
export const TEST_INIT_BASE_URL = "http://127.0.0.1:8000";

/** Verbs that work on something other than a store. */
const NO_STORE_VERBS = new Set(["init", "export", "help"]);

/**
 * Tests create their stores the way an operator does, with `snapshelf init`:
 * before a store verb on a --dir that is not a store yet, init it. (Tests of
 * what verbs do on a directory that is not a store run the CLI without this helper.)
 */
async function initFor(args: readonly string[], env: Record<string, string | undefined>): Promise<void> {
  const verb = args[0];
  if (verb === undefined || verb.startsWith("-") || NO_STORE_VERBS.has(verb)) return;
  const at = args.indexOf("--dir");
  const eq = args.find((a) => a.startsWith("--dir="));
  const dir = at >= 0 ? args[at + 1] : eq !== undefined ? eq.slice("--dir=".length) : env["SNAPSHELF_DIR"];
  if (dir === undefined || isStore(storeLayout(resolve(dir)))) return;
  await runChecked(process.execPath, [cliPath(), "init", "--dir", dir, "--base-url", TEST_INIT_BASE_URL], {
    env,
    timeoutMs: 120_000,
  });
}

/** Runs `snapshelf ARGS` and fails the test on a non-zero exit. */
export async function snapshelf(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  await initFor(args, env);
  return runChecked(process.execPath, [cliPath(), ...args], { env, timeoutMs: 120_000 });
}

/** Runs `snapshelf ARGS` and returns whatever happened. */
export async function snapshelfRaw(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  await initFor(args, env);
  return runCommand(process.execPath, [cliPath(), ...args], { env, timeoutMs: 120_000 });
}

/** Runs `snapshelf ARGS` as typed: no store is made for it. */
export function snapshelfBare(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  return runCommand(process.execPath, [cliPath(), ...args], { env, timeoutMs: 120_000 });
}

/** Starts `snapshelf serve --port 0` and waits for its URL. */
export function serve(
  dir: string,
  extra: readonly string[] = [],
  opts: { logFile?: string; timeoutMs?: number } = {},
): Promise<StartedProcess> {
  return startProcess(
    process.execPath,
    [cliPath(), "serve", "--dir", dir, "--host", "127.0.0.1", "--port", "0", ...extra],
    {
      ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    },
  );
}

/** Release events of a fixture catalogue in an order consistent with every channel's history. */
export function releaseOrder(m: Manifest): { name: string; revision: number; channel: string; arch: string }[] {
  const out: { name: string; revision: number; channel: string; arch: string }[] = [];
  const depth = Math.max(...m.snaps.flatMap((s) => s.channels.map((c) => c.history.length)));
  for (let i = 0; i < depth; i++) {
    for (const s of m.snaps) {
      for (const c of s.channels) {
        const rev = c.history[i];
        if (rev !== undefined) out.push({ name: s.name, revision: rev, channel: c.channel, arch: c.arch });
      }
    }
  }
  return out;
}

/** The fixture catalogue's trusted root files (testrootorg's account and account-key). */
export function fixtureRoots(fixtures: string, m: Manifest): string[] {
  return [m.assertions["root-account"], m.assertions["root-account-key"]]
    .filter((x): x is string => x !== undefined)
    .map((r) => join(fixtures, r));
}

/** Imports the fixture catalogue's roots and assertions (the test store key among them) into `dir`. */
export async function importFixtureTrust(dir: string, fixtures: string, m: Manifest): Promise<void> {
  await snapshelf([
    "import",
    "--dir",
    dir,
    ...fixtureRoots(fixtures, m).flatMap((r) => ["--trusted-root", r]),
    join(fixtures, m["assert-dir"]),
  ]);
}

/**
 * Imports a fixture catalogue into `dir` as an operator would: the trust
 * roots and all assertions, then the blobs, then each release in each
 * channel's history order.
 */
export async function importFixtures(dir: string, fixtures: string, m: Manifest): Promise<void> {
  await importFixtureTrust(dir, fixtures, m);
  const blobs = m.snaps.flatMap((s) => s.revisions.map((r) => join(fixtures, r.file)));
  await snapshelf(["import", "--dir", dir, ...blobs]);
  for (const e of releaseOrder(m)) {
    await snapshelf(["release", "--dir", dir, "--arch", e.arch, e.name, String(e.revision), e.channel]);
  }
  for (const s of m.snaps) {
    if (s["default-track"]) await snapshelf(["default-track", "--dir", dir, s.name, s["default-track"]]);
  }
}
