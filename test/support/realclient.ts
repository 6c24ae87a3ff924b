/**
 * The real-client harness (test/realclient, a copy of ../shared/realclient)
 * for e2e tests: snapd's own client code, built with test keys, driven against
 * a store on a loopback URL. Two generations of it (`CLIENT_SETS`): snapd
 * 2.57.6 (Debian 12, `setup.sh`) and snapd 2.68.3 (Debian 13, `modern/setup.sh`).
 * `make test` builds both before the tests; `ensureRealclient` covers running a
 * test file alone.
 */
import { createWriteStream } from "node:fs";
import { access, constants, mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { runChecked, runCommand } from "./process.js";
import { repoRoot, tmpWorkDir, verbose } from "./work-dir.js";

export type { RunOptions, RunResult, StartedProcess, StartOptions } from "./process.js";
export { freePort, runChecked, runCommand, startProcess, waitForHttp } from "./process.js";
export { keepWork, removeWorkDir, repoRoot, tmpWorkDir, verbose } from "./work-dir.js";

/** Where setup.sh put the client binaries: `$REALCLIENT_DIR`, default /tmp/realclient. */
export function realclientDir(): string {
  const dir = process.env["REALCLIENT_DIR"];
  return dir !== undefined && dir !== "" ? dir : "/tmp/realclient";
}

/** Where modern/setup.sh put snapd 2.68.3's clients: `$REALCLIENT_MODERN_DIR`, default /tmp/realclient-modern. */
export function modernRealclientDir(): string {
  const dir = process.env["REALCLIENT_MODERN_DIR"];
  return dir !== undefined && dir !== "" ? dir : "/tmp/realclient-modern";
}

/** One generation of snapd's clients (snap-testkeys, probe, snapd-testkeys, ...) and how it is built. */
export interface ClientSet {
  /** The snapd release it is built from, as tests name it. */
  readonly snapd: "2.57.6" | "2.68.3";
  /** The directory of its binaries (check.sh's `REALCLIENT_DIR`). */
  readonly dir: () => string;
  /** Its setup script, relative to the harness directory. */
  readonly setup: string;
}

/** Debian 12's snapd, the harness's first generation (the default everywhere). */
export const SNAPD_2_57: ClientSet = { snapd: "2.57.6", dir: realclientDir, setup: "setup.sh" };
/** Debian 13's snapd (components, held refreshes, links and categories, newer assertion formats). */
export const SNAPD_2_68: ClientSet = { snapd: "2.68.3", dir: modernRealclientDir, setup: "modern/setup.sh" };
/** Every generation the conformance scenarios run with, oldest first. */
export const CLIENT_SETS: readonly ClientSet[] = [SNAPD_2_57, SNAPD_2_68];

/** The repository's copy of the harness scripts: `<repo>/test/realclient`. */
export function harnessDir(): string {
  return join(repoRoot(), "test", "realclient");
}

/** The Debian architecture of this machine, as check.sh's `dpkg --print-architecture`. */
export function hostArch(): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "armhf",
    ia32: "i386",
    ppc64: "ppc64el",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  return map[process.arch] ?? process.arch;
}

/** What setup.sh builds and the tests use (the daemon, snapd-testkeys, is optional). */
const BINARIES = ["snap-testkeys", "fakestore", "probe", "fixturegen"] as const;

async function missingBinaries(set: ClientSet): Promise<string[]> {
  const missing: string[] = [];
  for (const b of BINARIES) {
    try {
      await access(join(set.dir(), b), constants.X_OK);
    } catch {
      missing.push(b);
    }
  }
  return missing;
}

const setupRuns = new Map<ClientSet, Promise<void>>();

/**
 * Makes sure the real clients of `set` are built: runs its setup script (once
 * per process) if any binary is missing. The scripts are idempotent; a cold
 * run installs Debian packages (2.68.3: fetches Debian 13's) and takes one to
 * two minutes. 2.68.3's setup copies the store-side tools (fixturegen,
 * fakestore) from 2.57.6's directory, so that one is built first.
 */
