/**
 * The store lock between real processes (`snapshelf` CLI runs):
 *
 * - a busy store refuses a change at once, naming the holder's verb, pid and
 *   since when; `--wait` waits for it (announced once) and then succeeds, or
 *   times out cleanly; `status` reports the lock as the next change finds it;
 * - two changes started together both land (with --wait) or one is refused
 *   with the busy error, never both at once;
 * - after a holder is SIGKILLed mid-change, two contenders race for the lock
 *   with a delay injected (SNAPSHELF_FAULT_DELAY, src/util/fault.ts) at one
 *   step of each, for every pair of steps: exactly one change holds the store
 *   at a time (the held intervals from SNAPSHELF_FAULT_TRACE=time never
 *   overlap), every change that succeeded is in the records, a refused one
 *   failed with the busy error, and `verify` finds the store clean.
 */
import assert from "node:assert/strict";
import { cp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { verifyStore } from "../../src/ops/verify.js";
import { storeLayout } from "../../src/store/layout.js";
import { readRecords } from "../../src/store/state.js";
import { makeFixtureStore } from "../support/fixture-store.js";
import { type RunResult, removeWorkDir, startProcess, tmpWorkDir } from "../support/realclient.js";
import { cliPath, snapshelf, snapshelfRaw } from "../support/snapshelf.js";

let work: string;
/** The fixture store, built. */
let base: string;
/** `base` after a `release` was SIGKILLed holding the lock (its holder file names a dead process). */
let killed: string;

const DELAY_MS = 150;

before(async () => {
  work = await tmpWorkDir("store-lock");
  base = join(work, "base");
  await makeFixtureStore(base);
  await snapshelf(["build", "--dir", base]);
  killed = join(work, "killed");
  await cp(base, killed, { recursive: true });
  const r = await snapshelfRaw(releaseArgs(killed, "dead"), { SNAPSHELF_FAULT: "change:records-read" });
  assert.equal(r.signal, "SIGKILL", `the holder was killed: ${r.stderr}`);
  const left = JSON.parse(await readFile(join(killed, "state", "lock"), "utf8")) as { verb: string; pid: number };
  assert.equal(left.verb, "release", "the dead holder's file is left behind");
});

after(async () => {
  await removeWorkDir(work);
});

/** `release hello-offline 3 latest/candidate/<branch>`: each contender its own branch, so both can land. */
function releaseArgs(dir: string, branch: string, extra: readonly string[] = []): string[] {
  return ["release", "--dir", dir, ...extra, "hello-offline", "3", `latest/candidate/${branch}`];
}

async function branchesReleased(dir: string): Promise<string[]> {
  const records = await readRecords(storeLayout(dir));
  return [
    ...new Set(
      records.releases
        .filter((e) => e.channel.startsWith("latest/candidate/"))
        .map((e) => e.channel.slice("latest/candidate/".length)),
    ),
  ].sort();
}

async function verifyClean(dir: string): Promise<void> {
  const r = await snapshelfRaw(["verify", "--dir", dir]);
  assert.equal(r.code, 0, `snapshelf verify:\n${r.stdout}${r.stderr}`);
}

/** `verify`'s use-case in this process (the matrix below runs it 36 times: no CLI start-up each time). */
async function verifyCleanInProcess(dir: string): Promise<void> {
  const report = await verifyStore(storeLayout(dir));
  assert.deepEqual(report.problems, [], "verify finds no problem");
}

const BUSY = (verb: string, dir: string) =>
  new RegExp(
    `^error: cannot ${verb}: store ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is busy: (?<verb>[a-z ]+) by process (?<pid>\\d+) since (?<since>\\S+) \\((?<how>use --wait to wait|waited \\d+ s)\\)$`,
    "m",
  );

/** The interval a process held the lock: from just after taking it to just before releasing it. */
function heldInterval(res: RunResult): [number, number] | undefined {
  const at = (point: string): number | undefined => {
    const line = res.stderr.split("\n").find((l) => l.startsWith(`fault-point ${point} `));
    return line === undefined ? undefined : Number(line.split(" ")[3]);
  };
  const start = at("lock:held");
  const end = at("lock:before-release");
  return start === undefined || end === undefined ? undefined : [start, end];
}

async function waitUntil(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("a busy store refuses at once naming verb, pid and since; --wait waits, or times out cleanly", async () => {
  const dir = join(work, "busy");
  await cp(base, dir, { recursive: true });
  // the holder: a release that keeps the lock for a while
  const holder = await startProcess(process.execPath, [cliPath(), ...releaseArgs(dir, "holder")], {
    env: { SNAPSHELF_FAULT_DELAY: "change:records-read:4000" },
    ready: null,
  });
  try {
    const pid = holder.child.pid ?? assert.fail("no pid");
    const lockFile = join(dir, "state", "lock");
    await waitUntil("the holder file", async () =>
      readFile(lockFile, "utf8").then(
        (t) => t.includes(`"pid": ${pid}`),
        () => false,
      ),
    );
    const since = (JSON.parse(await readFile(lockFile, "utf8")) as { since: string }).since;

    const refused = await snapshelfRaw(["override", "--dir", dir, "hello-offline", "stable=3"]);
    assert.equal(refused.code, 1, refused.stderr);
    const m = BUSY("override", dir).exec(refused.stderr);
    assert.ok(m?.groups, `busy error: ${refused.stderr}`);
    assert.deepEqual({ ...m.groups }, { verb: "release", pid: String(pid), since, how: "use --wait to wait" });
    assert.ok(Math.abs(Date.parse(since) - Date.now()) < 600_000, `since is a time: ${since}`);

    const status = await snapshelf(["status", "--dir", dir]);
    assert.match(`${status.stdout}${status.stderr}`, new RegExp(`store is busy: release by process ${pid} since`));

    const timedOut = await snapshelfRaw(releaseArgs(dir, "late", ["--wait=1"]));
    assert.equal(timedOut.code, 1, timedOut.stderr);
    assert.equal(BUSY("release", dir).exec(timedOut.stderr)?.groups?.["how"], "waited 1 s");
    assert.match(timedOut.stderr, new RegExp(`^waiting for store \\S+: release by process ${pid} since `, "m"));

    // a bare --wait before the arguments takes no value from them
    const waited = await snapshelfRaw(releaseArgs(dir, "waited", ["--wait"]));
    assert.equal(waited.code, 0, waited.stderr);
    const waits = waited.stderr.split("\n").filter((l) => l.startsWith("waiting for "));
    assert.deepEqual(waits, [`waiting for store ${dir}: release by process ${pid} since ${since}`]);
    assert.equal(holder.alive(), false, "the waiting change ran after the holder ended");
  } finally {
    await holder.stop();
  }
  assert.deepEqual(await branchesReleased(dir), ["holder", "waited"]);
  const free = await snapshelf(["status", "--dir", dir]);
  assert.doesNotMatch(`${free.stdout}${free.stderr}`, /store is busy|interrupted change/);
  await verifyClean(dir);
});

test("two changes started together: never both at once; both land with --wait, else one is refused", async () => {
  for (const wait of [true, false]) {
    const dir = join(work, `together-${wait}`);
    await cp(base, dir, { recursive: true });
    const env = { SNAPSHELF_FAULT_TRACE: "time", SNAPSHELF_FAULT_DELAY: `change:records-read:${DELAY_MS * 2}` };
    const extra = wait ? ["--wait=60"] : [];
    const runs = await Promise.all(
      ["a", "b"].map((b) => snapshelfRaw(releaseArgs(dir, b, extra), env).then((r) => ({ b, r }))),
    );
    checkRuns(dir, runs, wait);
    const landed = runs.filter((x) => x.r.code === 0).map((x) => x.b);
    assert.deepEqual(await branchesReleased(dir), landed.sort());
    if (wait) assert.deepEqual(landed, ["a", "b"]);
    else assert.ok(landed.length >= 1);
    await verifyClean(dir);
    await rm(dir, { recursive: true, force: true });
  }
});

/** Each run succeeded or (without --wait) failed with the busy error; the held intervals are disjoint. */
function checkRuns(dir: string, runs: readonly { b: string; r: RunResult }[], wait: boolean): void {
  const held: [number, number][] = [];
  for (const { b, r } of runs) {
    if (r.code === 0) {
      held.push(heldInterval(r) ?? assert.fail(`${b}: no held interval in its trace`));
      continue;
    }
    assert.equal(wait, false, `${b} failed although it waits: ${r.stderr}`);
    assert.equal(r.code, 1, `${b}: ${r.stderr}`);
    assert.match(r.stderr, BUSY("release", dir), `${b} was refused with the busy error`);
  }
  held.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < held.length; i++) {
    const prev = held[i - 1] ?? [0, 0];
    const cur = held[i] ?? [0, 0];
    assert.ok(prev[1] < cur[0], `two changes held the store at once: ${JSON.stringify(held)}`);
  }
}

test("status after a SIGKILLed holder: the lock is free and the next change proceeds", async () => {
  const dir = join(work, "status-killed");
  await cp(killed, dir, { recursive: true });
  const left = JSON.parse(await readFile(join(dir, "state", "lock"), "utf8")) as { pid: number; since: string };
  const status = await snapshelf(["status", "--dir", dir]);
  assert.match(
    status.stdout,
    new RegExp(`an interrupted change left \\S+ \\(release by process ${left.pid} since \\S+\\); the lock is free`),
  );
  await snapshelf(releaseArgs(dir, "next"));
  assert.deepEqual(await branchesReleased(dir), ["next"]);
  await rm(dir, { recursive: true, force: true });
});

/** The steps of a contender, in order: a delay at one of them lets the other overtake it there. */
const STEPS = [
  "lock:before-bind",
  "lock:bound",
  "lock:held",
  "change:records-read",
  "release:before-records",
  "lock:before-release",
];

test("two takeovers of a SIGKILLed holder's lock, with a delay at every pair of steps", {
  timeout: 400_000,
}, async (t) => {
  let n = 0;
  for (const stepA of STEPS) {
    for (const stepB of STEPS) {
      const wait = n++ % 2 === 0;
      await t.test(`a delayed at ${stepA}, b at ${stepB}${wait ? ", both waiting" : ""}`, async () => {
        const dir = join(work, `takeover-${n}`);
        await cp(killed, dir, { recursive: true });
        const extra = wait ? ["--wait=60"] : [];
        const runs = await Promise.all(
          [
            ["a", stepA],
            ["b", stepB],
          ].map(([b = "", step = ""]) =>
            snapshelfRaw(releaseArgs(dir, b, extra), {
              SNAPSHELF_FAULT_TRACE: "time",
              SNAPSHELF_FAULT_DELAY: `${step}:${DELAY_MS}`,
            }).then((r) => ({ b, r })),
          ),
        );
        checkRuns(dir, runs, wait);
        const landed = runs.filter((x) => x.r.code === 0).map((x) => x.b);
        assert.ok(landed.length >= 1, "one of them took the dead holder's lock");
        if (wait) assert.deepEqual(landed, ["a", "b"]);
        assert.deepEqual(await branchesReleased(dir), landed.sort(), "every change that succeeded is committed");
        await verifyCleanInProcess(dir);
        await rm(dir, { recursive: true, force: true });
      });
    }
  }
});
