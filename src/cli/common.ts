/**
 * What every verb shares: the store directory option, output helpers, and
 * the one place errors become messages and exit codes.
 */
import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { type StoreLayout, storeLayout } from "../store/layout.js";
import { requireStore } from "../store/store-dir.js";
import { EXIT_STATUS, exitStatusFor, operatorMessage, SnapshelfError, systemErrorCode } from "../util/errors.js";
import { DEFAULT_WAIT_SECONDS, type LockOptions } from "../util/lock.js";

export const DEFAULT_DIR = "out";

export function addDirOption(cmd: Command): Command {
  return cmd.option("--dir <dir>", `store directory (env SNAPSHELF_DIR, default ${DEFAULT_DIR}/)`);
}

/** The store directory of --dir / SNAPSHELF_DIR, which must be a store (see `snapshelf init`). */
export function layoutFrom(opts: { dir?: string }): StoreLayout {
  const layout = layoutAt(opts);
  requireStore(layout);
  return layout;
}

/** The directory --dir / SNAPSHELF_DIR names, store or not (for `init`). */
export function layoutAt(opts: { dir?: string }): StoreLayout {
  return storeLayout(resolve(opts.dir ?? process.env["SNAPSHELF_DIR"] ?? DEFAULT_DIR));
}

function waitSeconds(v: string): number {
  if (!/^[0-9]{1,9}$/.test(v)) throw new InvalidArgumentError("expected a number of seconds, as in --wait=600");
  return Number(v);
}

/**
 * `--wait[=SECONDS]` for every verb that changes a store (or an export
 * directory): without it a busy store fails at once naming the holder; with
 * it the change waits for the lock, at most SECONDS (bare: one hour). As with
 * GNU getopt's optional arguments, the value is only taken with `=`: a bare
 * `--wait` never swallows the argument after it (`import --wait FILE`).
 */
export function addWaitOption(cmd: Command): Command {
  cmd.option(
    "--wait [seconds]",
    `if another change holds the store, wait for it (--wait=SECONDS; bare: ${DEFAULT_WAIT_SECONDS} s)`,
    waitSeconds,
  );
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (argv: string[]) => {
    const end = argv.indexOf("--");
    return parse(argv.map((a, i) => (a === "--wait" && (end < 0 || i < end) ? `--wait=${DEFAULT_WAIT_SECONDS}` : a)));
  };
  return cmd;
}

/** The options of a verb that changes the store: `--dir` and `--wait`. */
export function addChangeOptions(cmd: Command): Command {
  return addWaitOption(addDirOption(cmd));
}

/** The lock options of `--wait`: the wait is announced on stderr once. */
export function waitFrom(opts: { wait?: number | true }): LockOptions {
  if (opts.wait === undefined) return {};
  const seconds = opts.wait === true ? DEFAULT_WAIT_SECONDS : opts.wait;
  return { wait: { seconds, onWait: note } };
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

/** Exit codes (the table is in util/errors): 1 for refused input or operations, 2 for usage, 3 for unexpected failures. */
export function exitCodeFor(err: unknown): number {
  return exitStatusFor(err);
}

/** What each verb does, for `cannot <do thing>: ...` (default: the verb itself). */
const ACTIONS: Readonly<Record<string, string>> = {
  status: "read the store status",
  list: "list the store",
  generations: "list generations",
  log: "read the audit log",
  verify: "verify the store",
  "nginx-config": "generate nginx configuration",
  "client-config": "write the device setup",
  "install-service": "write systemd units",
  manifest: "read the manifest",
  serve: "serve the store",
  gc: "collect garbage",
  retention: "set the retention policy",
  "default-track": "set the default track",
};

/** The verb being run and its store directory, once commander has parsed them. */
export interface RunningVerb {
  readonly verb: string;
  readonly store?: string;
}

export function reportError(err: unknown, running?: RunningVerb): void {
  const verb = running?.verb ?? "run snapshelf";
  process.stderr.write(`error: ${operatorMessage(err, ACTIONS[verb] ?? verb, running?.store)}\n`);
  if (
    !(err instanceof SnapshelfError) &&
    exitStatusFor(err) === EXIT_STATUS.unexpected &&
    process.env["SNAPSHELF_DEBUG"]
  )
    process.stderr.write(`${(err as Error)?.stack ?? ""}\n`);
}

/**
 * A reader that goes away (`snapshelf status | head -1`) is no failure: an EPIPE on stdout or
 * stderr is ignored and later writes go nowhere, so the command finishes what it was doing (a
 * change is never cut short by its output) and exits with its own status, 0 when it succeeded.
 * Output that cannot be written otherwise (stdout a file on a full disk) is said once, in words,
 * and the exit status is 1.
 */
export function ignoreClosedOutput(): void {
  let failed = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: unknown) => {
      const code = systemErrorCode(err) ?? (err as { code?: unknown })?.code;
      if (code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || failed) return;
      // output redirected to a file that cannot take it (disk full): say so once, finish, exit 1
      failed = true;
      process.exitCode = exitStatusFor(err);
      if (stream === process.stdout) process.stderr.write(`error: ${operatorMessage(err, "write the output")}\n`);
    });
  }
}
