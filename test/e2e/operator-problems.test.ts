/**
 * Problems devices would hit are problems (issue 12, point 2): `status` lists
 * snaps released nowhere, default tracks with nothing released and revisions
 * never released; `default-track` warns about an empty track; `remove` has
 * --dry-run and refuses, without --force, to take away a base or a default
 * content provider other snaps need.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { committedCatalogue, committedManifest } from "../support/fixture-store.js";
import { cli, cliJson, cliRaw } from "../support/ops-e2e.js";
import { removeWorkDir, tmpWorkDir } from "../support/realclient.js";
import { fixtureRoots, snapshelfBare } from "../support/snapshelf.js";
import { listTree } from "../support/tree-hash.js";

let work: string;
let store: string;

before(async () => {
  work = await tmpWorkDir("operator-problems");
  const cat = committedCatalogue();
  const m = await committedManifest();
  store = join(work, "store");
  const init = await snapshelfBare(["init", "--dir", store, "--base-url", "http://store.internal"]);
  assert.equal(init.code, 0, init.stderr);
  await cli(store, "import", ...fixtureRoots(cat, m).flatMap((r) => ["--trusted-root", r]), join(cat, m["assert-dir"]));
  const blobs = ["hello-offline_1", "hello-offline_2", "core22_1", "tool-a_1", "tool-data_1"];
  await cli(store, "import", ...blobs.map((b) => join(cat, "blobs", `${b}.snap`)));
  await cli(store, "release", "hello-offline", "1", "stable");
  await cli(store, "release", "core22", "1", "stable");
  await cli(store, "release", "tool-a", "1", "stable");
  await cli(store, "build");
});

after(async () => {
  await removeWorkDir(work);
});

test("status lists snaps released nowhere and revisions never released", async () => {
  const s = await cliJson<{ problems: string[] }>(store, "status");
  assert.deepEqual(s.problems, [
    "hello-offline revision 2 never released: no device can get it (snapshelf release hello-offline 2 CHANNEL, or remove --revision)",
    "tool-data is released in no channel: devices cannot install it (snapshelf release tool-data REV CHANNEL)",
  ]);
  const text = (await cli(store, "status")).stdout;
  assert.match(text, /^problem: +tool-data is released in no channel/m);
});

test("default-track warns when the track is empty, and status lists it", async () => {
  const dir = join(work, "default-track");
  await cp(store, dir, { recursive: true });
  const r = await cli(dir, "default-track", "hello-offline", "2.x");
  assert.equal(r.stdout.trim(), "default track of hello-offline is now 2.x");
  assert.equal(
    r.stderr.trim(),
    "warning: nothing of hello-offline is released in track 2.x: `snap install hello-offline` finds nothing until something is (snapshelf release hello-offline REV 2.x/stable)",
  );
  const s = await cliJson<{ problems: string[] }>(dir, "status");
  assert.ok(
    s.problems.includes(
      "hello-offline's default track 2.x has nothing released: `snap install hello-offline` finds nothing (release to 2.x/stable, or snapshelf default-track hello-offline latest)",
    ),
    s.problems.join("\n"),
  );
  // released there: no warning, no problem
  await cli(dir, "release", "hello-offline", "2", "2.x/stable");
  const again = await cli(dir, "default-track", "hello-offline", "2.x");
  assert.equal(again.stderr, "");
  const s2 = await cliJson<{ problems: string[] }>(dir, "status");
  assert.ok(!s2.problems.some((p) => p.includes("default track")), s2.problems.join("\n"));
});

test("remove refuses to take away a base or default content provider without --force", async () => {
  const dir = join(work, "remove");
  await cp(store, dir, { recursive: true });
  const before = [...(await listTree(dir))];
  const base = await cliRaw(dir, "remove", "core22");
  assert.equal(base.code, 1);
  assert.equal(
    base.stderr.trim(),
    "error: cannot remove core22: hello-offline (revisions 1, 2: base), tool-a (revision 1: base), tool-data (revision 1: base) need it; devices could not install them (remove them first, or --force)",
  );
  const provider = await cliRaw(dir, "remove", "tool-data");
  assert.equal(provider.code, 1);
  assert.equal(
    provider.stderr.trim(),
    "error: cannot remove tool-data: tool-a (revision 1: default content provider) needs it; devices could not install them (remove them first, or --force)",
  );
  assert.deepEqual([...(await listTree(dir))], before, "nothing changed");
  // removing some revisions leaves the snap: nobody loses it
  const some = await cliRaw(dir, "remove", "hello-offline", "--revision", "2");
  assert.equal(some.code, 0, some.stderr);
  const forced = await cli(dir, "remove", "tool-data", "--force");
  assert.match(forced.stdout, /^removed tool-data revision 1 /m);
});

test("remove --dry-run says what would go and changes nothing", async () => {
  const before = [...(await listTree(store))];
  const r = await cli(store, "remove", "hello-offline", "--dry-run");
  assert.match(
    r.stdout,
    /^would remove hello-offline revision 1, 2 \(.+ of blobs, reclaimed by gc\), 1 release events, 0 overrides$/m,
  );
  const dep = await cliRaw(store, "remove", "core22", "--dry-run");
  assert.equal(dep.code, 1, "the dry run refuses what the real one would");
  assert.deepEqual([...(await listTree(store))], before);
});
