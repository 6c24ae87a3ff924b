import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { buildCatalogue } from "../../src/catalogue/build-catalogue.js";
import { resolveSnap } from "../../src/catalogue/resolve.js";
import {
  type AssertionRecord,
  type ComponentRecord,
  replaceSnapMeta,
  withAssertions,
  withComponent,
} from "../../src/model/records.js";
import { withOverride } from "../../src/ops/overrides.js";
import { selectRemoval, withoutRevisions } from "../../src/ops/remove.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { fakeDigest, makeRecords } from "../support/ops-records.js";

function store() {
  const r = makeRecords(
    [
      ["hello", 1],
      ["hello", 2],
      ["hello", 3],
      ["tool", 1, ["all"]],
    ],
    [
      ["hello", "latest/stable", "amd64", 1],
      ["hello", "latest/stable", "amd64", 2],
      ["hello", "latest/edge", "amd64", 3],
      ["tool", "latest/stable", "all", 1],
    ],
  );
  const pinned = withOverride(r, { name: "hello", channel: "beta", revision: 3, at: "2025-01-01T00:00:00Z" }).records;
  return replaceSnapMeta(pinned, "hello", { title: "Hello" });
}

describe("withoutRevisions", () => {
  it("drops the revisions, their releases, overrides pinning them and their snap-revision assertions", () => {
    const before = store();
    const { records, removed, releases, overrides, assertions } = withoutRevisions(before, [
      { name: "hello", revision: 3 },
    ]);
    assert.deepEqual(removed, [{ name: "hello", revision: 3, sha3_384: fakeDigest("hello", 3), size: 1003 }]);
    assert.equal(releases, 1);
    assert.equal(overrides, 1);
    assert.equal(assertions, 1);
    assert.deepEqual(
      records.revisions.map((r) => `${r.name}=${r.revision}`),
      ["hello=1", "hello=2", "tool=1"],
    );
    assert.ok(!records.releases.some((e) => e.revision === 3 && e.name === "hello"));
    assert.equal(records.overrides, undefined, "no empty overrides field");
    assert.equal(records.assertions.length, 3);
    assert.deepEqual(records.snaps["hello"], { title: "Hello" }, "metadata stays while the snap has revisions");
    assert.deepEqual(before.revisions.length, 4, "pure: the input is unchanged");
  });

  it("lets a channel fall back to its previous release when its head goes", () => {
    const { records } = withoutRevisions(store(), [{ name: "hello", revision: 2 }]);
    const snap = buildCatalogue(records).snaps.find((s) => s.name === "hello");
    assert.ok(snap);
    const r = resolveSnap(snap, { arch: "amd64", channel: "stable", defaultTracks: true });
    assert.ok(r.ok);
    assert.equal(r.revision.revision, 1);
  });

  it("drops the store metadata with the last revision", () => {
    const { records, removed } = withoutRevisions(
      store(),
      [1, 2, 3].map((revision) => ({ name: "hello", revision })),
    );
    assert.equal(removed.length, 3);
    assert.equal(records.snaps["hello"], undefined);
    assert.deepEqual(
      buildCatalogue(records).snaps.map((s) => s.name),
      ["tool"],
    );
  });

  it("changes nothing for revisions that are not there", () => {
    const before = store();
    assert.equal(withoutRevisions(before, [{ name: "nope", revision: 1 }]).records, before);
  });
});

describe("selectRemoval", () => {
  it("means every revision without --revision, the given ones with it", () => {
    assert.deepEqual(
      selectRemoval(store(), "hello").map((x) => x.revision),
      [1, 2, 3],
    );
    assert.deepEqual(
      selectRemoval(store(), "hello", [3, 1, 3]).map((x) => x.revision),
      [1, 3],
    );
  });
  it("names what is missing", () => {
    assert.throws(
      () => selectRemoval(store(), "nope"),
      (e: unknown) => e instanceof SnapshelfError && e.code === "name-not-found" && e.message.includes("nope"),
    );
    assert.throws(
      () => selectRemoval(store(), "hello", [2, 9]),
      (e: unknown) =>
        e instanceof SnapshelfError && e.code === "revision-not-found" && /no revision 9 .*has 1, 2, 3/.test(e.message),
    );
  });
});

describe("withoutRevisions: components", () => {
  it("drops the components paired with no remaining revision, their snap-resource-revisions and the pairs of removed revisions", () => {
    const base = makeRecords(
      [
        ["hello", 1],
        ["hello", 2],
      ],
      [["hello", "latest/stable", "amd64", 2]],
    );
    const snapId = base.revisions[0]?.snapId ?? "";
    const comp = (component: string, revision: number, digit: string): ComponentRecord => ({
      name: "hello",
      snapId,
      component,
      revision,
      sha3_384: digit.repeat(96),
      size: 10,
      type: "standard",
      version: "1",
      description: "",
      createdAt: "2025-01-01T00:00:00Z",
    });
    const assertion = (type: string, headers: Record<string, string>, n: number): AssertionRecord => ({
      type,
      primaryKey: [snapId, headers["resource-name"] ?? "", String(n)],
      revision: 0,
      format: 0,
      object: String(n).repeat(96),
      headers: { "snap-id": snapId, ...headers },
    });
    const pair = (name: string, res: number, snap: number, n: number) =>
      assertion(
        "snap-resource-pair",
        { "resource-name": name, "resource-revision": String(res), "snap-revision": String(snap) },
        n,
      );
    const resRev = (c: ComponentRecord, n: number) =>
      assertion(
        "snap-resource-revision",
        { "resource-name": c.component, "resource-sha3-384": digestHexToBase64Url(c.sha3_384) },
        n,
      );
    const extra1 = comp("extra", 1, "a");
    const extra2 = comp("extra", 2, "b");
    const docs1 = comp("docs", 1, "c");
    let r = withAssertions(base, [
      pair("extra", 1, 1, 1),
      pair("extra", 2, 2, 2),
      pair("docs", 1, 1, 3),
      pair("docs", 1, 2, 4),
      resRev(extra1, 5),
      resRev(extra2, 6),
      resRev(docs1, 7),
    ]);
    for (const c of [extra1, extra2, docs1]) r = withComponent(r, c);
    const { records } = withoutRevisions(r, [{ name: "hello", revision: 1 }]);
    assert.deepEqual(
      (records.components ?? []).map((c) => `${c.component}=${c.revision}`),
      ["docs=1", "extra=2"],
    );
    const left = records.assertions.filter((a) => a.type.startsWith("snap-resource")).map((a) => a.object[0]);
    assert.deepEqual(left.sort(), ["2", "4", "6", "7"]);
    // and a whole snap: nothing of its components is left
    const all = withoutRevisions(r, [
      { name: "hello", revision: 1 },
      { name: "hello", revision: 2 },
    ]).records;
    assert.equal(all.components, undefined);
  });
});
