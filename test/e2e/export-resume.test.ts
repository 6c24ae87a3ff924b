/**
 * Export against the upstream double's fault knobs and history steps:
 * `--since` bundles carry only the new revisions; an export killed in the
 * middle of a download resumes (Range) without downloading completed blobs
 * again; transfers cut short and 503s are retried; a corrupted blob is
 * rejected with nothing written; unknown snaps and channels not released for
 * an architecture fail with specific errors.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { storeLayout } from "../../src/store/layout.js";
import { readRecords } from "../../src/store/state.js";
import { pathExists } from "../../src/util/fs.js";
import { fixtureDouble } from "../support/fixture-work.js";
import { type Manifest, removeWorkDir, startProcess } from "../support/realclient.js";
import { cliPath, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { bundleJson, fileSize, rootArgs, tarEntries, type UpstreamDouble } from "../support/upstream-double.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble;

before(async () => {
  ({ work, fixtures, manifest, double } = await fixtureDouble("export-resume"));
});

after(async () => {
  await double?.close();
  await removeWorkDir(work);
});

function rev(name: string, revision: number) {
  const r = manifest.snaps.find((s) => s.name === name)?.revisions.find((x) => x.revision === revision);
  assert.ok(r, `${name} r${revision} in the fixture`);
  return r;
}

async function bundlesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).filter((n) => n.endsWith(".snapshelf.tar")).sort();
}

test("--since: bundles carry only the revisions and assertions the offline store lacks", async () => {
  double.setStep(0);
  const store = join(work, "since-store");
  const first = join(work, "since-0");
  await snapshelf(double.exportArgs(first, "hello-offline", "core22", "--channel", "stable", "--channel", "edge"));
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), first]);
  const have = join(work, "since-have.json");
  await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);

  double.setStep(1); // hello-offline: stable r1 -> r2, edge r3 -> r8; core22 unchanged
  const next = join(work, "since-1");
  await snapshelf(
    double.exportArgs(next, "hello-offline", "core22", "--channel", "stable", "--channel", "edge", "--since", have),
  );
  const hello = join(next, "hello-offline.snapshelf.tar");
  const entries = await tarEntries(hello);
  const asserts = [2, 8]
    .map((n) => `assertions/snap-revision_${rev("hello-offline", n)["snap-sha3-384"]}.assert`)
    .sort();
  assert.deepEqual(
    entries.map((e) => e.path),
    ["bundle.json", ...asserts, "blobs/hello-offline_2.snap", "blobs/hello-offline_8.snap"],
  );
  assert.deepEqual(
    entries.filter((e) => e.path.startsWith("blobs/")).map((e) => e.size),
    [rev("hello-offline", 2).size, rev("hello-offline", 8).size],
  );
  // the snap-revisions are the fixture's, byte for byte
  for (const e of entries.filter((x) => x.path.startsWith("assertions/"))) {
    const r = e.path.includes(rev("hello-offline", 2)["snap-sha3-384"])
      ? rev("hello-offline", 2)
      : rev("hello-offline", 8);
    assert.equal(e.size, (await readFile(join(fixtures, r["snap-revision"]))).length);
  }
  const doc = await bundleJson(hello);
  assert.deepEqual(doc["channel-map"], [
    { channel: "latest/stable", arch: "amd64", revision: 2, "released-at": "2024-01-08T12:00:00.000Z" },
    { channel: "latest/edge", arch: "amd64", revision: 8, "released-at": "2024-01-08T12:00:00.000Z" },
  ]);
  // an unchanged snap: just its channel map and metadata
  assert.deepEqual(
    (await tarEntries(join(next, "core22.snapshelf.tar"))).map((e) => e.path),
    ["bundle.json"],
  );
  // and the offline store takes it, extending the channel's history
  await snapshelf(["import", "--dir", store, next]);
  const records = await readRecords(storeLayout(store));
  assert.deepEqual(
    records.releases.filter((r) => r.name === "hello-offline" && r.channel === "latest/stable").map((r) => r.revision),
    [1, 2],
  );
  double.setStep(double.maxStep);
});

test("an export killed mid-download resumes without downloading completed blobs again", async () => {
  const dir = join(work, "killed");
  const args = [cliPath(), ...double.exportArgs(dir, "hello-offline", "tool-data", "--parallel", "1")];
  const helloCdn = double.blobPath("hello-offline", 2);
  const dataCdn = double.blobPath("tool-data", 1);
  const helloBefore = double.count(helloCdn);
  const stalled = double.stallOnce("tool-data", 1, 5000);
  const cli = await startProcess(process.execPath, args, { ready: null });
  await stalled;
  const partial = join(dir, ".partial", `${rev("tool-data", 1)["sha3-384"]}.snap.partial`);
  // the partial file reaches the bytes the double sent (a bounded wait, not a timing assertion)
  for (let i = 0; i < 200 && (await fileSize(partial)) !== 5000; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await fileSize(partial), 5000);
  // meanwhile, a second export into the same directory is refused
  const second = await snapshelfRaw(double.exportArgs(dir, "core22"));
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    new RegExp(
      `error: cannot export: export directory \\S+ is busy: export by process ${cli.child.pid} since \\S+ \\(use --wait to wait\\)`,
    ),
  );
  process.kill(-cli.child.pid!, "SIGKILL");
  await cli.stop();
  double.releaseStalls();
  assert.deepEqual(await bundlesIn(dir), [], "a killed export writes no bundle");
  assert.equal(double.count(helloCdn), helloBefore + 1);
  assert.ok(await pathExists(join(dir, ".cache", "blobs", `${rev("hello-offline", 2)["sha3-384"]}.snap`)));
  const before = double.log.length;

  const res = await snapshelf(double.exportArgs(dir, "hello-offline", "tool-data"));
  assert.match(res.stderr, /hello-offline_2\.snap: already downloaded/);
  assert.equal(double.count(helloCdn), helloBefore + 1, "the completed blob was not downloaded again");
  const again = double.log.slice(before).filter((l) => l.path === dataCdn);
  assert.deepEqual(again, [{ method: "GET", path: dataCdn, range: "bytes=5000-", status: 206 }]);
  assert.deepEqual(await bundlesIn(dir), ["hello-offline.snapshelf.tar", "tool-data.snapshelf.tar"]);
  // the bundles hold the blobs now: partial files, cache, staging and lock are gone
  assert.deepEqual((await readdir(dir)).sort(), ["hello-offline.snapshelf.tar", "tool-data.snapshelf.tar"]);
  const store = join(work, "killed-store");
  const imp = await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), dir]);
  assert.match(imp.stdout, /imported tool-data revision 1/);
});

test("a transfer cut short is resumed with Range, and 503s are retried", async () => {
  const dir = join(work, "flaky");
  const partial = join(dir, ".partial", `${rev("core22", 1)["sha3-384"]}.snap.partial`);
  // cut once the client has the first 3000 bytes on disk (bounded wait), so the retry must resume
  double.cutOnce("core22", 1, 3000, async () => {
    for (let i = 0; i < 200 && (await fileSize(partial)) !== 3000; i++) await new Promise((r) => setTimeout(r, 25));
  });
  double.fail503("/v2/snaps/info/core22", 2);
  const infoBefore = double.count("/v2/snaps/info/core22");
  const before = double.log.length;
  const res = await snapshelf(double.exportArgs(dir, "core22"));
  assert.match(res.stderr, /HTTP 503; retrying in 500 ms/);
  assert.equal(double.count("/v2/snaps/info/core22") - infoBefore, 3);
  const cdn = double.log.slice(before).filter((l) => l.path === double.blobPath("core22", 1));
  assert.deepEqual(
    cdn.map((l) => `${l.range ?? "-"} ${l.status}`),
    ["- 200", "bytes=3000- 206"],
  );
  assert.deepEqual(await bundlesIn(dir), ["core22.snapshelf.tar"]);
});

test("a corrupted blob from upstream is rejected and nothing is written for it", async () => {
  const dir = join(work, "corrupt");
  double.corrupt("tool-data", 1);
  const res = await snapshelfRaw(double.exportArgs(dir, "hello-offline", "tool-data"));
  assert.equal(res.code, 1);
  const hex = rev("tool-data", 1)["sha3-384"];
  assert.match(
    res.stderr,
    new RegExp(
      `error: cannot download tool-data_1\\.snap from \\S+: sha3-384 mismatch: got [0-9a-f]{96} but expected ${hex}\\n`,
    ),
  );
  assert.deepEqual(await bundlesIn(dir), [], "no bundle at all from a failed export");
  assert.equal(await pathExists(join(dir, ".cache", "blobs", `${hex}.snap`)), false);
  assert.equal(await pathExists(join(dir, ".partial", `${hex}.snap.partial`)), false);
});

test("unknown snaps and channels not released for an architecture fail with specific errors", async () => {
  const dir = join(work, "errors");
  const unknown = await snapshelfRaw(double.exportArgs(dir, "no-such-snap"));
  assert.equal(unknown.code, 1);
  assert.equal(
    unknown.stderr.trim().split("\n").pop(),
    `error: cannot export "no-such-snap": snap not found in ${double.url}`,
  );
  const noChannel = await snapshelfRaw(
    double.exportArgs(dir, "hello-offline", "--channel", "stable/hotfix-1", "--arch", "arm64"),
  );
  assert.equal(noChannel.code, 1);
  assert.match(
    noChannel.stderr,
    /error: cannot export "hello-offline": nothing released in latest\/stable\/hotfix-1 for arm64 \(released: arm64: latest\/stable r4, latest\/candidate r4, latest\/edge r4, 2\.x\/stable r6\)/,
  );
  const noNet = await snapshelfRaw([
    "export",
    "--upstream",
    "http://127.0.0.1:9",
    "--retries",
    "2",
    "--export-dir",
    dir,
    "hello-offline",
  ]);
  assert.equal(noNet.code, 1);
  assert.match(
    noNet.stderr,
    /error: cannot get info of hello-offline \(amd64\) from http:\/\/127\.0\.0\.1:9: .*\(gave up after 2 attempts\)\n$/,
  );
  // a chain that does not end at a trusted root (the fixture's root is not given): refused before any download
  const snapdCdn = double.blobPath("snapd", 1);
  const snapdBefore = double.count(snapdCdn);
  const untrusted = await snapshelfRaw(["export", "--upstream", double.url, "--export-dir", dir, "snapd"]);
  assert.equal(untrusted.code, 1);
  assert.equal(double.count(snapdCdn), snapdBefore);
  assert.match(
    untrusted.stderr,
    /error: cannot verify account-key \(\S+\): no matching public key .*is its root trusted\? \(--trusted-root FILE\)\n$/,
  );
  assert.deepEqual(await bundlesIn(dir), []);
});
