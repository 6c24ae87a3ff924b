/**
 * Zero states: a store with no snaps builds a generation that every verb
 * after it handles (serve, status, verify, nginx-config, client-config,
 * generations, rollback). Two such stores: one never given anything, and one
 * holding only the real Canonical-signed assertions of ../shared/real-store
 * (the generic model chain, verified with the built-in root: no
 * --trusted-root). Through `serve`, the real client (`snap known --remote`)
 * fetches the generic-classic model from the second.
 */
import assert from "node:assert/strict";
import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  realclientDir,
  removeWorkDir,
  repoRoot,
  runCommand,
  type StartedProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";

const REAL_ASSERTIONS = join(repoRoot(), "..", "shared", "real-store", "assertions");
const MODEL = ["model", "series=16", "brand-id=generic", "model=generic-classic"] as const;

let work: string;
const servers: StartedProcess[] = [];

before(async () => {
  work = await tmpWorkDir("zero-states");
});

after(async () => {
  for (const s of servers) await s.stop();
  await removeWorkDir(work);
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** Every verb after a build of a store with no snaps; returns the server it started. */
async function everyVerb(dir: string, holds: RegExp): Promise<StartedProcess> {
  await snapshelf(["build", "--dir", dir, "--base-url", "http://127.0.0.1:9/"]);
  const status = await snapshelf(["status", "--dir", dir]);
  assert.match(status.stdout, /in service: +generation 1 /, status.stdout);
  assert.match(status.stdout, holds, status.stdout);
  const verify = await snapshelf(["verify", "--dir", dir]);
  assert.match(`${verify.stdout}${verify.stderr}`, /no problems found/);
  const nginx = await snapshelf(["nginx-config", "--dir", dir]);
  assert.match(nginx.stdout, /this file names generation 1/);
  // the test's base URL is loopback, which client-config refuses to hand devices unless told so
  const client = await snapshelf(["client-config", "--dir", dir, "--url", "http://127.0.0.1:9/"]);
  assert.match(client.stdout, /SNAPPY_FORCE_API_URL=http:\/\/127\.0\.0\.1:9\//);
  // a second generation, then back to the first
  await snapshelf(["build", "--dir", dir, "--base-url", "http://127.0.0.1:9/"]);
  const gens = await snapshelf(["generations", "--dir", dir]);
  assert.match(gens.stdout, /^\*2 /m, gens.stdout);
  await snapshelf(["rollback", "--dir", dir, "1"]);
  const back = await snapshelf(["status", "--dir", dir]);
  assert.match(back.stdout, /in service: +generation 1 /, back.stdout);
  assert.match((await snapshelf(["verify", "--dir", dir])).stdout, /no problems found/);

  const server = await serve(dir);
  servers.push(server);
  const url = server.url ?? assert.fail("serve printed its URL");
  // a store of no snaps answers like the real one does for an unknown snap
  const info = await get(`${url}/v2/snaps/info/hello`);
  assert.equal(info.status, 404, info.body);
  assert.match(info.body, /"code":"resource-not-found"/);
  const refresh = await fetch(`${url}/v2/snaps/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json", "snap-device-series": "16" },
    body: JSON.stringify({ context: [], actions: [] }),
  });
  assert.equal(refresh.status, 200, await refresh.clone().text());
  assert.deepEqual((await refresh.json()) as unknown, { "error-list": [], results: [] });
  return server;
}

describe("a store with nothing in it", () => {
  test("before the first build, every verb says so in one line or reports nothing", { timeout: 120_000 }, async () => {
    const dir = join(work, "never-built");
    for (const v of ["status", "list", "generations", "log", "verify"]) {
      const res = await snapshelfRaw([v, "--dir", dir]);
      assert.equal(res.code, 0, `${v}: ${res.stdout}${res.stderr}`);
      assert.doesNotMatch(res.stderr, /^error:|\n\s+at /m, v);
    }
    for (const v of [["serve", "--port", "0"], ["nginx-config"], ["client-config"], ["rollback"]]) {
      const res = await snapshelfRaw([...v, "--dir", dir]);
      assert.equal(res.code, 1, `${v[0]}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, /^error: cannot [^\n]*: nothing built yet[^\n]*\n$/, v[0]);
    }
  });

  test("builds, serves, reports, verifies and rolls back", { timeout: 120_000 }, async () => {
    await everyVerb(join(work, "empty"), /holds: +0 snaps, 0 revisions, 0 releases, 0 overrides, 0 assertions/);
  });
});

describe("a store holding only real Canonical-signed assertions (the generic model chain)", () => {
  let dir: string;
  let server: StartedProcess;

  before(async () => {
    dir = join(work, "assertions-only");
    const files = await readdir(REAL_ASSERTIONS);
    assert.ok(files.length >= 5, `real assertions in ${REAL_ASSERTIONS}`);
    // no --trusted-root: Canonical's root is built in
    const res = await snapshelf(["import", "--dir", dir, REAL_ASSERTIONS]);
    // the canonical account and root key are the built-in root: the generic account, key and model are new
    assert.match(res.stdout, /^3 new assertions, 0 new revisions, 0 releases/m);
  });

  test("builds, serves, reports, verifies and rolls back", { timeout: 120_000 }, async () => {
    server = await everyVerb(dir, /holds: +0 snaps, 0 revisions, 0 releases, 0 overrides, 3 assertions/);
    const model = await get(`${server.url}/v2/assertions/${MODEL[0]}/16/generic/generic-classic`);
    assert.equal(model.status, 200, model.body);
    assert.match(model.body, /^type: model$/m);
  });

  test("the real client fetches the model through serve (snap known --remote)", { timeout: 120_000 }, async (t) => {
    const snap = join(realclientDir(), "snap-testkeys");
    if (
      !(await access(snap).then(
        () => true,
        () => false,
      ))
    ) {
      t.skip("no real client built (make realclient)");
      return;
    }
    assert.ok(server, "the previous test started a server");
    const res = await runCommand(snap, ["known", "--remote", ...MODEL], {
      env: { SNAPPY_FORCE_API_URL: `${server.url}/` },
      timeoutMs: 60_000,
    });
    assert.equal(res.code, 0, `${res.stdout}${res.stderr}`);
    assert.match(res.stdout, /^type: model$/m);
    assert.match(res.stdout, /^brand-id: generic$/m);
    assert.match(res.stdout, /^model: generic-classic$/m);
  });
});
