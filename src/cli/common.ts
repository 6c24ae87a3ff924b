/**
 * What every verb shares: the store directory option, output helpers, and
 * the one place errors become messages and exit codes.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { type StoreLayout, storeLayout } from "../store/layout.js";
import { SnapshelfError } from "../util/errors.js";

export const DEFAULT_DIR = "out";

export function addDirOption(cmd: Command): Command {
  return cmd.option("--dir <dir>", `store directory (env SNAPSHELF_DIR, default ${DEFAULT_DIR}/)`);
}

export function layoutFrom(opts: { dir?: string }): StoreLayout {
  return storeLayout(resolve(opts.dir ?? process.env["SNAPSHELF_DIR"] ?? DEFAULT_DIR));
}

/** Progress and notes go to stderr, results to stdout (so pipes get only results). */
export function note(line: string): void {
  process.stderr.write(line + "\n");
}

export function out(line: string): void {
  process.stdout.write(line + "\n");
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Exit codes: 1 for refused input or operations, 2 for usage, 3 for unexpected failures. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof SnapshelfError) return 1;
  return 3;
}

export function reportError(err: unknown): void {
  if (err instanceof SnapshelfError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    const e = err as Error;
    process.stderr.write(`error: ${e?.message ?? String(err)}\n`);
    if (process.env["SNAPSHELF_DEBUG"]) process.stderr.write(`${e?.stack ?? ""}\n`);
  }
}
