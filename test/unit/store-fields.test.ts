/**
 * The store's fields on their way through snapshelf, piece by piece: the upstream parser keeps
 * them (and takes an empty snap-yaml as "not known"), bundles carry them as optional fields that
 * older bundles simply lack, records made before them still render (links from contact and
 * website, common ids from snap.yaml), a re-import fills in what an older import lacked, and
 * find answers `common-id` queries from them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBundleDoc, renderBundleDoc } from "../../src/bundle/format.js";
import { toContents } from "../../src/bundle/read.js";
import { buildCatalogue, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import { storeBlobDisagreements } from "../../src/export/carry.js";
import {
  emptyRecords,
  type Records,
  type RevisionRecord,
  withReleases,
  withRevision,
} from "../../src/model/records.js";
import { handleFind } from "../../src/routes/find.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { renderInfo } from "../../src/routes/info.js";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { withStoreFacts } from "../../src/store/store-facts.js";
import { parseActionSnap, parseSnapMeta, shapeFail } from "../../src/upstream/wire.js";

const fail = shapeFail("read the test answer");
const SNAP_ID = "ksxl2QbDCNufFiuNIw8C8HVxo7kux1ux";
const SHA = "ab".repeat(48);
const YAML = "name: hello\nversion: '1.0'\napps:\n  hello:\n    command: bin/hello\n    common-id: org.example.Hello\n";

function actionResult(extra: Record<string, unknown>) {
  return {
    snap: {
      name: "hello",
      "snap-id": SNAP_ID,
      revision: 3,
      version: "1.0",
      download: { url: "https://api.snapcraft.io/api/v1/snaps/download/x_3.snap", "sha3-384": SHA, size: 10 },
      ...extra,
    },
  };
}

test("an empty snap-yaml from the store is no snap-yaml (export reads the blob's), not an error", () => {
  assert.equal(parseActionSnap(actionResult({ "snap-yaml": "" }), "results[0]", fail).snapYaml, undefined);
  assert.equal(parseActionSnap(actionResult({ "snap-yaml": YAML }), "results[0]", fail).snapYaml, YAML);
});

test("export names where the store and the verified blob's snap.yaml disagree", () => {
  const info = parseSnapYaml(YAML, "hello_3.snap");
  const agree = parseActionSnap(
    actionResult({ confinement: "strict", epoch: { read: [0], write: [0] }, architectures: ["all"] }),
    "results[0]",
    fail,
  );
  assert.deepEqual(storeBlobDisagreements("hello_3.snap", agree, info), []);
  // the store's fields absent: nothing to compare
  assert.deepEqual(storeBlobDisagreements("hello_3.snap", parseActionSnap(actionResult({}), "r", fail), info), []);
  const differ = parseActionSnap(
    actionResult({
      confinement: "classic",
      epoch: { read: [1], write: [1] },
      version: "2.0",
      architectures: ["amd64"],
    }),
    "results[0]",
    fail,
  );
  assert.deepEqual(storeBlobDisagreements("hello_3.snap", differ, info), [
    "hello_3.snap: the store says confinement classic, its snap.yaml strict; serving the snap.yaml's",
    "hello_3.snap: the store says epoch 1, its snap.yaml 0; serving the snap.yaml's",
    "hello_3.snap: the store says version 2.0, its snap.yaml 1.0; serving the snap.yaml's",
    "hello_3.snap: the store says architectures amd64, its snap.yaml all; serving the snap.yaml's",
  ]);
});

test("the parser keeps the store's revision facts and snap-level fields", () => {
  const up = parseActionSnap(
    actionResult({
      "created-at": "2024-07-03T08:31:17.968740+00:00",
      "common-ids": ["a", "b"],
      confinement: "classic",
      epoch: { read: [0, 1], write: [1] },
    }),
    "results[0]",
    fail,
  );
  assert.equal(up.createdAt, "2024-07-03T08:31:17.968740+00:00");
  assert.deepEqual(up.commonIds, ["a", "b"]);
  assert.equal(up.confinement, "classic");
  assert.deepEqual(up.epoch, { read: [0, 1], write: [1] });
  const meta = parseSnapMeta(
    {
      links: { website: ["https://w"], contact: ["mailto:c"] },
      categories: [
        { featured: false, name: "zeta" },
        { featured: true, name: "alpha" },
        { featured: false, name: "zeta" },
      ],
      prices: { EUR: "0.99" },
      private: true,
      media: [{ type: "video", url: "https://v", width: null, height: null }],
    },
    "snap",
    fail,
  );
  assert.deepEqual(meta.links, { website: ["https://w"], contact: ["mailto:c"] });
  // the store's order, each name once
  assert.deepEqual(meta.categories, ["zeta", "alpha"]);
  assert.deepEqual(meta.featuredCategories, ["alpha"]);
  assert.deepEqual(meta.prices, { EUR: "0.99" });
  assert.equal(meta.private, true);
  assert.deepEqual(meta.media, [{ type: "video", url: "https://v" }]);
  assert.throws(() => parseSnapMeta({ private: "yes" }, "snap", fail), /field snap\.private: expected a boolean/);
  assert.throws(() => parseSnapMeta({ links: { website: "https://w" } }, "snap", fail), /snap\.links\.website/);
});

const OLD_BUNDLE = {
  format: "snapshelf-bundle",
  version: 1,
  kind: "snap",
  name: "hello",
  "snap-id": SNAP_ID,
  store: { title: "Hello", contact: "mailto:c", website: "https://w", media: [], categories: ["utilities"] },
  "channel-map": [{ channel: "latest/stable", arch: "amd64", revision: 3, "released-at": "2024-01-01T00:00:00Z" }],
  revisions: [{ revision: 3, file: "blobs/hello_3.snap", "sha3-384": SHA, size: 10 }],
  assertions: [],
};

test("a bundle written before the store fields still reads; new ones round-trip", () => {
  const old = parseBundleDoc(JSON.stringify(OLD_BUNDLE), "old.snapshelf.tar");
  assert.equal(old.store?.links, undefined);
  assert.equal(old.store?.featuredCategories, undefined);
  assert.equal(old.revisions[0]?.createdAt, undefined);
  const contents = toContents(old, "/staging");
  assert.equal(contents.revisionFacts, undefined);
  assert.equal(contents.meta["hello"]?.links, undefined);

  const doc = {
    ...old,
    store: {
      ...old.store!,
      featuredCategories: ["utilities"],
      links: { contact: ["mailto:c"] },
      prices: { USD: "1" },
      private: false,
    },
    revisions: [
      {
        ...old.revisions[0]!,
        createdAt: "2019-04-17T16:43:58.548661+00:00",
        commonIds: ["x"],
        confinement: "strict",
        epoch: { read: [0], write: [0] },
      },
    ],
  };
  const back = parseBundleDoc(renderBundleDoc(doc), "new.snapshelf.tar");
  assert.deepEqual(back, doc);
  assert.deepEqual(toContents(back, "/staging").revisionFacts, [
    { name: "hello", revision: 3, createdAt: "2019-04-17T16:43:58.548661+00:00", commonIds: ["x"] },
  ]);
  const bad = { ...OLD_BUNDLE, revisions: [{ ...OLD_BUNDLE.revisions[0], "created-at": "yesterday" }] };
  assert.throws(() => parseBundleDoc(JSON.stringify(bad), "b"), /revisions\[0\]\.created-at: invalid time "yesterday"/);
});

function record(extra: Partial<RevisionRecord> = {}): RevisionRecord {
  return {
    name: "hello",
    snapId: SNAP_ID,
    revision: 3,
    sha3_384: SHA,
    size: 10,
    createdAt: "2020-01-01T00:00:00Z",
    snapYaml: YAML,
    info: parseSnapYaml(YAML, "hello_3.snap"),
    ...extra,
  };
}

function recordsWith(rev: RevisionRecord, meta: Records["snaps"][string]): Records {
  const r = withRevision(emptyRecords(), rev);
  return {
    ...withReleases(r, [
      { name: "hello", channel: "latest/stable", arch: "amd64", revision: 3, at: "2024-01-01T00:00:00Z" },
    ]),
    snaps: { hello: meta },
  };
}

test("records from before the store fields render: links from contact/website, common ids from snap.yaml", () => {
  // an older record: its snap.yaml facts have no commonIds (parsed before the field existed)
  const { commonIds: _ids, ...oldInfo } = parseSnapYaml(YAML, "hello_3.snap");
  assert.deepEqual(_ids, ["org.example.Hello"]);
  const old = recordsWith(record({ info: oldInfo }), { contact: "mailto:c", website: "https://w", categories: ["x"] });
  const snap = indexCatalogue(buildCatalogue(old)).byName.get("hello")!;
  const info = JSON.parse(renderInfo(snap, "amd64", { baseUrl: "http://s" }) ?? "{}");
  assert.deepEqual(info.snap.links, { contact: ["mailto:c"], website: ["https://w"] });
  assert.deepEqual(info.snap.categories, [{ featured: false, name: "x" }]);
  assert.deepEqual(info.snap.prices, {});
  assert.equal(info.snap.private, false);
  assert.deepEqual(info["channel-map"][0]["common-ids"], []);
  // a record made now: snap.yaml's common ids, unless the store's came with a bundle
  const now = recordsWith(record(), {});
  const cNow = indexCatalogue(buildCatalogue(now)).byName.get("hello")!;
  assert.deepEqual(cNow.revisions[0]?.commonIds, ["org.example.Hello"]);
  const facts = [{ name: "hello", revision: 3, createdAt: "2019-04-17T16:43:58Z", commonIds: ["store.id"] }];
  const withFacts = recordsWith(withStoreFacts(record(), facts), {});
  const cFacts = indexCatalogue(buildCatalogue(withFacts)).byName.get("hello")!;
  assert.deepEqual(cFacts.revisions[0]?.commonIds, ["store.id"]);
  assert.equal(cFacts.revisions[0]?.createdAt, "2019-04-17T16:43:58Z");
});

test("re-importing a revision with the store's facts fills in an older record; otherwise a no-op", () => {
  const r0 = withRevision(emptyRecords(), record());
  const withFacts = withStoreFacts(record(), [
    { name: "hello", revision: 3, createdAt: "2019-01-01T00:00:00Z", commonIds: [] },
  ]);
  const r1 = withRevision(r0, withFacts);
  assert.equal(r1.revisions[0]?.createdAt, "2019-01-01T00:00:00Z");
  assert.deepEqual(r1.revisions[0]?.commonIds, []);
  // again, or without facts, or with another blob: nothing changes
  assert.equal(withRevision(r1, withFacts), r1);
  assert.equal(withRevision(r1, record()), r1);
  assert.equal(withRevision(r0, { ...withFacts, sha3_384: "cd".repeat(48) }), r0);
});

test("find answers common-id queries from the revisions' common ids", () => {
  const records = recordsWith(
    withStoreFacts(record(), [{ name: "hello", revision: 3, commonIds: ["org.example.Hello"] }]),
    {},
  );
  const index = indexCatalogue(buildCatalogue(records));
  const env = { index, state: new GenerationState(index), ctx: { baseUrl: "http://s" }, token: () => "t" };
  const find = (q: string) =>
    JSON.parse(handleFind({ method: "GET", params: {}, query: new URLSearchParams(q), headers: {} }, env).body) as {
      results: { name: string; revision: Record<string, unknown> }[];
    };
  assert.deepEqual(
    find("common-id=org.example.Hello").results.map((r) => r.name),
    ["hello"],
  );
  assert.deepEqual(find("common-id=org.example.Other").results, []);
  assert.deepEqual(find("q=hello").results[0]?.revision["common-ids"], ["org.example.Hello"]);
});