export function ensureRealclient(set: ClientSet = SNAPD_2_57): Promise<void> {
  let run = setupRuns.get(set);
  if (run === undefined) {
    run = (async () => {
      if (set !== SNAPD_2_57) await ensureRealclient(SNAPD_2_57);
      const missing = await missingBinaries(set);
      if (missing.length === 0) return;
      await runChecked("bash", [join(harnessDir(), set.setup)], {
        env: {
          REALCLIENT_DIR: realclientDir(),
          REALCLIENT_MODERN_DIR: modernRealclientDir(),
          REALCLIENT_OLD_DIR: realclientDir(),
        },
        timeoutMs: 30 * 60_000,
      });
      const still = await missingBinaries(set);
      if (still.length > 0) throw new Error(`${set.setup} did not build ${still.join(", ")} in ${set.dir()}`);
    })();
    setupRuns.set(set, run);
  }
  return run;
}

const versions = new Map<string, Promise<string>>();

/**
 * The snapd release a client directory really holds, from its `snap-testkeys version`
 * (`snap    2.68.3-3+deb13u1` gives `2.68.3`): what test output names, so a mix-up of
 * directories shows.
 */
export function snapdVersion(set: ClientSet = SNAPD_2_57): Promise<string> {
  const dir = set.dir();
  let v = versions.get(dir);
  if (v === undefined) {
    v = (async () => {
      await ensureRealclient(set);
      const res = await runChecked(join(dir, "snap-testkeys"), ["version"], { timeoutMs: 30_000 });
      const m = /^snap\s+(\S+)/m.exec(res.stdout);
      if (!m?.[1]) throw new Error(`cannot read the snapd version of ${dir}/snap-testkeys: ${res.stdout}`);
      return m[1].replace(/-[^-]*$/, "");
    })();
    versions.set(dir, v);
  }
  return v;
}

// ---- the fixture catalogue (fixturegen/main.go writes it) --------------------

/** snapd's epoch as read/write sets: "1*" is `{read: [0, 1], write: [1]}`. */
export interface ManifestEpochRW {
  read: number[];
  write: number[];
}

/** One revision (one blob) of a snap. File paths are relative to the fixture dir. */
export interface ManifestRevision {
  revision: number;
  version: string;
  architectures: string[];
  /** As in snap.yaml: "0", "1*", "1". */
  epoch: string;
  "epoch-rw": ManifestEpochRW;
  /** Hex, as in the store API's `download.sha3-384`. */
  "sha3-384": string;
  /** Base64url, as in the snap-revision assertion. */
  "snap-sha3-384": string;
  size: number;
  /** The blob, e.g. `blobs/hello-offline_2.snap`. */
  file: string;
  /** Its snap-revision assertion file. */
  "snap-revision": string;
  /** `<channel>@<arch>` where this revision is the current release. */
  channels: string[];
}

/** One channel of a snap on one architecture, with its release history. */
export interface ManifestChannel {
  /** track/risk[/branch], always with the track. */
  channel: string;
  track: string;
  risk: string;
  branch?: string;
  arch: string;
  /** The current release (last of `history`). */
  revision: number;
  /** Revisions released to this channel, oldest first. */
  history: number[];
}

export interface ManifestSnap {
  name: string;
  "snap-id": string;
  /** app, base, snapd, ... */
  type: string;
  base?: string;
  summary: string;
  "publisher-id": string;
  "default-providers"?: string[];
  /** Store metadata a manifest may carry (the README's default tracks). */
  "default-track"?: string;
  /** The snap-declaration assertion file. */
  "snap-declaration": string;
  revisions: ManifestRevision[];
  channels: ManifestChannel[];
}

/** `manifest.json` of a fixture catalogue made by make-fixtures.sh. */
export interface Manifest {
  format: number;
  /** RFC 3339 time of generation. */
  generated: string;
  series: string;
  "authority-id": string;
  "root-key-id": string;
  "store-key-id": string;
  publisher: { "account-id": string; username: string; "display-name": string };
  architectures: string[];
  /** Role (`root-account`, `store-account-key`, `validation-set-1`, ...) -> assertion file. */
  assertions: Record<string, string>;
  /** Directory of all assertion files, relative to the fixture dir (`asserts`). */
  "assert-dir": string;
  snaps: ManifestSnap[];
  /** A device that holds a serial (fixturegen's device/: brand chain, model, serial, device key). */
  device?: {
    dir: string;
    "brand-id": string;
    model: string;
    serial: string;
    key: string;
    "model-file": string;
    "serial-file": string;
    chain: string[];
  };
}

