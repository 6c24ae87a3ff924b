/**
 * Where tests live on disk: the repository root (found from this file, so it
 * works from dist/test/support as well as test/support) and per-test scratch
 * directories under `<repo>/.test-work/` (gitignored).
 */
import { existsSync, rmSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The repository root: the nearest directory above this file holding package.json. */
export function repoRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** True when `SNAPSHELF_KEEP_WORK=1`: scratch directories are left behind for inspection. */
export function keepWork(): boolean {
  return process.env["SNAPSHELF_KEEP_WORK"] === "1";
}

/** True when `SNAPSHELF_TEST_VERBOSE=1`: helpers mirror child output to stderr. */
export function verbose(): boolean {
  return process.env["SNAPSHELF_TEST_VERBOSE"] === "1";
}

const created = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // node:test runs every test file in its own process, so process exit is
  // "the end of this file's tests". A failed run (non-zero exit code) keeps its
  // directories: the logs in them are what explains the failure.
  process.once("exit", (code) => {
    if (keepWork() || code !== 0) {
      if (created.size > 0) process.stderr.write(`kept test work: ${[...created].join(" ")}\n`);
      return;
    }
    for (const dir of created) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * A fresh, empty scratch directory `<repo>/.test-work/<name>-<pid>`, removed
 * when the test process exits successfully (kept if it fails, or with
 * `SNAPSHELF_KEEP_WORK=1`). Call `removeWorkDir` to drop it earlier.
 */
export async function tmpWorkDir(name: string): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`cannot make work dir: bad name ${JSON.stringify(name)}`);
  const dir = join(repoRoot(), ".test-work", `${name}-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  created.add(dir);
  installExitHook();
  return dir;
}

/** Removes a directory made by `tmpWorkDir` now (unless `SNAPSHELF_KEEP_WORK=1`). */
export async function removeWorkDir(dir: string): Promise<void> {
  if (keepWork()) return;
  await rm(dir, { recursive: true, force: true });
  created.delete(dir);
}
