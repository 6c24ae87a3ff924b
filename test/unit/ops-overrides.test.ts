import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildCatalogue } from "../../src/catalogue/build-catalogue.js";
import { resolveSnap } from "../../src/catalogue/resolve.js";
import { parseEpoch } from "../../src/model/epoch.js";
import type { Records } from "../../src/model/records.js";
import { withReleases } from "../../src/model/records.js";
import { listOverrides, parseChannelRevision, withOverride, withoutOverride } from "../../src/ops/overrides.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { makeRecords } from "../support/ops-records.js";

const AT = "2025-01-01T00:00:00.000Z";

/** The revision a device of `arch` gets for `channel` (optionally with an installed epoch), or the error code. */
function serves(records: Records, name: string, channel: string, arch: string, epoch?: string): number | string {
  const snap = buildCatalogue(records).snaps.find((s) => s.name === name);
  assert.ok(snap, `${name} in the catalogue`);
  const r = resolveSnap(snap, {
    arch,
    channel,
    defaultTracks: true,
    ...(epoch !== undefined ? { installedEpoch: parseEpoch(epoch) } : {}),
  });
  return r.ok ? r.revision.revision : r.code;
}

function hello(): Records {
  return makeRecords(
    [
      ["hello", 1],
      ["hello", 2],
      ["hello", 3],
      ["hello", 4, ["arm64"]],
    ],
    [
      ["hello", "latest/stable", "amd64", 1],
      ["hello", "latest/stable", "arm64", 4],
      ["hello", "latest/stable", "amd64", 2],
      ["hello", "latest/edge", "amd64", 3],
    ],
  );
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SnapshelfError, String(err));
    return err.code;
  }
  assert.fail("expected an error");
}

describe("parseChannelRevision", () => {
  it("parses CHANNEL=REVISION", () => {
    assert.deepEqual(parseChannelRevision("stable=12"), { channel: "stable", revision: 12 });
    assert.deepEqual(parseChannelRevision("2.x/candidate=3"), { channel: "2.x/candidate", revision: 3 });
  });
  it("refuses anything else, naming the argument", () => {
    for (const bad of ["stable", "stable=", "=3", "stable=0", "stable=x", "stable=1=2", "sta ble=1"]) {
      assert.throws(
        () => parseChannelRevision(bad),
        (e: Error) => e.message.includes(`"${bad}"`),
        bad,
      );
    }
  });
});