/** Reads and minimally checks a manifest.json. */
export async function readManifest(path: string): Promise<Manifest> {
  const data: unknown = JSON.parse(await readFile(path, "utf8"));
  if (typeof data !== "object" || data === null || !Array.isArray((data as { snaps?: unknown }).snaps)) {
    throw new Error(`cannot read fixture manifest ${path}: no snaps list`);
  }
  return data as Manifest;
}

/**
 * Generates the signed test catalogue into `dir` with make-fixtures.sh
 * (`dir/blobs`, `dir/asserts`, `dir/manifest.json`; under a second) and
 * returns the parsed manifest.
 */
export async function makeFixtures(dir: string): Promise<Manifest> {
  await ensureRealclient();
  await runChecked("bash", [join(harnessDir(), "make-fixtures.sh"), dir], {
    env: { REALCLIENT_DIR: realclientDir() },
    timeoutMs: 330_000,
  });
  return readManifest(join(dir, "manifest.json"));
}

/** The revision current in `channel` on `arch`, if any. */
export function currentRevision(
  m: Manifest,
  name: string,
  channel: string,
  arch: string = hostArch(),
): ManifestRevision | undefined {
  const snap = m.snaps.find((s) => s.name === name);
  const ch = snap?.channels.find((c) => c.channel === channel && c.arch === arch);
  return ch === undefined ? undefined : snap?.revisions.find((r) => r.revision === ch.revision);
}

// ---- check.sh ------------------------------------------------------------------

export interface CheckOptions {
  /** Which snapd's clients run the scenarios (`REALCLIENT_DIR` of check.sh). Default 2.57.6. */
  clients?: ClientSet;
  /** Regex of scenario names (`CHECK_ONLY`). */
  only?: string;
  /** Scratch dir (`CHECK_WORK`; keeps every download and probe JSON). Default: a fresh tmpWorkDir. */
  work?: string;
  /** Bound on the whole run; the process group is killed after it. Default 10 min. */
  timeoutMs?: number;
  /** `CHECK_DAEMON`: the real snapd daemon scenarios. Default: check.sh's `auto`. */
  daemon?: "auto" | "0" | "1";
  /** `CHECK_TIMEOUT`: seconds per client call (check.sh's default is 60). */
  callTimeoutS?: number;
  env?: Record<string, string | undefined>;
}

export interface CheckScenario {
  name: string;
  passed: boolean;
  reason: string;
}

export interface CheckResult {
  /** The snapd release whose clients ran (from their `snap version`). */
  snapd: string;
  /** `check.sh (snapd 2.68.3): 49 passed, 0 failed`, as printed to the test output. */
  summary: string;
  passed: number;
  failed: number;
  /** The `PASS ...`/`FAIL ...` lines, in order. */
  lines: string[];
  /** The same, parsed. */
  scenarios: CheckScenario[];
  /** Everything check.sh printed, stdout and stderr interleaved. */
  output: string;
  /** Where the output was logged: `<work>/check.log`. */
  logFile: string;
  /** The scratch dir (CHECK_WORK). */
  work: string;
  exitCode: number | null;
}

let checkRuns = 0;

const SCENARIO_LINE = /^(PASS|FAIL) ([^\s:]+): ?(.*)$/;
const SUMMARY_LINE = /^(\d+) passed, (\d+) failed$/;

/**
 * Runs check.sh against the store at `baseUrl` (loopback only) serving the
 * catalogue of `manifestPath`. Resolves with the parsed summary whether or not
 * scenarios failed; rejects only if check.sh did not get to its summary line
 * (usage error, missing binaries, timeout).
 */
