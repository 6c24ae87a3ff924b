import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withOverride } from "../../src/ops/overrides.js";
import { applyRetention, checkKeep, selectRetention, withRetention } from "../../src/ops/retention.js";
import { makeRecords } from "../support/ops-records.js";

const names = (xs: readonly { name: string; revision: number }[]) => xs.map((x) => `${x.name}=${x.revision}`);

describe("selectRetention", () => {
  const r = makeRecords(
    [
      ["hello", 1],
      ["hello", 2],
      ["hello", 3],
      ["hello", 4],
      ["hello", 5],
      ["hello", 6],
      ["hello", 7],
    ],
    [
      ["hello", "latest/stable", "amd64", 1],
      ["hello", "latest/stable", "amd64", 2],
      ["hello", "latest/stable", "amd64", 1],
      ["hello", "latest/stable", "amd64", 3],
      ["hello", "latest/edge", "amd64", 4],
      ["hello", "latest/edge", "amd64", 5],
    ],
  );

  it("keeps the last N distinct revisions of every channel and arch", () => {
    // stable: ... 2, 1, 3 -> keep 3, 1; edge: 4, 5 -> keep 5, 4; 6, 7 never released
    assert.deepEqual(names(selectRetention(r, 2)), ["hello=2"]);
    assert.deepEqual(names(selectRetention(r, 1)), ["hello=1", "hello=2", "hello=4"]);
    assert.deepEqual(names(selectRetention(r, 3)), []);
  });

  it("never drops never-released revisions or revisions an override pins", () => {
    const pinned = withOverride(r, { name: "hello", channel: "beta", revision: 2, at: "2025-01-01T00:00:00Z" }).records;
    assert.deepEqual(names(selectRetention(pinned, 1)), ["hello=1", "hello=4"]);
  });

  it("applies as a removal", () => {
    const { records, removed } = applyRetention(r, 1);
    assert.deepEqual(names(removed), ["hello=1", "hello=2", "hello=4"]);
    assert.deepEqual(
      records.revisions.map((x) => x.revision),
      [3, 5, 6, 7],
    );
    assert.deepEqual(
      records.releases.map((e) => e.revision),
      [3, 5],
    );
  });

  it("wants a positive count", () => {
    assert.throws(() => selectRetention(r, 0), /positive integer/);
    assert.throws(() => checkKeep(-1, "generations to keep", true), /non-negative integer/);
    assert.equal(checkKeep(0, "generations to keep", true), 0);
  });
});

describe("withRetention", () => {
  it("sets and clears the policy, keeping other settings", () => {
    const s = withRetention({ format: 1, baseUrl: "http://x" }, 3, true);
    assert.deepEqual(s, { format: 1, baseUrl: "http://x", keepRevisions: 3, retainOnImport: true });
    assert.deepEqual(withRetention(s, 2, false), { format: 1, baseUrl: "http://x", keepRevisions: 2 });
    assert.deepEqual(withRetention(s, undefined, true), { format: 1, baseUrl: "http://x" });
  });
});
