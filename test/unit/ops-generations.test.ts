import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatBytes, formatTable } from "../../src/ops/format.js";
import { previousGeneration } from "../../src/ops/generations.js";
import { listSnaps, summariseSnaps } from "../../src/ops/list.js";
import { withOverride } from "../../src/ops/overrides.js";
import { diffListing } from "../../src/ops/verify.js";
import { makeRecords } from "../support/ops-records.js";

describe("previousGeneration", () => {
  it("is the newest generation older than the one in service", () => {
    assert.equal(previousGeneration([1, 2, 3, 4], 4), 3);
    assert.equal(previousGeneration([1, 3, 4], 3), 1, "after gc pruned 2");
    assert.equal(previousGeneration([1, 2, 3], 2), 1, "after a rollback, not the newer one");
    assert.equal(previousGeneration([3], 3), undefined);
    assert.equal(previousGeneration([1, 2], undefined), 2);
  });
});

describe("diffListing", () => {
  it("names missing and extra files", () => {
    assert.deepEqual(diffListing(new Set(["a", "b/c", "d"]), ["d", "a", "x"]), { missing: ["b/c"], extra: ["x"] });
  });
});

describe("listSnaps", () => {
  it("shows what each channel serves, the override, and the imported history apart", () => {
    const r = makeRecords(
      [
        ["hello", 1],
        ["hello", 2],
        ["tool", 1, ["all"]],
      ],
      [
        ["hello", "latest/stable", "amd64", 1],
        ["hello", "latest/stable", "amd64", 2],
        ["tool", "latest/stable", "all", 1],
      ],
    );
    const pinned = withOverride(r, {
      name: "hello",
      channel: "stable",
      revision: 1,
      at: "2025-01-01T00:00:00Z",
    }).records;
    const [hello] = listSnaps(pinned);
    assert.ok(hello);
    assert.deepEqual(hello.channels, [
      {
        channel: "latest/stable",
        arch: "amd64",
        revision: 1,
        override: { revision: 1, at: "2025-01-01T00:00:00Z" },
        history: [
          { revision: 1, at: "2024-01-01T00:00:00.000Z" },
          { revision: 2, at: "2024-01-01T01:00:00.000Z" },
        ],
      },
    ]);
    assert.deepEqual(
      hello.revisions.map((x) => [x.revision, x.serving]),
      [
        [1, ["latest/stable@amd64"]],
        [2, []],
      ],
    );
    assert.deepEqual(summariseSnaps(listSnaps(pinned)), [
      {
        name: "hello",
        snapId: "hello-id",
        revisions: 2,
        version: "v2",
        architectures: ["amd64"],
        channels: 1,
        overrides: 1,
        size: 2003,
      },
      {
        name: "tool",
        snapId: "tool-id",
        revisions: 1,
        version: "v1",
        architectures: ["all"],
        channels: 1,
        overrides: 0,
        size: 1001,
      },
    ]);
  });
});

describe("format", () => {
  it("formats sizes and tables", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(20480), "20.0 KiB");
    assert.deepEqual(
      formatTable([
        ["A", "BB", "C"],
        ["aaa", "b", ""],
      ]),
      ["A    BB  C", "aaa  b"],
    );
  });
});
