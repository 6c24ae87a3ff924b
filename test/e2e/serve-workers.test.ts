/**
 * `serve --workers N`: N processes on one port. All answer, all follow a new
 * generation on SIGHUP, a worker that dies is replaced, SIGTERM stops every
 * process, what a new build added is served by every worker at once (no
 * device sees two generations mixed), and a store with nothing built fails
 * the command.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { committedCatalogue, committedManifest } from "../support/fixture-store.js";
import { removeWorkDir, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { importFixtures, serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { writeSignedSnap } from "../support/synthetic-snap.js";

let work: string;
let store: string;

/** The pids of `pid`'s children (Linux /proc). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The generations 40 requests were answered from (new connections each: spread over the workers). */
async function generations(url: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const r = await fetch(`${url}/v2/snaps/info/hello-offline?architecture=amd64`, {
      headers: { connection: "close" },
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    seen.add(r.headers.get("snapshelf-generation") ?? "?");
  }
  return seen;
}

before(async () => {
  work = await tmpWorkDir("workers");
  store = join(work, "store");
  await importFixtures(store, committedCatalogue(), await committedManifest());
  await snapshelf(["build", "--dir", store]);
});

after(async () => {
  await removeWorkDir(work);
});

test("two workers answer, follow a new generation, replace a dead worker, stop together", async () => {
  const srv: StartedProcess = await serve(store, ["--workers", "2"]);
  const primary = srv.child.pid ?? assert.fail("no pid");
  try {
    const url = srv.url ?? assert.fail("no URL");
    assert.match(srv.output(), /\(2 workers\)/);
    const workers = children(primary);
    assert.equal(workers.length, 2, `children of ${primary}: ${workers.join(" ")}`);
    assert.deepEqual([...(await generations(url))], ["1"]);

    await snapshelf(["build", "--dir", store]);
    process.kill(primary, "SIGHUP");
    await until("every worker on generation 2", async () => {
      const g = await generations(url);
      return g.size === 1 && g.has("2");
    });

    const [victim] = workers;
    assert.ok(victim);
    process.kill(victim, "SIGKILL");
    await until("a replacement worker", () => {
      const now = children(primary);
      return now.length === 2 && !now.includes(victim);
    });
    await until("the replacement answering", async () => (await generations(url)).has("2"));
    assert.deepEqual([...(await generations(url))], ["2"]);

    process.kill(primary, "SIGTERM");
    const all = [primary, ...children(primary)];
    await until("every process gone", () => all.every((p) => !alive(p)));
  } finally {
    await srv.stop();
  }
});

test("right after a build, before any worker polls, every worker serves what the new generation added", async () => {
  const srv: StartedProcess = await serve(store, ["--workers", "2"]);
  try {
    const url = srv.url ?? assert.fail("no URL");
    const name = "workers-new";
    const dg = await writeSignedSnap(work, { name });
    await snapshelf(["import", "--dir", store, "--release", "stable", dg.file]);
    // no SIGHUP: the workers poll `current` once a second, and these requests come before that
    await snapshelf(["build", "--dir", store]);
    const paths = [
      `/v2/assertions/snap-revision/${digestHexToBase64Url(dg.sha3_384)}`,
      `/v2/snaps/info/${name}?architecture=amd64`,
    ];
    const statuses: string[] = [];
    for (let i = 0; i < 20; i++) {
      for (const p of paths) {
        const r = await fetch(url + p, { headers: { connection: "close" } });
        await r.arrayBuffer();
        if (r.status !== 200) statuses.push(`${p}: ${r.status} (generation ${r.headers.get("snapshelf-generation")})`);
      }
    }
    assert.deepEqual(statuses, []);
  } finally {
    await srv.stop();
  }
});

test("nothing built: the command fails with the worker's error", async () => {
  const empty = join(work, "empty");
  const r = await snapshelfRaw(["serve", "--dir", empty, "--port", "0", "--workers", "2"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nothing built yet/);
  assert.match(r.stderr, /cannot serve: a worker stopped before listening/);
});

test("--workers refuses what is not a count", async () => {
  for (const bad of ["0", "-1", "two", "1.5"]) {
    const r = await snapshelfRaw(["serve", "--dir", store, "--port", "0", "--workers", bad]);
    assert.notEqual(r.code, 0, bad);
    assert.match(r.stderr, /cannot use --workers/, bad);
  }
});
