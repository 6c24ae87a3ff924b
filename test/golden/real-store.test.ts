/**
 * The real store's recorded answers in, snapshelf's answers out: each recorded answer is what
 * `export` saw (parsed by its own parsers, carried by its own code into bundle.json), the bundle
 * is read back and imported as the importer does (store facts applied to the verified blob's
 * record, store metadata, channel map), the catalogue built, and the info, refresh and find
 * answers rendered. Golden files keep the answers (test/golden/files/real-store/served); the
 * tests compare them with the recorded ones field by field and shape by shape, and name every
 * field that differs with its reason: that list is what snapshelf does not carry.
 *
 * Not run here: downloading and verifying the blobs (the recorded snaps' blobs and Canonical's
 * assertions for them are not in the repository; test/e2e/export.test.ts runs the same path over
 * the network against the upstream double). Where a blob's snap.yaml is needed, the recorded
 * `snap-yaml` stands for it.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { parseBundleDoc, renderBundleDoc } from "../../src/bundle/format.js";
import { toContents } from "../../src/bundle/read.js";
import { buildCatalogue, type CatalogueIndex, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import { toBundleRevision, toStoreMeta } from "../../src/export/carry.js";
import { fullChannelName, parseFullChannel } from "../../src/model/channel.js";
import {
  type AssertionRecord,
  emptyRecords,
  type Records,
  replaceSnapMeta,
  withAssertions,
  withReleases,
  withRevision,
} from "../../src/model/records.js";
import { handleFind } from "../../src/routes/find.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { renderInfo } from "../../src/routes/info.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { withStoreFacts } from "../../src/store/store-facts.js";
import { parseActionSnap, parseInfo, shapeFail, type UpstreamRevision } from "../../src/upstream/wire.js";
import { assertGolden } from "../support/golden.js";
import { isObject, type Json, type JsonObject, leaves, recorded, shapeProblems } from "../support/store-shape.js";

const BASE_URL = "http://snapshelf.example:8000";
/** What the snap-revision assertion's timestamp would be: the store's created-at replaces it. */
const ASSERTION_TIME = "2000-01-01T00:00:00.000000Z";

let infoHello: JsonObject;
let findHello: JsonObject;
let refreshGo: JsonObject;
let env: DynamicEnv;
const bundles = new Map<string, string>();

/** A revision as the store's `download` action returns it: info's snap object with the entry's fields. */
function actionOf(info: JsonObject, entry: JsonObject): UpstreamRevision {
  const { channel: _channel, ...rev } = entry;
  const snap = { ...(info["snap"] as JsonObject), ...rev };
  return parseActionSnap({ snap }, "results[0]", shapeFail("read the recorded answer"));
}

/** Export (carry) -> bundle.json -> import: the records the offline store holds afterwards. */
function exportImport(
  records: Records,
  name: string,
  snapId: string,
  meta: Parameters<typeof toStoreMeta>[0],
  channelMap: { channel: string; arch: string; revision: number; releasedAt: string }[],
  revisions: { up: UpstreamRevision; yaml: string }[],
): Records {
  const doc = {
    kind: "snap" as const,
    name,
    snapId,
    upstream: "https://api.snapcraft.io",
    store: toStoreMeta(meta, undefined),
    channelMap,
    revisions: revisions.map((r) => toBundleRevision(name, r.up, parseSnapYaml(r.yaml, `${name}_${r.up.revision}`))),
    assertions: [],
  };
  const text = renderBundleDoc(doc);
  bundles.set(name, text);
  const contents = toContents(parseBundleDoc(text, `${name}.snapshelf.tar`), "/staging");
  let out = records;
  for (const r of revisions) {
    // the record the importer makes from the verified blob (crossCheck), then the store's facts
    const record = {
      name,
      snapId,
      revision: r.up.revision,
      sha3_384: r.up.download.sha3_384,
      size: r.up.download.size,
      createdAt: ASSERTION_TIME,
      snapYaml: r.yaml,
      info: parseSnapYaml(r.yaml, `${name}_${r.up.revision}`),
    };
    out = withRevision(out, withStoreFacts(record, contents.revisionFacts ?? []));
  }
  out = withReleases(
    out,
    contents.releases.map((b) => ({
      name,
      channel: fullChannelName(parseFullChannel(b.channel)),
      arch: b.arch,
      revision: b.revision,
      at: b.at,
    })),
  );
  for (const [n, m] of Object.entries(contents.meta)) out = replaceSnapMeta(out, n, m);
  return out;
}

/** The verified account and snap-declaration the publisher comes from (their headers only). */
function publisherRecords(snapId: string, name: string, p: JsonObject): AssertionRecord[] {
  const id = String(p["id"]);
  return [
    {
      type: "account",
      primaryKey: [id],
      revision: 0,
      format: 0,
      object: `account-${id}`,
      headers: {
        "account-id": id,
        username: String(p["username"]),
        "display-name": String(p["display-name"]),
        validation: String(p["validation"]),
      },
    },
    {
      type: "snap-declaration",
      primaryKey: ["16", snapId],
      revision: 0,
      format: 0,
      object: `decl-${snapId}`,
      headers: { "snap-id": snapId, "snap-name": name, "publisher-id": id },
    },
  ];
}

