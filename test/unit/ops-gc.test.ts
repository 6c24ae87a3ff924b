import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { parseAuditLog } from "../../src/ops/audit-log.js";
import { sharedPathsOf } from "../../src/ops/files.js";
import { type GcGeneration, planGc, recentGenerations } from "../../src/ops/gc.js";
import { fakeDigest, makeRecords } from "../support/ops-records.js";

const d = (n: number) => fakeDigest("hello", n);

function gen(generation: number, revs: readonly number[], objects: readonly string[] = []): GcGeneration {
  return { generation, refs: { blobs: new Set(revs.map(d)), objects: new Set(objects) } };
}

describe("planGc", () => {
  // records now hold revisions 3 and 4; older generations served 1 and 2
  const records = makeRecords([
    ["hello", 3],
    ["hello", 4],
  ]);
  const objects = records.assertions.map((a) => a.object);
  const blobs = [1, 2, 3, 4, 5].map(d);

  it("keeps every blob a retained generation or the records reference, and nothing else", () => {
    const sel = planGc({
      records,
      current: 4,
      generations: [gen(1, [1]), gen(2, [1, 2]), gen(3, [2, 3]), gen(4, [3, 4])],
      keepGenerations: 1,
      blobs,
      objects: [...objects, "a".repeat(96)],
    });
    assert.deepEqual(sel.keptGenerations, [3, 4]);
    assert.deepEqual(sel.pruneGenerations, [1, 2]);
    // 2 is served by generation 3 (kept); 1 only by pruned ones; 5 by nothing
    assert.deepEqual(sel.blobs, [d(1), d(5)].sort());
    assert.deepEqual(sel.objects, ["a".repeat(96)]);
  });

  it("deletes the shared assertion files that neither the records nor a kept generation render", () => {
    const fromRecords = [...sharedPathsOf(records.assertions)];
    assert.equal(fromRecords.length, records.assertions.length, "one shared file per snap-revision of the records");
    const old = (n: number) => `v2/assertions/snap-revision/${digestHexToBase64Url(d(n))}/_.assert`;
    const withShared = (g: GcGeneration, paths: string[]): GcGeneration => ({
      generation: g.generation,
      refs: { blobs: g.refs?.blobs ?? new Set(), objects: g.refs?.objects ?? new Set(), shared: new Set(paths) },
    });
    const sel = planGc({
      records,
      current: 4,
      generations: [withShared(gen(1, [1]), [old(1)]), withShared(gen(2, [2]), [old(2)]), gen(3, [3]), gen(4, [3, 4])],
      keepGenerations: 1,
      blobs,
      objects,
      shared: [...fromRecords, old(1), old(2), "v2/assertions/snap-revision/orphan/_.assert"].sort(),
    });
    assert.deepEqual(sel.keptGenerations, [3, 4]);
    // generation 1 and 2 are pruned: what only they rendered goes, with what nothing ever rendered
    assert.deepEqual(sel.shared, [old(1), old(2), "v2/assertions/snap-revision/orphan/_.assert"].sort());
  });

  it("keeps the newest generations besides the one in service, also after a rollback", () => {
    const sel = planGc({
      records,
      current: 2,
      generations: [gen(1, [1]), gen(2, [2]), gen(3, [3]), gen(4, [4])],
      keepGenerations: 2,
      blobs,
      objects,
    });
    assert.deepEqual(sel.keptGenerations, [2, 3, 4]);
    assert.deepEqual(sel.blobs, [d(1), d(5)].sort());
  });

  it("with keepGenerations 0 keeps only the generation in service", () => {
    const sel = planGc({
      records,
      current: 4,
      generations: [gen(3, [2]), gen(4, [3])],
      keepGenerations: 0,
      blobs,
      objects,
    });
    assert.deepEqual(sel.keptGenerations, [4]);
    assert.deepEqual(sel.blobs, [d(1), d(2), d(5)].sort());
  });

  it("keeps assertion objects a retained generation serves", () => {
    const sel = planGc({
      records,
      current: 2,
      generations: [gen(1, [], ["b".repeat(96)]), gen(2, [], ["c".repeat(96)])],
      keepGenerations: 5,
      blobs: [],
      objects: [...objects, "b".repeat(96), "c".repeat(96)],
    });
    assert.deepEqual(sel.objects, []);
  });

  it("prunes unreadable generations, but refuses when the one in service is unreadable", () => {
    const sel = planGc({
      records,
      current: 2,
      generations: [{ generation: 1 }, gen(2, [3])],
      keepGenerations: 5,
      blobs,
      objects,
    });
    assert.deepEqual(sel.pruneGenerations, [1]);
    assert.deepEqual(sel.damagedGenerations, [1]);
    assert.throws(
      () => planGc({ records, current: 2, generations: [{ generation: 2 }], keepGenerations: 5, blobs, objects }),
      /generation 2 in service cannot be read/,
    );
  });

  it("keeps the roots' objects", () => {
    const withRoot = { ...records, roots: ["f".repeat(96)] };
    const sel = planGc({
      records: withRoot,
      current: undefined,
      generations: [],
      keepGenerations: 5,
      blobs: [],
      objects: ["f".repeat(96)],
    });
    assert.deepEqual(sel.objects, []);
  });
});

describe("recentGenerations", () => {
  const log = parseAuditLog(
    [
      '{"time":"2026-01-01T00:00:00Z","user":"u","op":"build","generation":1}',
      '{"time":"2026-01-01T00:01:00Z","user":"u","op":"build","generation":2}',
      '{"time":"2026-01-01T00:02:00Z","user":"u","op":"import"}',
      '{"time":"2026-01-01T00:03:00Z","user":"u","op":"build","generation":3}',
      '{"time":"2026-01-01T00:04:00Z","user":"u","op":"rollback","from":3,"to":2}',
    ].join("\n"),
  ).entries;

  it("names the generations in service during the grace period before now", () => {
    const now = new Date("2026-01-01T00:04:30Z");
    assert.deepEqual(recentGenerations(log, now, 0), [2], "only the one in service");
    assert.deepEqual(recentGenerations(log, now, 60_000), [2, 3], "3 was replaced 30 s ago");
    assert.deepEqual(recentGenerations(log, now, 120_000), [2, 3]);
    assert.deepEqual(recentGenerations(log, now, 300_000), [1, 2, 3]);
  });

  it("keeps recently served generations whatever the count", () => {
    const records = makeRecords([["hello", 3]]);
    const sel = planGc({
      records,
      current: 2,
      generations: [gen(1, [1]), gen(2, [2]), gen(3, [3])],
      keepGenerations: 0,
      recent: [2, 3],
      blobs: [1, 2, 3].map(d),
      objects: [],
    });
    assert.deepEqual(sel.keptGenerations, [2, 3]);
    assert.deepEqual(sel.blobs, [d(1)]);
  });
});
