/**
 * Large blobs go through the copy threads several at once (src/blobs/copy-thread.ts,
 * src/util/ordered.ts). An import of three 20 MiB snaps behaves as a loop over
 * them would: when two are bad, the first bad one (in input order) is the one
 * named, the store is byte-identical and nothing is left in its temporaries;
 * when all are good, they are verified and listed in input order and every
 * stored blob has its digest; progress reports every file and byte.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { importInputs } from "../../src/ops/import.js";
import { storeLayout } from "../../src/store/layout.js";
import { type Manifest, makeFixtures, removeWorkDir, tmpWorkDir } from "../support/realclient.js";
import { fixtureRoots, importFixtureTrust, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { fileDigest, writeSignedSnap } from "../support/synthetic-snap.js";
import { treeDigest } from "../support/tree-hash.js";

const MiB = 1024 * 1024;
const NAMES = ["big-a", "big-b", "big-c"];

let work: string;
let store: string;
let manifest: Manifest;
const snaps: { name: string; file: string; assert: string; sha3_384: string }[] = [];

before(async () => {
  work = await tmpWorkDir("import-large");
  const fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  store = join(work, "store");
  await importFixtureTrust(store, fixtures, manifest);
  const at = new Date("2026-01-01T00:00:00Z");
  // the assertions apart from the blobs: each test says which ones an import gets
  for (const name of NAMES) {
    const w = await writeSignedSnap(join(work, "in"), {
      name,
      payloadBytes: 20 * MiB,
      timestamp: at,
      assertDir: join(work, "asserts"),
    });
    snaps.push({ name, file: w.file, assert: w.assertFile, sha3_384: w.sha3_384 });
  }
});

after(async () => {
  await removeWorkDir(work);
});

test("two bad blobs among three: the first in input order is named, nothing changes", async () => {
  const [a, b, c] = snaps;
  assert.ok(a && b && c);
  // only a's assertions are given: b and c have no snap-revision (c is the faster to fail: last)
  const before = await treeDigest(store);
  const r = await snapshelfRaw(["import", "--dir", store, "--assert", a.assert, a.file, b.file, c.file]);
  assert.notEqual(r.code, 0);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0] ?? "", /cannot import .*big-b_1\.snap: no snap-revision assertion/);
  assert.equal(await treeDigest(store), before, "the store is byte-identical");
  assert.deepEqual(await readdir(join(store, "state", "tmp")).catch(() => []), [], "no temporaries");
});

test("three good blobs: verified and listed in input order, each stored under its digest", async () => {
  const order = [snaps[2], snaps[0], snaps[1]].filter((s) => s !== undefined);
  const r = await snapshelf([
    "import",
    "--dir",
    store,
    ...order.flatMap((s) => ["--assert", s.assert]),
    ...order.map((s) => s.file),
  ]);
  const verified = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("verified big-"))
    .map((l) => l.split(":")[0]);
  assert.deepEqual(
    verified,
    order.map((s) => `verified ${s.name}_1.snap`),
  );
  const blobs = await readdir(join(store, "blobs"));
  for (const s of order) {
    assert.ok(blobs.includes(`${s.sha3_384}.snap`), s.name);
    assert.equal((await fileDigest(join(store, "blobs", `${s.sha3_384}.snap`))).sha3_384, s.sha3_384);
  }
});

test("progress: one start with every file and byte, rising counts per file, one done each", async () => {
  const fresh = join(work, "fresh");
  const fixtures = join(work, "fixtures");
  const layout = storeLayout(fresh);
  await importInputs(layout, [join(fixtures, manifest["assert-dir"])], {
    trustedRoots: fixtureRoots(fixtures, manifest),
  });
  const starts: [number, number][] = [];
  const seen = new Map<string, number[]>();
  const done: [string, number][] = [];
  await importInputs(
    layout,
    snaps.map((s) => s.file),
    {
      asserts: snaps.map((s) => s.assert),
      progress: {
        start: (files, bytes) => starts.push([files, bytes]),
        advance: (label, bytes, size) => {
          assert.ok(bytes <= size, `${label}: ${bytes} of ${size}`);
          seen.set(label, [...(seen.get(label) ?? []), bytes]);
        },
        done: (label, size) => done.push([label, size]),
      },
    },
  );
  const sizes = await Promise.all(snaps.map(async (s) => (await stat(s.file)).size));
  assert.deepEqual(starts, [[3, sizes.reduce((a, b) => a + b, 0)]]);
  assert.deepEqual([...done].sort(), snaps.map((s, i) => [`${s.name}_1.snap`, sizes[i]]).sort());
  for (const [i, s] of snaps.entries()) {
    const counts = seen.get(`${s.name}_1.snap`) ?? [];
    assert.ok(counts.length >= 2, `${s.name}: ${counts.length} updates`);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      `${s.name} rises`,
    );
    assert.equal(counts[counts.length - 1], sizes[i]);
  }
});