before(async () => {
  infoHello = await recorded("info-hello-world");
  findHello = await recorded("find-hello-world");
  refreshGo = await recorded("refresh-go");
  let records = emptyRecords();

  // hello-world: the recorded info answer (channel map of revisions 29 and 30)
  const info = parseInfo(infoHello, "read the recorded info");
  const entries = infoHello["channel-map"] as JsonObject[];
  const byRev = new Map<number, UpstreamRevision>();
  for (const e of entries) {
    const up = actionOf(infoHello, e);
    if (!byRev.has(up.revision)) byRev.set(up.revision, up);
  }
  // revision 30's snap-yaml is empty in the recording: its blob's stands in (29's, version 6.5)
  const yaml29 = byRev.get(29)?.snapYaml ?? "";
  const helloRevs = [...byRev.values()].map((up) => ({
    up,
    yaml: up.snapYaml ?? yaml29.replace("version: 6.4", `version: ${up.version}`),
  }));
  records = withAssertions(
    records,
    publisherRecords(info.snapId, info.name, (infoHello["snap"] as JsonObject)["publisher"] as JsonObject),
  );
  records = exportImport(
    records,
    info.name,
    info.snapId,
    info.meta,
    info.channelMap.map((c) => ({
      channel: `${c.track}/${c.risk}`,
      arch: c.architecture,
      revision: c.revision,
      releasedAt: c.releasedAt ?? "",
    })),
    helloRevs,
  );

  // go: the recorded refresh answer (an install from stable on amd64)
  const result = (refreshGo["results"] as JsonObject[])[0]!;
  const go = parseActionSnap(result, "results[0]", shapeFail("read the recorded refresh"));
  records = withAssertions(
    records,
    publisherRecords(go.snapId, go.name, (result["snap"] as JsonObject)["publisher"] as JsonObject),
  );
  records = exportImport(
    records,
    go.name,
    go.snapId,
    go.meta,
    [{ channel: "latest/stable", arch: "amd64", revision: go.revision, releasedAt: String(result["released-at"]) }],
    [{ up: go, yaml: go.snapYaml ?? "" }],
  );

  const index: CatalogueIndex = indexCatalogue(buildCatalogue(records));
  env = { index, state: new GenerationState(index), ctx: { baseUrl: BASE_URL }, token: () => "token" };
});

function servedInfo(name: string): JsonObject {
  const snap = env.index.byName.get(name);
  assert.ok(snap, name);
  const text = renderInfo(snap, "amd64", env.ctx);
  assert.ok(text !== undefined);
  return JSON.parse(text) as JsonObject;
}

function servedRefresh(name: string): JsonObject {
  const req: RouteRequest = {
    method: "POST",
    params: {},
    query: new URLSearchParams(),
    headers: { "snap-device-architecture": "amd64", "snap-device-capabilities": "default-tracks" },
    body: Buffer.from(
      JSON.stringify({
        context: [],
        actions: [{ action: "install", "instance-key": "install-1", name, channel: "stable", epoch: null }],
        fields: [],
      }),
    ),
  };
  const res = handleRefresh(req, env);
  assert.equal(res.status, 200);
  return JSON.parse(res.body) as JsonObject;
}

function servedFind(q: string): JsonObject {
  const res = handleFind({ method: "GET", params: {}, query: new URLSearchParams(q), headers: {} }, env);
  assert.equal(res.status, 200);
  return JSON.parse(res.body) as JsonObject;
}

/** Leaves of `want` that `got` lacks or holds another value at: `path -> what got has`. */
function differences(want: Json, got: Json): Record<string, string> {
  const g = leaves(got);
  const out: Record<string, string> = {};
  for (const [p, v] of leaves(want)) {
    const have = g.get(p);
    if (JSON.stringify(have) !== JSON.stringify(v)) out[p] = have === undefined ? "(absent)" : JSON.stringify(have);
  }
  return out;
}

test("bundle.json carries every store field export saw", async () => {
  for (const [name, text] of bundles) await assertGolden(`real-store/served/bundle-${name}.json`, text);
  const hello = JSON.parse(bundles.get("hello-world") ?? "{}") as JsonObject;
  const store = hello["store"] as JsonObject;
  assert.deepEqual(store["links"], { contact: ["mailto:snaps@canonical.com"] });
  assert.deepEqual(store["featured-categories"], ["featured"]);
  assert.deepEqual(store["prices"], { EUR: "0.99", USD: "1.23" });
  assert.equal(store["private"], true);
  const revs = hello["revisions"] as JsonObject[];
  assert.deepEqual(
    revs.map((r) => [r["revision"], r["created-at"], r["common-ids"], r["confinement"]]),
    [
      [29, "2019-04-17T16:43:58.548661+00:00", [], "strict"],
      [30, "2019-04-17T16:43:58.548661+00:00", [], "strict"],
    ],
  );
});

