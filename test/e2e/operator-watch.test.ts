/**
 * What an operator watches (issue 12, point 4): the load balancers' health
 * path from serve and through nginx, serve's access log, and download counts
 * in `status` summed over serve processes (workers too), counts only.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildFixtureStore, committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import { startNginx } from "../support/nginx.js";
import { cliJson } from "../support/ops-e2e.js";
import { freePort, type Manifest, removeWorkDir, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { serve, snapshelfBare } from "../support/snapshelf.js";

const UA = "snapd/2.57.6 (series 16; classic) debian/12 (arm64) linux/6.1.0";

let work: string;
let store: string;
let m: Manifest;

interface StatusDownloads {
  downloads: { processes: number; counts: { name: string; revision: number; downloads: number }[] };
}

function blobUrl(url: string, name: string, revision: number): string {
  const rev = m.snaps.find((s) => s.name === name)?.revisions.find((r) => r.revision === revision);
  assert.ok(rev, `${name} ${revision}`);
  return `${url}/blobs/${rev["sha3-384"]}.snap`;
}

async function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  const r = await fetch(url, {
    method,
    headers: { "User-Agent": UA, ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  return r;
}

/** Polls `status` until the counts reach `want` downloads in all (bounded: serve writes them every 5 s). */
async function countsReach(want: number): Promise<StatusDownloads["downloads"]> {
  let d: StatusDownloads["downloads"] = { processes: 0, counts: [] };
  for (let i = 0; i < 30; i++) {
    d = (await cliJson<StatusDownloads>(store, "status")).downloads;
    if (d.counts.reduce((n, c) => n + c.downloads, 0) >= want) return d;
    await new Promise((r) => setTimeout(r, 250));
  }
  return d;
}

before(async () => {
  work = await tmpWorkDir("operator-watch");
  m = await committedManifest();
  store = join(work, "store");
  await buildFixtureStore(await makeFixtureStore(store));
});

after(async () => {
  await removeWorkDir(work);
});