export async function runCheck(baseUrl: string, manifestPath: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const clients = opts.clients ?? SNAPD_2_57;
  await ensureRealclient(clients);
  const snapd = await snapdVersion(clients);
  checkRuns += 1;
  const work = opts.work ?? (await tmpWorkDir(`check-${checkRuns}`));
  await mkdir(work, { recursive: true });
  const logFile = join(work, "check.log");
  const log = createWriteStream(logFile, { flags: "a" });
  // a log that cannot be written must not crash the test process mid-run
  log.on("error", (e) => process.stderr.write(`cannot write ${logFile}: ${e.message}\n`));
  const all: string[] = [];
  const mirror = verbose();
  // every setting explicit, so none leaks in from the caller's environment
  const env: Record<string, string | undefined> = {
    REALCLIENT_DIR: clients.dir(),
    CHECK_WORK: work,
    CHECK_ONLY: opts.only ?? ".",
    CHECK_DAEMON: opts.daemon ?? "auto",
    CHECK_TIMEOUT: String(opts.callTimeoutS ?? 60),
    ...opts.env,
  };

  const timeoutMs = opts.timeoutMs ?? 600_000;
  const res = await runCommand("bash", [join(harnessDir(), "check.sh"), baseUrl, resolve(manifestPath)], {
    env,
    timeoutMs,
    onLine: (line) => {
      all.push(line);
      log.write(`${line}\n`);
      if (mirror) process.stderr.write(`[check] ${line}\n`);
    },
  });
  await new Promise<void>((done) => log.end(() => done()));

  const lines = all.filter((l) => SCENARIO_LINE.test(l));
  const scenarios = lines.map((l): CheckScenario => {
    const m = SCENARIO_LINE.exec(l);
    return { name: m?.[2] ?? "", passed: m?.[1] === "PASS", reason: m?.[3] ?? "" };
  });
  const summary = all
    .map((l) => SUMMARY_LINE.exec(l))
    .filter((m) => m !== null)
    .pop();
  if (summary === undefined) {
    const why = res.timedOut ? `timed out after ${timeoutMs} ms` : `exit status ${res.code ?? res.signal}`;
    throw new Error(
      `check.sh (snapd ${snapd}) ${baseUrl} printed no summary (${why}); log ${logFile}:\n${all.slice(-40).join("\n")}`,
    );
  }
  // every run says which snapd it used, in the test output whatever the test does with the result
  const line = `check.sh (snapd ${snapd}): ${summary[1]} passed, ${summary[2]} failed`;
  process.stderr.write(`${line} (${baseUrl}, log ${logFile})\n`);
  return {
    snapd,
    summary: line,
    passed: Number(summary[1]),
    failed: Number(summary[2]),
    lines,
    scenarios,
    output: all.length > 0 ? `${all.join("\n")}\n` : "",
    logFile,
    work,
    exitCode: res.code,
  };
}

// ---- probe ---------------------------------------------------------------------

/**
 * Runs the probe (snapd's store package acting as a device) against `baseUrl`:
 * `probe -store <baseUrl> ...args` (`opts.clients`: which snapd's probe, default 2.57.6), e.g. `["-arch", "amd64", "action", "-action",
 * "install", "-name", "hello-offline"]`. Resolves with its JSON, which reports
 * store-side failures itself (`ok: false`, `error`, `error-kind`); rejects only
 * if the probe printed no JSON object.
 */
export async function runProbe(
  baseUrl: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: Record<string, string | undefined>; clients?: ClientSet } = {},
): Promise<Record<string, unknown>> {
  const clients = opts.clients ?? SNAPD_2_57;
  await ensureRealclient(clients);
  const probe = join(clients.dir(), "probe");
  const all = ["-store", baseUrl, ...args];
  const res = await runCommand(probe, all, { env: { ...opts.env }, timeoutMs: opts.timeoutMs ?? 120_000 });
  let data: unknown;
  try {
    data = JSON.parse(res.stdout);
  } catch {
    data = undefined;
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    const why = res.timedOut ? "timed out" : `exit status ${res.code ?? res.signal}`;
    throw new Error(`probe ${all.join(" ")} printed no JSON object (${why}):\n${res.stdout}${res.stderr}`.trimEnd());
  }
  return data as Record<string, unknown>;
}

/** The probe (2.57.6, amd64) installs `name`, from `channel` if given; with `download`, fetches and verifies the blob there. */
export function probeInstall(
  baseUrl: string,
  name: string,
  opts: { channel?: string; download?: string } = {},
): Promise<Record<string, unknown>> {
  return runProbe(baseUrl, [
    "-arch",
    "amd64",
    "action",
    "-action",
    "install",
    "-name",
    name,
    ...(opts.channel === undefined ? [] : ["-channel", opts.channel]),
    ...(opts.download === undefined ? [] : ["-download", opts.download]),
  ]);
}

/** The probe (2.57.6, amd64) refreshes what `installedFile` lists; with `download`, fetches and verifies every blob there. */
export function probeRefreshAll(
  baseUrl: string,
  installedFile: string,
  download?: string,
): Promise<Record<string, unknown>> {
  return runProbe(baseUrl, [
    "-arch",
    "amd64",
    "action",
    "-installed",
    installedFile,
    "-action",
    "refresh-all",
    ...(download === undefined ? [] : ["-download", download]),
  ]);
}