test("info: every field of the recorded answer is served as recorded, but for the named ones", async () => {
  const served = servedInfo("hello-world");
  await assertGolden("real-store/served/info-hello-world.amd64.json", JSON.stringify(served));
  // (the recording gives revisions 29 and 30 the same blob: revision 30 was added by hand)
  const sha = "b07bdb78e762c2e6020c75fafc92055b323a6f8da3ab42a3963da5ade386aba11f77e3c8f919b8aa23f3aa5c06c844f9";
  const url = JSON.stringify(`${BASE_URL}/blobs/${sha}.snap`);
  assert.deepEqual(differences(infoHello, served), {
    // hand-edited in the recording; the base served is the blob's snap.yaml's (none)
    "channel-map[0].base": "null",
    // snapd never asks info for snap-yaml (2.68 InfoFields leaves it out); refresh answers carry it
    "channel-map[0].snap-yaml": "(absent)",
    "channel-map[3].snap-yaml": "(absent)",
    // downloads come from the offline store
    "channel-map[0].download.url": url,
    "channel-map[1].download.url": url,
    "channel-map[2].download.url": url,
    "channel-map[3].download.url": url,
  });
  // and nothing the real store would not send: the shape of the recorded answer (store-url: not asked there)
  // (resources: components, sent when asked for; the recorded requests did not ask)
  assert.deepEqual(shapeProblems([infoHello], served, ["resources", "snap-yaml", "store-url"]), []);
});

test("info of a snap known from a refresh answer: the recorded snap object, field by field", async () => {
  const served = servedInfo("go");
  await assertGolden("real-store/served/info-go.amd64.json", JSON.stringify(served));
  const rec = (refreshGo["results"] as JsonObject[])[0]!["snap"] as JsonObject;
  const entry = (served["channel-map"] as JsonObject[])[0]!;
  const merged = { ...(served["snap"] as JsonObject), ...entry };
  const diff = differences(rec, merged);
  assert.deepEqual(diff, {
    "download.url": JSON.stringify(`${BASE_URL}/blobs/${String((rec["download"] as JsonObject)["sha3-384"])}.snap`),
    "snap-yaml": "(absent)",
  });
});

test("refresh: every field of the recorded answer is served as recorded, but for the named ones", async () => {
  const served = servedRefresh("go");
  await assertGolden("real-store/served/refresh-go.json", JSON.stringify(served));
  const rec = (refreshGo["results"] as JsonObject[])[0]!["snap"] as JsonObject;
  assert.deepEqual(differences(refreshGo, served), {
    "results[0].snap.download.url": JSON.stringify(
      `${BASE_URL}/blobs/${String((rec["download"] as JsonObject)["sha3-384"])}.snap`,
    ),
  });
  // snap-yaml is the blob's own, exactly (2.68 builds the snap's metadata on it)
  const snap = (served["results"] as JsonObject[])[0]!["snap"] as JsonObject;
  assert.equal(snap["snap-yaml"], rec["snap-yaml"]);
  assert.deepEqual(shapeProblems([refreshGo], served, ["categories", "resources", "store-url"]), []);
  // hello-world: the store's prices, private flag, links and featured categories reach the device
  const hello = servedRefresh("hello-world");
  await assertGolden("real-store/served/refresh-hello-world.json", JSON.stringify(hello));
  const hs = (hello["results"] as JsonObject[])[0]!["snap"] as JsonObject;
  const rs = infoHello["snap"] as JsonObject;
  for (const k of ["prices", "private", "links", "categories", "media", "contact", "website", "license", "title"]) {
    assert.deepEqual(hs[k], rs[k], k);
  }
  assert.equal(hs["created-at"], "2019-04-17T16:43:58.548661+00:00");
});

test("find: the recorded find answer's shape, with the store's fields", async () => {
  const served = servedFind("q=hello");
  await assertGolden("real-store/served/find-hello.json", JSON.stringify(served));
  const results = served["results"] as JsonObject[];
  assert.deepEqual(
    results.map((r) => r["name"]),
    ["hello-world"],
  );
  // the recorded find asked fewer revision fields (snapd's find fields): those are optional; its
  // media have no sizes (the older store's; the 2022 info and 2024 refresh recordings have them)
  const optional = ["architectures", "created-at", "epoch", "name", "snap-id", "store-url", "height", "width"];
  assert.deepEqual(shapeProblems([findHello], served, optional), []);
  const snap = results[0]!["snap"] as JsonObject;
  assert.deepEqual(snap["categories"], [
    { featured: true, name: "featured" },
    { featured: false, name: "productivity" },
  ]);
  assert.ok(isObject(snap["links"] as Json));
});
