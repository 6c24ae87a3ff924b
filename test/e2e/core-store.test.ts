/**
 * The core store end to end with the real snapd client code: the signed
 * fixture catalogue is imported through the CLI, built, served on a free
 * loopback port, and check.sh runs every conformance scenario against it
 * (including the real snapd daemon's install and refresh when run as root),
 * once with snapd 2.57.6's clients and once with 2.68.3's.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureStore } from "../support/fixture-work.js";
import {
  CLIENT_SETS,
  type Manifest,
  probeInstall,
  removeWorkDir,
  runCheck,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let store: string;
let server: StartedProcess | undefined;
let checkWork: string | undefined;

before(async () => {
  ({ work, fixtures, manifest, store } = await fixtureStore("core-store"));
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
});

after(async () => {
  await server?.stop();
  await removeWorkDir(work);
});

for (const clients of CLIENT_SETS) {
  test(`check.sh (snapd ${clients.snapd}): every real-client scenario passes against snapshelf serve`, {
    timeout: 900_000,
  }, async (t) => {
    assert.ok(server?.url, "serve printed its URL");
    const res = await runCheck(server.url, join(fixtures, "manifest.json"), { clients });
    t.diagnostic(res.summary);
    assert.equal(res.snapd, clients.snapd, `the clients in ${clients.dir()}`);
    checkWork ??= res.work;
    const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
    assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
    assert.equal(res.failed, 0);
    // 49 with the real snapd daemon scenarios (root, unshare, loop devices), 47 without
    const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
    assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
    if (process.getuid?.() === 0) assert.ok(daemon, "as root, the real daemon scenarios must run");
  });
}

test("what `snap download` wrote (NAME_REV.snap + NAME_REV.assert) imports into a fresh store", async () => {
  assert.ok(checkWork, "check.sh ran first");
  // check.sh's real `snap download hello-offline` left the pair in its scenario directory
  const dir = join(checkWork, "download-default-hello-offline");
  const snaps = (await readdir(dir)).filter((f) => f.endsWith(".snap"));
  assert.equal(snaps.length, 1, `one .snap in ${dir}`);
  const snap = join(dir, snaps[0] ?? "");
  const fresh = join(work, "fresh");
  const roots = [manifest.assertions["root-account"], manifest.assertions["root-account-key"]].map((r) =>
    join(fixtures, r ?? ""),
  );
  const res = await snapshelf([
    "import",
    "--dir",
    fresh,
    ...roots.flatMap((r) => ["--trusted-root", r]),
    "--release",
    "stable",
    snap,
  ]);
  assert.match(res.stdout, /imported hello-offline revision \d+ \(amd64\)/);
  await snapshelf(["build", "--dir", fresh]);
  const second = await serve(fresh);
  try {
    const probe = await probeInstall(second.url ?? "", "hello-offline", { download: join(work, "fresh-dl") });
    assert.equal(probe["ok"], true, JSON.stringify(probe));
  } finally {
    await second.stop();
  }
});
