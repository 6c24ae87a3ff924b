/**
 * The device route through a `store` assertion, with the real snapd daemon:
 * a store assertion for this store's URL (signed here by snapd's published
 * test root, which test-keys snapd trusts directly, standing in for
 * Canonical) is imported and served where snapd looks for it; the steps
 * `snapshelf client-config --store-id` prints (snap known --remote, snap ack,
 * snap set core proxy.store) run on a device pointed at a first server; that
 * server is then stopped, and `snap install` still works: every daemon
 * request now goes to the URL in the store assertion.
 */

import assert from "node:assert/strict";
import { access, constants, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runDaemonSteps, snapClient } from "../support/daemon.js";
import { fixtureStore } from "../support/fixture-work.js";
import {
  currentRevision,
  freePort,
  type Manifest,
  realclientDir,
  removeWorkDir,
  type StartedProcess,
} from "../support/realclient.js";
import { rfc3339, signAssertion, snapdTestKeys } from "../support/signer.js";
import { serve, snapshelf } from "../support/snapshelf.js";

const STORE_ID = "offline-fleet";
let work: string;
let manifest: Manifest;
let store: string;
let first: StartedProcess | undefined;
let proxy: StartedProcess | undefined;
let proxyUrl: string;

before(async () => {
  ({ work, manifest, store } = await fixtureStore("client-config"));
  const port = await freePort();
  proxyUrl = `http://127.0.0.1:${port}`;
  const assertion = signAssertion(
    "store",
    {
      "authority-id": "testrootorg",
      store: STORE_ID,
      "operator-id": "testrootorg",
      url: proxyUrl,
      timestamp: rfc3339(new Date(Date.UTC(2026, 0, 1))),
    },
    snapdTestKeys().root,
  );
  const file = join(work, "store.assert");
  await writeFile(file, assertion);
  await snapshelf(["import", "--dir", store, file]);
  await snapshelf(["build", "--dir", store, "--base-url", proxyUrl]);
  proxy = await serve(store, ["--port", String(port)]);
  first = await serve(store); // its own URL: the device's SNAPPY_FORCE_API_URL
});

after(async () => {
  await first?.stop();
  await proxy?.stop();
  await removeWorkDir(work);
});

test("the store assertion is served where snapd fetches it", async () => {
  const res = await fetch(`${proxyUrl}/v2/assertions/store/${STORE_ID}?max-format=0`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^type: store$/m);
  assert.match(text, new RegExp(`^url: ${proxyUrl}$`, "m"));
});

test("client-config --store-id refuses a store assertion the store does not have", async () => {
  const { snapshelfRaw } = await import("../support/snapshelf.js");
  const res = await snapshelfRaw(["client-config", "--dir", store, "--store-id", "no-such-store"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot print the proxy.store steps: the store serves no store assertion "no-such-store"/);
});

test("a device following client-config --store-id installs through proxy.store", { timeout: 300_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root (the real snapd daemon in a mount namespace)");
  try {
    await access(join(realclientDir(), "snapd-testkeys"), constants.X_OK);
    await access("/dev/loop-control", constants.F_OK);
  } catch {
    return t.skip("needs snapd-testkeys (make realclient) and loop devices");
  }
  assert.ok(first?.url && first.child.pid !== undefined);
  const out = await snapshelf([
    "client-config",
    "--dir",
    store,
    "--url",
    first.url,
    "--store-id",
    STORE_ID,
    "--format",
    "script",
  ]);
  const steps = out.stdout.split("\n").filter((l) => /^snap (known|ack|set core proxy\.store)/.test(l));
  assert.equal(steps.length, 7, out.stdout);
  const sb = join(work, "daemon");
  const snap = snapClient();
  const { log } = await runDaemonSteps(sb, first.url, [
    ...steps.map((s) => `!${snap}${s.slice("snap".length)}`),
    // the server SNAPPY_FORCE_API_URL names goes away: only proxy.store can reach the store now
    `!kill ${first.child.pid}`,
    "install hello-offline",
    `!${snap} list >${join(sb, "list.txt")}`,
  ]);
  for (const s of steps) {
    const at = log.indexOf(`+ ${snap}${s.slice("snap".length)}`);
    assert.ok(at >= 0, `step ran: ${s}\n${log.slice(-3000)}`);
    assert.match(log.slice(at).split(/^ {2}rc=/m)[1] ?? "", /^0/, `${s}: rc=0\n${log.slice(at, at + 800)}`);
  }
  // SNAPD_DEBUG_HTTP logs every request: the install asked the store assertion's URL
  const snapdLog = await readFile(join(sb, "snapd.log"), "utf8").catch(() => "");
  assert.ok(snapdLog.includes(`${proxyUrl}/v2/snaps/refresh`), "snapd sent the install to the proxy.store URL");
  const list = await readFile(join(sb, "list.txt"), "utf8").catch(() => "");
  const want = currentRevision(manifest, "hello-offline", "latest/stable");
  assert.match(
    list,
    new RegExp(`^hello-offline\\s+\\S+\\s+${want?.revision}\\s`, "m"),
    `snap list:\n${list}\n${log.slice(-3000)}`,
  );
});
