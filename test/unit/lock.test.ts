/**
 * The change lock (src/util/lock.ts) within one process: exclusive, released,
 * the busy error naming the holder, --wait succeeding once the holder ends and
 * timing out cleanly, the state `status` reports, the one liveness check. The
 * cross-process cases (a SIGKILLed holder, two CLI changes at once) are in
 * test/e2e/store-lock.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SnapshelfError } from "../../src/util/errors.js";
import { acquireLock, type LockTarget, lockState, processAlive, readHolder, withLock } from "../../src/util/lock.js";

let dir: string;
let target: LockTarget;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "snapshelf-lock-"));
  target = { dir, holderFile: join(dir, "lock"), label: `store ${dir}`, busyCode: "store-locked" };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("the change lock", () => {
  it("is exclusive, says who holds it, and is free again once released", async () => {
    assert.deepEqual(await lockState(target), { held: false });
    const lock = await acquireLock(target, "import");
    try {
      const holder = await readHolder(target.holderFile);
      assert.equal(holder?.verb, "import");
      assert.equal(holder?.pid, process.pid);
      assert.match(holder?.since ?? "", ISO);
      assert.deepEqual(await lockState(target), { held: true, holder });
      await assert.rejects(acquireLock(target, "build"), (err: unknown) => {
        assert.ok(err instanceof SnapshelfError);
        assert.equal(err.code, "store-locked");
        assert.equal(
          err.message,
          `cannot build: store ${dir} is busy: import by process ${process.pid} since ${holder?.since} (use --wait to wait)`,
        );
        return true;
      });
    } finally {
      await lock.release();
    }
    assert.deepEqual(await lockState(target), { held: false });
    await assert.rejects(readFile(target.holderFile), { code: "ENOENT" });
    // and taken again
    assert.equal(await withLock(target, "build", async () => "built"), "built");
  });

  it("is released when the change fails", async () => {
    await assert.rejects(
      withLock(target, "release", async () => {
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.deepEqual(await lockState(target), { held: false });
  });

  it("with a wait, is taken once the holder ends, telling once whom it waits for", async () => {
    const lock = await acquireLock(target, "gc");
    const told: string[] = [];
    const releasing = new Promise<void>((r) => setTimeout(() => void lock.release().then(r), 400));
    const got = await withLock(target, "build", async () => "after gc", {
      wait: { seconds: 30, onWait: (l) => told.push(l) },
    });
    await releasing;
    assert.equal(got, "after gc");
    assert.equal(told.length, 1);
    assert.match(told[0] ?? "", new RegExp(`^waiting for store ${dir}: gc by process ${process.pid} since \\S+$`));
  });

  it("with a wait, times out cleanly and leaves the holder alone", async () => {
    const lock = await acquireLock(target, "export");
    try {
      const told: string[] = [];
      await assert.rejects(
        withLock(target, "build", async () => assert.fail("ran without the lock"), {
          wait: { seconds: 0.3, onWait: (l) => told.push(l) },
        }),
        (err: unknown) => {
          assert.ok(err instanceof SnapshelfError);
          assert.match(
            err.message,
            /^cannot build: store .* is busy: export by process \d+ since \S+ \(waited 0\.3 s\)$/,
          );
          return true;
        },
      );
      assert.equal(told.length, 1);
      assert.equal((await readHolder(target.holderFile))?.verb, "export");
      assert.equal((await lockState(target)).held, true);
    } finally {
      await lock.release();
    }
  });

  it("does not count a holder file left behind: the lock is free, the file is reported as left", async () => {
    // what a SIGKILLed holder leaves: its file (the socket died with it)
    const dead = deadPid();
    const left = { verb: "import", pid: dead, since: "2026-01-01T00:00:00.000Z" };
    await writeFile(target.holderFile, JSON.stringify(left));
    assert.deepEqual(await lockState(target), { held: false, left });
    // an older version's file (a bare pid) is not a holder either
    await writeFile(target.holderFile, `${dead}\n`);
    assert.deepEqual(await lockState(target), { held: false });
    const lock = await acquireLock(target, "release");
    assert.equal((await readHolder(target.holderFile))?.pid, process.pid);
    await lock.release();
  });

  it("holds whatever happens to the holder file: removed, or naming a dead process, it still excludes", async () => {
    // the race of a file lock's takeover: a contender that finds the file gone or naming a dead
    // process must not get in while the holder lives
    const lock = await acquireLock(target, "import");
    try {
      await rm(target.holderFile);
      await assert.rejects(acquireLock(target, "build"), /is busy: a change by another process/);
      await writeFile(target.holderFile, JSON.stringify({ verb: "gc", pid: deadPid(), since: "2026-01-01T00:00:00Z" }));
      await assert.rejects(acquireLock(target, "build"), /is busy/);
      assert.equal((await lockState(target)).held, true);
    } finally {
      await lock.release();
    }
    await (await acquireLock(target, "build")).release();
  });

  it("is per directory", async () => {
    const other = await mkdtemp(join(tmpdir(), "snapshelf-lock-other-"));
    try {
      const a = await acquireLock(target, "build");
      const b = await acquireLock({ ...target, dir: other, holderFile: join(other, "lock") }, "build");
      await b.release();
      await a.release();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("processAlive (the one liveness check)", () => {
  it("is true for a running process and false for an exited one or a bad pid", () => {
    assert.equal(processAlive(process.pid), true);
    assert.equal(processAlive(deadPid()), false);
    assert.equal(processAlive(0), false);
    assert.equal(processAlive(-1), false);
    assert.equal(processAlive(Number.NaN), false);
  });
});
