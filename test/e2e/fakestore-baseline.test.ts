/**
 * The harness end to end, before our store exists: snapd's own fakestore
 * serves the fixture catalogue and check.sh drives the real snapd clients
 * against it. fakestore ignores channel, revision and architecture and has no
 * info/find/sections, so most scenarios fail by design; the README documents
 * its floor (26 of 49 with the daemon scenarios). This is the baseline the
 * bench compares snapshelf with. The daemon scenarios are skipped to keep it
 * fast (CHECK_DAEMON=0: 47 scenarios, 25 pass).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { startFakestore } from "../support/fakestore.js";
import { makeFixtures, runCheck, tmpWorkDir } from "../support/realclient.js";

/** Scenarios that only need blobs, assertions and Range to flow: if these fail, the harness is broken, not the store. */
const PLUMBING = [
  "known-remote-account-key",
  "known-remote-account",
  "probe-assertion-snap-revision",
  "probe-assertion-snap-declaration",
  "download-resume-range",
  "download-tampered-in-transit",
  "tampered-blob-assertions",
];

test("snapd's fakestore reaches the documented floor of check.sh", { timeout: 120_000 }, async (t) => {
  const work = await tmpWorkDir("fakestore-baseline");
  const fixtures = join(work, "fixtures");
  const manifest = await makeFixtures(fixtures);
  const store = await startFakestore({ fixtures, manifest, work });
  t.after(() => store.stop());
  t.diagnostic(`fakestore at ${store.url} serving ${store.blobs.join(", ")}`);

  const started = Date.now();
  const res = await runCheck(store.url, join(fixtures, "manifest.json"), {
    work: join(work, "check"),
    daemon: "0",
    timeoutMs: 90_000,
  });
  t.diagnostic(
    `check.sh: ${res.passed} passed, ${res.failed} failed in ${Date.now() - started} ms (log ${res.logFile})`,
  );

  assert.equal(res.scenarios.length, res.passed + res.failed, "every counted scenario printed a PASS/FAIL line");
  assert.ok(res.passed + res.failed >= 40, `ran ${res.passed + res.failed} scenarios, expected the full set (47)`);
  assert.ok(res.passed >= 20, `fakestore passed only ${res.passed}, below the floor of 20:\n${res.output}`);
  const failedPlumbing = res.scenarios.filter((s) => PLUMBING.includes(s.name) && !s.passed);
  assert.deepEqual(failedPlumbing, [], "scenarios that only need the harness plumbing pass");
  assert.ok(!res.scenarios.some((s) => s.name.startsWith("daemon-")), "CHECK_DAEMON=0 skips the daemon scenarios");
});
