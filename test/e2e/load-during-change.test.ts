/**
 * Serving during change: `snapshelf serve` answers a steady load of real
 * device requests (snapd-shaped refresh-all and install bodies, then the
 * download of every blob named, checked against its sha3-384) while the
 * operator imports new snaps, moves releases and builds new generations,
 * SIGHUPping the server after each build. Snapd's own client (the probe)
 * refreshes and verifies downloads in between. Zero failed requests: every
 * answer is 200, every download URL resolves to the advertised bytes, no
 * connection is dropped, whichever generation answered.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildStore } from "../../src/build/build.js";
import { importInputs } from "../../src/ops/import.js";
import { storeLayout } from "../../src/store/layout.js";
import { releaseRevision } from "../../src/store/release.js";
import { startDeviceLoad } from "../support/device-load.js";
import {
  type Manifest,
  makeFixtures,
  probeRefreshAll,
  type StartedProcess,
  startProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { installBody, writeInstalledOldest } from "../support/snapd-request.js";
import { cliPath, fixtureRoots, releaseOrder, snapshelf } from "../support/snapshelf.js";
import { writeSignedSnap } from "../support/synthetic-snap.js";

/** How many changes (import + release + build + SIGHUP) happen under load. */
const CHANGES = 8;
const WORKERS = 6;

let work: string;
let fixtures: string;
let manifest: Manifest;
let store: string;
let server: StartedProcess;
let url: string;
let installedFile: string;

before(async () => {
  work = await tmpWorkDir("load-during-change");
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  store = join(work, "store");
  const layout = storeLayout(store);
  await importInputs(layout, [join(fixtures, manifest["assert-dir"])], {
    trustedRoots: fixtureRoots(fixtures, manifest),
  });
  await importInputs(
    layout,
    manifest.snaps.flatMap((s) => s.revisions.map((r) => join(fixtures, r.file))),
  );
  for (const e of releaseOrder(manifest)) {
    await releaseRevision(layout, e.name, e.revision, [e.channel], { arch: e.arch });
  }
  await buildStore(layout);
  server = await startProcess(process.execPath, [
    cliPath(),
    "serve",
    "--dir",
    store,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  url = server.url ?? assert.fail("serve printed no URL");
  installedFile = join(work, "installed.json");
  await writeInstalledOldest(installedFile, manifest);
});

after(async () => {
  await server?.stop();
});

test("devices are served without a single failure while imports and builds happen", {
  timeout: 300_000,
}, async (t) => {
  const newNames = Array.from({ length: CHANGES }, (_, i) => `load-snap-${i}`);
  // the new snaps appear as they are imported: not found before, installable after
  const load = startDeviceLoad({
    url,
    manifest,
    workers: WORKERS,
    installNames: ["hello-offline", "tool-a", ...newNames],
  });
  const { failures, stats } = load;
  let probes = 0;
  const started = Date.now();
  const generations: number[] = [];
  try {
    const hello = manifest.snaps.find((s) => s.name === "hello-offline");
    const amd64Revs = hello?.revisions.filter((r) => r.architectures.includes("amd64")).map((r) => r.revision) ?? [];
    for (let i = 0; i < CHANGES; i++) {
      // a new snap, signed by the test store, imported and released
      const name = newNames[i] ?? "x";
      const { file: blob } = await writeSignedSnap(work, {
        name,
        version: `1.${i}`,
        architectures: i % 2 ? ["all"] : ["amd64"],
      });
      await snapshelf(["import", "--dir", store, "--release", "stable", blob]);
      // and a release moved: hello-offline's stable walks through its amd64 revisions
      const rev = amd64Revs[i % amd64Revs.length] ?? 1;
      await snapshelf(["release", "--dir", store, "--arch", "amd64", "hello-offline", String(rev), "stable"]);
      const out = await snapshelf(["build", "--dir", store]);
      generations.push(Number(/generation (\d+)/.exec(out.stdout)?.[1] ?? 0));
      process.kill(server.child.pid ?? 0, "SIGHUP");
      // snapd's own client, mid-load: refresh everything and verify every download
      const probe = await probeRefreshAll(url, installedFile, join(work, `probe-${i}`));
      probes++;
      if (probe["ok"] !== true) failures.push(`probe refresh-all after change ${i}: ${JSON.stringify(probe)}`);
    }
    // the last change is visible to devices: the newest snap installs
    const last = await load.post("install", installBody([newNames[CHANGES - 1] ?? ""]), "amd64");
    assert.equal(last[0]?.snap?.name, newNames[CHANGES - 1], JSON.stringify(last));
  } finally {
    await load.stop();
  }
  t.diagnostic(
    `${CHANGES} changes (generations ${generations.join(", ")}) in ${Date.now() - started} ms under load: ` +
      `${stats.refreshes} refresh-alls, ${stats.installs} installs, ${stats.downloads} downloads ` +
      `(${Math.round(stats.bytes / 1024)} KiB), ${probes} probe refreshes`,
  );
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failed requests`);
  assert.ok(stats.refreshes > CHANGES && stats.downloads > 0, "the load ran throughout");
  assert.ok(server.alive(), "the server is alive");
});
