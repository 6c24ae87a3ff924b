/**
 * The core store end to end with the real snapd client code: the signed
 * fixture catalogue is imported through the CLI, built, served on a free
 * loopback port, and check.sh runs every conformance scenario against it
 * (including the real snapd daemon's install and refresh when run as root).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  type Manifest,
  makeFixtures,
  removeWorkDir,
  runCheck,
  type StartedProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { importFixtures, serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let store: string;
let server: StartedProcess | undefined;

before(async () => {
  work = await tmpWorkDir("core-store");
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  store = join(work, "store");
  await importFixtures(store, fixtures, manifest);
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
});

after(async () => {
  await server?.stop();
  await removeWorkDir(work);
});

test("check.sh: every real-client scenario passes against snapshelf serve", { timeout: 900_000 }, async () => {
  assert.ok(server?.url, "serve printed its URL");
  const res = await runCheck(server.url, join(fixtures, "manifest.json"));
  const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
  assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
  assert.equal(res.failed, 0);
  // 49 with the real snapd daemon scenarios (root, unshare, loop devices), 47 without
  const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
  assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
  if (process.getuid?.() === 0) assert.ok(daemon, "as root, the real daemon scenarios must run");
});