describe("withOverride", () => {
  it("pins the channel's revision and keeps the imported history; deleting restores the imported head", () => {
    const base = hello();
    assert.equal(serves(base, "hello", "stable", "amd64"), 2);
    const { records, set } = withOverride(base, { name: "hello", channel: "stable", revision: 1, at: AT });
    assert.deepEqual(set, [{ name: "hello", channel: "latest/stable", arch: "amd64", revision: 1, at: AT }]);
    assert.equal(serves(records, "hello", "stable", "amd64"), 1);
    assert.deepEqual(records.releases, base.releases, "imported history untouched");
    assert.equal(serves(records, "hello", "stable", "arm64"), 4, "other arches untouched");
    assert.equal(serves(records, "hello", "edge", "amd64"), 3, "other channels untouched");
    const back = withoutOverride(records, "hello", "latest/stable").records;
    assert.equal(serves(back, "hello", "stable", "amd64"), 2);
    assert.deepEqual(back, base, "deleting the last override leaves the records as they were (no empty field)");
  });

  it("stays the head when releases are imported after it", () => {
    const pinned = withOverride(hello(), { name: "hello", channel: "stable", revision: 1, at: AT }).records;
    const later = withReleases(pinned, [
      { name: "hello", channel: "latest/stable", arch: "amd64", revision: 3, at: AT },
    ]);
    assert.equal(serves(later, "hello", "stable", "amd64"), 1);
    assert.equal(serves(withoutOverride(later, "hello", "stable").records, "hello", "stable", "amd64"), 3);
  });

  it("can open a channel that had no release, and risk fallback finds it", () => {
    const { records } = withOverride(hello(), { name: "hello", channel: "candidate", revision: 3, at: AT });
    assert.equal(serves(records, "hello", "candidate", "amd64"), 3);
    assert.equal(serves(records, "hello", "beta", "amd64"), 3);
  });

  it("replaces an earlier override of the same channel and arch", () => {
    const one = withOverride(hello(), { name: "hello", channel: "stable", revision: 1, at: AT }).records;
    const two = withOverride(one, { name: "hello", channel: "latest/stable", revision: 3, at: AT }).records;
    assert.equal(two.overrides?.length, 1);
    assert.equal(serves(two, "hello", "stable", "amd64"), 3);
  });

  it("applies an all-architectures revision on the `all` key, for every device", () => {
    const r = makeRecords(
      [
        ["tool", 1, ["all"]],
        ["tool", 2, ["all"]],
      ],
      [
        ["tool", "latest/stable", "amd64", 1],
        ["tool", "latest/stable", "arm64", 1],
        ["tool", "latest/stable", "amd64", 2],
        ["tool", "latest/stable", "arm64", 2],
      ],
    );
    const { records, set } = withOverride(r, { name: "tool", channel: "stable", revision: 1, at: AT });
    assert.deepEqual(
      set.map((o) => o.arch),
      ["all"],
    );
    assert.equal(serves(records, "tool", "stable", "amd64"), 1);
    assert.equal(serves(records, "tool", "stable", "arm64"), 1);
  });

  it("a device-specific override wins over an all-architectures one", () => {
    const r = makeRecords(
      [
        ["tool", 1, ["all"]],
        ["tool", 2, ["all"]],
        ["tool", 3, ["all"]],
      ],
      [["tool", "latest/stable", "all", 3]],
    );
    // set the specific one first: order of setting does not matter
    const a = withOverride(r, { name: "tool", channel: "stable", revision: 1, arch: "arm64", at: AT }).records;
    const b = withOverride(a, { name: "tool", channel: "stable", revision: 2, at: AT }).records;
    assert.equal(serves(b, "tool", "stable", "arm64"), 1);
    assert.equal(serves(b, "tool", "stable", "amd64"), 2);
  });

  it("is the head of the epoch walk: devices that cannot read it walk back into the imported history", () => {
    const r = makeRecords(
      [
        ["tool", 1, ["amd64"], "0"],
        ["tool", 2, ["amd64"], "0"],
        ["tool", 3, ["amd64"], "1*"],
        ["tool", 4, ["amd64"], "1"],
      ],
      [1, 2, 3, 4].map((n) => ["tool", "latest/stable", "amd64", n] as const),
    );
    const { records } = withOverride(r, { name: "tool", channel: "stable", revision: 2, at: AT });
    assert.equal(serves(records, "tool", "stable", "amd64"), 2, "install gets the pin");
    assert.equal(serves(records, "tool", "stable", "amd64", "0"), 2, "epoch 0 refresh gets the pin");
    // an epoch-1 device cannot read r2 (epoch 0): it keeps the newest release it can read, never a downgrade across epochs
    assert.equal(serves(records, "tool", "stable", "amd64", "1"), 4);
  });

  it("refuses unknown snaps, revisions and architectures the revision is not built for", () => {
    assert.equal(
      code(() => withOverride(hello(), { name: "nope", channel: "stable", revision: 1, at: AT })),
      "name-not-found",
    );
    assert.equal(
      code(() => withOverride(hello(), { name: "hello", channel: "stable", revision: 9, at: AT })),
      "revision-not-found",
    );
    assert.equal(
      code(() => withOverride(hello(), { name: "hello", channel: "stable", revision: 4, arch: "amd64", at: AT })),
      "bad-input",
    );
    assert.throws(() => withOverride(hello(), { name: "hello", channel: "stable/", revision: 1, at: AT }));
  });
});

describe("withoutOverride and listOverrides", () => {
  it("deletes only the arch asked for, and refuses to delete what is not there", () => {
    const r = makeRecords(
      [
        ["hello", 1],
        ["hello", 4, ["arm64"]],
      ],
      [
        ["hello", "latest/stable", "amd64", 1],
        ["hello", "latest/stable", "arm64", 4],
      ],
    );
    let x = withOverride(r, { name: "hello", channel: "edge", revision: 1, at: AT }).records;
    x = withOverride(x, { name: "hello", channel: "edge", revision: 4, at: AT }).records;
    assert.equal(x.overrides?.length, 2);
    const { records, deleted } = withoutOverride(x, "hello", "edge", "arm64");
    assert.deepEqual(
      deleted.map((o) => o.arch),
      ["arm64"],
    );
    assert.deepEqual(
      records.overrides?.map((o) => o.arch),
      ["amd64"],
    );
    assert.equal(
      code(() => withoutOverride(records, "hello", "edge", "arm64")),
      "not-found",
    );
    assert.equal(
      code(() => withoutOverride(records, "hello", "stable")),
      "not-found",
    );
  });

  it("lists overrides with the imported head each shadows", () => {
    const x = withOverride(hello(), { name: "hello", channel: "stable", revision: 1, at: AT }).records;
    const y = withOverride(x, { name: "hello", channel: "beta", revision: 3, at: AT }).records;
    assert.deepEqual(
      listOverrides(y).map((o) => [o.channel, o.arch, o.revision, o.imported]),
      [
        ["latest/beta", "amd64", 3, undefined],
        ["latest/stable", "amd64", 1, 2],
      ],
    );
    assert.deepEqual(listOverrides(y, "other"), []);
  });
});
