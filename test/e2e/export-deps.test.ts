/**
 * `export --with-deps`: the closure over bases, snapd and content providers,
 * and (with the real snapd daemon, as root) a device installing an app from a
 * store made only from the deps-closed export of that one app. Without
 * `--with-deps`, every missing dependency is a warning.
 */
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureDouble } from "../support/fixture-work.js";
import { type Manifest, removeWorkDir, runCheck } from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";
import { bundleJson, rootArgs, type UpstreamDouble } from "../support/upstream-double.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble;

before(async () => {
  ({ work, fixtures, manifest, double } = await fixtureDouble("export-deps"));
});

after(async () => {
  await double?.close();
  await removeWorkDir(work);
});

async function bundlesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".snapshelf.tar")).sort();
}

test("--with-deps pulls the base, snapd and the content provider of a default-provider plug", async () => {
  const dir = join(work, "tool-a-deps");
  const res = await snapshelf(double.exportArgs(dir, "tool-a", "--with-deps"));
  assert.deepEqual(await bundlesIn(dir), [
    "core22.snapshelf.tar",
    "snapd.snapshelf.tar",
    "tool-a.snapshelf.tar",
    "tool-data.snapshelf.tar",
  ]);
  assert.doesNotMatch(res.stderr, /warning: .*needs/);
  // dependencies come from stable
  const core22 = await bundleJson(join(dir, "core22.snapshelf.tar"));
  assert.deepEqual(core22["channel-map"], [
    { channel: "latest/stable", arch: "amd64", revision: 1, "released-at": "2024-01-01T12:00:00.000Z" },
  ]);
});

test("without --with-deps, export warns about every missing dependency", async () => {
  const dir = join(work, "tool-a-alone");
  const res = await snapshelf(double.exportArgs(dir, "tool-a"));
  assert.deepEqual(await bundlesIn(dir), ["tool-a.snapshelf.tar"]);
  assert.match(res.stderr, /warning: tool-a needs core22 \(its base\), which this export does not include/);
  assert.match(res.stderr, /warning: tool-a needs snapd \(needed with a base other than core\)/);
  assert.match(res.stderr, /warning: tool-a needs tool-data \(default provider of a content plug\)/);
  // what the offline store already has is not missing (--since its manifest)
  const store = join(work, "deps-store");
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), join(work, "tool-a-deps")]);
  const have = join(work, "deps-have.json");
  await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);
  const again = await snapshelf(double.exportArgs(join(work, "tool-a-again"), "tool-a", "--since", have));
  assert.doesNotMatch(again.stderr, /warning: .*needs/);
});

test("a device installs an app (with its prerequisites) from the deps-closed export of that app alone", {
  timeout: 600_000,
}, async (t) => {
  const dir = join(work, "hello-deps");
  await snapshelf(double.exportArgs(dir, "hello-offline", "--with-deps"));
  assert.deepEqual(await bundlesIn(dir), [
    "core22.snapshelf.tar",
    "hello-offline.snapshelf.tar",
    "snapd.snapshelf.tar",
  ]);
  const store = join(work, "hello-store");
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), dir]);
  await snapshelf(["build", "--dir", store]);
  const server = await serve(store);
  t.after(() => server.stop());
  assert.ok(server.url);
  const res = await runCheck(server.url, join(fixtures, "manifest.json"), { only: "^daemon-install" });
  const ran = res.scenarios.find((s) => s.name === "daemon-install-with-prereqs");
  if (ran === undefined) {
    t.skip("the real snapd daemon scenario needs root, unshare and loop devices");
    return;
  }
  assert.ok(ran.passed, `${ran.name}: ${ran.reason} (log ${res.logFile})`);
  assert.match(ran.reason, /hello-offline r2 with prerequisites core22 r1 and snapd r1/);
});