test("health check, access log and download counts from one serve", { timeout: 120_000 }, async () => {
  const log = join(work, "access.log");
  let srv: StartedProcess | undefined;
  try {
    srv = await serve(store, ["--access-log", log]);
    const url = srv.url ?? assert.fail("no URL");

    const check = await fetch(`${url}/_status/check`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(check.status, 200);
    assert.deepEqual(await check.json(), { status: "ok", generation: 1 });
    const head = await fetch(`${url}/_status/check`, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");

    // counted: full downloads and a range from byte 0; not counted: a resumed range, HEAD, a missing blob
    assert.equal((await get(blobUrl(url, "hello-offline", 2))).status, 200);
    assert.equal((await get(blobUrl(url, "hello-offline", 2))).status, 200);
    assert.equal((await get(blobUrl(url, "tool-data", 1), { Range: "bytes=0-99" })).status, 206);
    assert.equal((await get(blobUrl(url, "tool-data", 1), { Range: "bytes=100-" })).status, 206);
    assert.equal((await get(blobUrl(url, "core22", 1), {}, "HEAD")).status, 200);
    assert.equal((await get(`${url}/blobs/${"0".repeat(96)}.snap`)).status, 404);

    const d = await countsReach(3);
    assert.equal(d.processes, 1);
    assert.deepEqual(d.counts, [
      { name: "hello-offline", revision: 2, downloads: 2 },
      { name: "tool-data", revision: 1, downloads: 1 },
    ]);
    // the files hold counts per blob, nothing about devices
    const status = await readFile(join(store, "state", "downloads", `${srv.child.pid}.json`), "utf8");
    assert.doesNotMatch(status, /127\.0\.0\.1|snapd\/|arm64/);

    const lines = (await readFile(log, "utf8")).trimEnd().split("\n");
    assert.equal(lines.length, 8, lines.join("\n"));
    assert.match(
      lines[0] ?? "",
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/_status\/check HTTP\/1\.1" 200 \d+ "-" "node" arch=- snapd=-$/,
    );
    const hello = blobUrl("", "hello-offline", 2);
    assert.match(
      lines[2] ?? "",
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET ${hello} HTTP/1\\.1" 200 \\d+ "-" "${UA.replace(/[().;]/g, "\\$&")}" arch=arm64 snapd=2\\.57\\.6$`,
      ),
    );
    assert.match(lines[7] ?? "", /" 404 \d+ /);
    // a device's Snap-Device-Architecture header wins over the User-Agent
    await get(`${url}/_status/check`, { "Snap-Device-Architecture": "riscv64" });
    for (let i = 0; i < 40 && !(await readFile(log, "utf8")).includes("arch=riscv64"); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(await readFile(log, "utf8"), /arch=riscv64 snapd=2\.57\.6\n$/);
  } finally {
    await srv?.stop();
  }
  // a stopped serve counts no more
  const after = await cliJson<StatusDownloads>(store, "status");
  assert.deepEqual(after.downloads, { processes: 0, counts: [] });
});

test("counts are summed over serve workers", { timeout: 120_000 }, async () => {
  let srv: StartedProcess | undefined;
  try {
    srv = await serve(store, ["--workers", "2"]);
    const url = srv.url ?? assert.fail("no URL");
    // fresh connections each time, so the kernel spreads them over the workers
    for (let i = 0; i < 6; i++) {
      const r = await get(blobUrl(url, "hello-offline", 1), { Connection: "close" });
      assert.equal(r.status, 200);
    }
    const d = await countsReach(6);
    assert.equal(d.processes, 2, "each worker counts in its own file");
    assert.deepEqual(d.counts, [{ name: "hello-offline", revision: 1, downloads: 6 }]);
  } finally {
    await srv?.stop();
  }
});

test("nginx routes the health check to serve", { timeout: 120_000 }, async () => {
  let shim: StartedProcess | undefined;
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    shim = await serve(store);
    nginx = await startNginx({ work, store, port: await freePort(), upstream: shim.url ?? assert.fail("no URL") });
    const r = await fetch(`${nginx.url}/_status/check`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: "ok", generation: 1 });
    const h = await fetch(`${nginx.url}/_status/check`, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
    assert.equal(h.status, 200);
    // with serve gone the load balancer hears it
    await shim.stop();
    shim = undefined;
    const down = await fetch(`${nginx.url}/_status/check`, { signal: AbortSignal.timeout(10_000) });
    assert.notEqual(down.status, 200);
  } finally {
    await nginx?.stop();
    await shim?.stop();
  }
});

test("the catalogue page shows each snap's stable version, and the store's name and last change in its header", async () => {
  const dir = join(work, "named");
  const init = await snapshelfBare([
    "init",
    "--dir",
    dir,
    "--base-url",
    "http://store.test:8000",
    "--name",
    "Fleet <Store>",
  ]);
  assert.equal(init.code, 0, init.stderr);
  const built = await buildFixtureStore(await makeFixtureStore(dir));
  const html = await readFile(join(built.path, "index.html"), "utf8");
  assert.match(html, /<title>Fleet &#60;Store&#62;<\/title>/);
  assert.match(html, /<h1>Fleet &#60;Store&#62;<\/h1>/);
  // the newest time in the records (fixed in the fixture), not the clock: two builds stay identical
  const updated =
    /<p class="meta" id="store-meta">Snaps on store\.test:8000 · updated <time datetime="([^"]+)">(\d{4}-\d\d-\d\d)<\/time><\/p>/.exec(
      html,
    );
  assert.ok(updated, "the header says when the store last changed");
  const newest = [...html.matchAll(/data-updated="([^"]+)"/g)]
    .map((x) => x[1] ?? "")
    .sort()
    .at(-1);
  assert.equal(updated[1], newest);
  assert.equal(updated[2], newest?.slice(0, 10));
  const stable = (name: string): string | undefined => {
    const card = new RegExp(`<article class="snap" id="snap-${name}".*?</article>`, "s").exec(html)?.[0] ?? "";
    // outside the <details> of channels: shown without opening the card
    const head = card.split("<details>")[0] ?? "";
    return /<p class="stable">stable: <span class="version">([^<]*)<\/span><\/p>/.exec(head)?.[1];
  };
  assert.deepEqual(["hello-offline", "tool-a", "tool-data", "core22", "snapd"].map(stable), [
    "1.1",
    "2.1",
    "1.0",
    "20240101",
    "2.57.6",
  ]);
  // without a name: the base URL's host
  const plain = await readFile(join(store, "trees", "1", "index.html"), "utf8");
  assert.match(plain, /<h1>store\.test:8000<\/h1>/);
});
