/**
 * Rollback means rollback, and staged publishing (issue 12, point 2): after a
 * rollback `status` says so and `build` does not silently publish the rolled-back
 * records again; `build --no-switch` makes a generation without serving it,
 * `diff` shows what devices would see change, `switch` publishes it.
 */
import assert from "node:assert/strict";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildFixtureStore, makeFixtureStore } from "../support/fixture-store.js";
import { auditOps, cli, cliJson, cliRaw } from "../support/ops-e2e.js";
import { removeWorkDir, tmpWorkDir } from "../support/realclient.js";

let work: string;
/** The committed catalogue, generation 1 built. */
let base: string;

async function current(store: string): Promise<number> {
  return Number((await readFile(join(store, "current"), "utf8")).trim());
}

async function copy(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(base, dir, { recursive: true });
  return dir;
}

before(async () => {
  work = await tmpWorkDir("operator-publishing");
  base = join(work, "base");
  await buildFixtureStore(await makeFixtureStore(base));
});

after(async () => {
  await removeWorkDir(work);
});

describe("rollback means rollback", () => {
  let rolled: string;
  before(async () => {
    rolled = await copy("rolled");
    await cli(rolled, "override", "hello-offline", "stable=1");
    await cli(rolled, "build");
    await cli(rolled, "rollback");
    assert.equal(await current(rolled), 1);
  });

  test("status tells the truth after a rollback", async () => {
    const s = await cliJson<{ generation: number; rolledBack?: { from: number; recordsChanged: boolean } }>(
      rolled,
      "status",
    );
    assert.equal(s.generation, 1);
    assert.deepEqual(s.rolledBack, { from: 2, recordsChanged: false });
    const text = (await cli(rolled, "status")).stdout;
    assert.match(text, /^in service: +generation 1 for \S+ \(rolled back from 2\)$/m);
    assert.match(
      text,
      /^note: +rolled back from generation 2; the records are still those generation 2 was built from: build refuses to publish them again until they change \(remove, override, release\) or --force$/m,
    );
    assert.doesNotMatch(text, /records changed since the last build/);
  });

  test("build refuses to publish the rolled-back records again; --force does", async () => {
    const dir = join(work, "rolled-build");
    await cp(rolled, dir, { recursive: true });
    const r = await cliRaw(dir, "build");
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr.trim(),
      "error: cannot build: generation 1 is in service by rollback from 2, and the records are still those generation 2 was built from; change them first (remove, override, release) or build --force to publish them again",
    );
    assert.equal(await current(dir), 1, "still the rolled-back generation");
    const gens = await cliJson<{ generation: number }[]>(dir, "generations");
    assert.deepEqual(
      gens.map((g) => g.generation),
      [1, 2],
      "no generation was made",
    );
    const forced = await cli(dir, "build", "--force");
    assert.match(forced.stdout, /^generation 3 in service/m);
    const s = await cliJson<{ rolledBack?: unknown }>(dir, "status");
    assert.equal(s.rolledBack, undefined, "the rollback is over");
    assert.match((await cli(dir, "build")).stdout, /^generation 4 in service/m, "and builds go on as before");
  });

  test("once the records change after the rollback, build goes ahead", async () => {
    const dir = join(work, "rolled-fixed");
    await cp(rolled, dir, { recursive: true });
    await cli(dir, "delete-override", "hello-offline", "stable");
    const s = await cliJson<{ rolledBack?: { recordsChanged: boolean } }>(dir, "status");
    assert.deepEqual(s.rolledBack, { from: 2, recordsChanged: true });
    assert.match((await cli(dir, "build")).stdout, /^generation 3 in service/m);
    assert.equal((await cliJson<{ rolledBack?: unknown }>(dir, "status")).rolledBack, undefined);
  });

  test("rolling forward to the newest generation ends the rollback", async () => {
    const dir = join(work, "rolled-forward");
    await cp(rolled, dir, { recursive: true });
    await cli(dir, "rollback", "2");
    assert.equal((await cliJson<{ rolledBack?: unknown }>(dir, "status")).rolledBack, undefined);
    assert.match((await cli(dir, "build")).stdout, /^generation 3 in service/m);
  });
});

describe("staged publishing", () => {
  let staged: string;
  before(async () => {
    staged = await copy("staged");
    await cli(staged, "override", "hello-offline", "stable=1");
  });

  test("build --no-switch, diff, switch", async () => {
    const b = await cli(staged, "build", "--no-switch");
    assert.match(b.stdout, /^generation 2 built, not in service: \d+ files for \S+$/m);
    assert.match(b.stdout, /snapshelf diff 2; publish it: snapshelf switch 2$/m);
    assert.equal(await current(staged), 1, "generation 1 still in service");
    const s = await cliJson<{ generation: number }>(staged, "status");
    assert.equal(s.generation, 1);

    const d = await cli(staged, "diff");
    assert.deepEqual(d.stdout.trimEnd().split("\n"), [
      "generation 1 -> 2: 1 change devices would see",
      "  hello-offline latest/stable amd64: 2 (1.1) -> 1 (1.0)",
    ]);
    const back = await cli(staged, "diff", "2", "1");
    assert.match(back.stdout, /^ {2}hello-offline latest\/stable amd64: 1 \(1\.0\) -> 2 \(1\.1\)$/m);
    const same = await cli(staged, "diff", "1", "1");
    assert.equal(same.stdout.trim(), "generation 1 -> 1: 0 changes devices would see");
    const none = await cliRaw(staged, "diff", "9");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^error: cannot diff generation 9: no such generation \(have 1, 2\)$/m);

    const sw = await cli(staged, "switch", "2");
    assert.equal(sw.stdout.trim(), "generation 2 in service (was 1)");
    assert.equal(await current(staged), 2);
    assert.equal((await auditOps(staged)).at(-1)?.op, "switch");
    assert.equal((await cli(staged, "diff")).stdout.trim(), "generation 2 -> 2: 0 changes devices would see");
  });

  test("diff names channels that open and close", async () => {
    const dir = await copy("staged-open-close");
    await cli(dir, "override", "tool-data", "latest/beta=1");
    await cli(dir, "remove", "snapd");
    await cli(dir, "build", "--no-switch");
    const lines = (await cli(dir, "diff", "--json")).stdout;
    const d = JSON.parse(lines) as { changes: { name: string; channel: string; arch: string; to?: unknown }[] };
    const opened = d.changes.filter((c) => c.name === "tool-data").map((c) => `${c.channel} ${c.arch}`);
    assert.deepEqual(opened, ["latest/beta amd64", "latest/beta arm64"]);
    const closed = d.changes.filter((c) => c.name === "snapd");
    assert.deepEqual(
      closed.map((c) => [c.channel, c.arch, c.to === undefined]),
      [
        ["latest/stable", "amd64", true],
        ["latest/stable", "arm64", true],
      ],
    );
    const text = (await cli(dir, "diff")).stdout;
    assert.match(text, /^ {2}snapd latest\/stable amd64: closed \(was 1 \(\S+\)\)$/m);
    assert.match(text, /^ {2}tool-data latest\/beta amd64: new: 1 \(\S+\)$/m);
  });
});
