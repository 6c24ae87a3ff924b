/**
 * Components (issue 13 §3) in served answers: a snap whose revisions have components, folded
 * from records as import leaves them (component records + snap-resource-pair assertions), and
 * the info and refresh answers rendered with their `resources` (golden files in
 * test/golden/files/components). Each snap revision serves, per component, the newest revision
 * paired with it; a component revision paired with no held revision is not served.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { buildCatalogue, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import {
  type AssertionRecord,
  type ComponentRecord,
  emptyRecords,
  type Records,
  withAssertions,
  withComponent,
  withReleases,
  withRevision,
} from "../../src/model/records.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { renderInfo } from "../../src/routes/info.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import type { DynamicEnv } from "../../src/routes/types.js";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { assertGolden } from "../support/golden.js";

const BASE_URL = "http://snapshelf.example:8000";
const SNAP_ID = "e2CHUkDvuEJ7NZaK1NcYF2qhD9erd0YP";
const hex = (c: string): string => c.repeat(96);

function yaml(rev: number, version: string): string {
  return [
    "name: comp-offline",
    `version: '${version}'`,
    "summary: Snap with components",
    `description: A snap with components (revision ${rev}).`,
    "base: core22",
    "architectures: [amd64]",
    "components:",
    "  extra:",
    "    type: standard",
    "  docs:",
    "    type: standard",
    "",
  ].join("\n");
}

function pair(component: string, resourceRevision: number, snapRevision: number): AssertionRecord {
  const pk = [SNAP_ID, component, String(resourceRevision), String(snapRevision), "global-upload"];
  return {
    type: "snap-resource-pair",
    primaryKey: pk,
    revision: 0,
    format: 0,
    object: Buffer.from(`${component}/${resourceRevision}/${snapRevision}`).toString("hex").padEnd(96, "0"),
    headers: {
      "snap-id": SNAP_ID,
      "resource-name": component,
      "resource-revision": String(resourceRevision),
      "snap-revision": String(snapRevision),
      provenance: "global-upload",
    },
  };
}

function component(name: string, revision: number, digit: string): ComponentRecord {
  return {
    name: "comp-offline",
    snapId: SNAP_ID,
    component: name,
    revision,
    sha3_384: hex(digit),
    size: 4096 * revision,
    type: "standard",
    version: `${revision}.0`,
    description: `Component ${name}, revision ${revision}.`,
    createdAt: `2026-12-0${revision}T10:00:00Z`,
  };
}

let env: DynamicEnv;

before(() => {
  let r: Records = emptyRecords();
  for (const [rev, version, digit] of [
    [1, "1.0", "a"],
    [2, "2.0", "b"],
  ] as const) {
    const text = yaml(rev, version);
    r = withRevision(r, {
      name: "comp-offline",
      snapId: SNAP_ID,
      revision: rev,
      sha3_384: hex(digit),
      size: 8192,
      createdAt: "2026-12-01T09:00:00Z",
      snapYaml: text,
      info: parseSnapYaml(text, "comp-offline"),
    });
  }
  // extra 1 and 2 go with snap revision 1 (2 is a component-only update), extra 3 with 2,
  // docs 1 with both; extra 4 is paired with revision 9, which the store does not hold
  r = withAssertions(r, [
    pair("extra", 1, 1),
    pair("extra", 2, 1),
    pair("extra", 3, 2),
    pair("docs", 1, 1),
    pair("docs", 1, 2),
  ]);
  for (const c of [
    component("extra", 1, "c"),
    component("extra", 2, "d"),
    component("extra", 3, "e"),
    component("docs", 1, "f"),
    component("extra", 4, "0"),
  ])
    r = withComponent(r, c);
  r = withReleases(r, [
    { name: "comp-offline", channel: "latest/stable", arch: "amd64", revision: 1, at: "2026-12-01T11:00:00Z" },
    { name: "comp-offline", channel: "latest/candidate", arch: "amd64", revision: 2, at: "2026-12-01T11:00:00Z" },
  ]);
  const index = indexCatalogue(buildCatalogue(r));
  env = { index, state: new GenerationState(index), ctx: { baseUrl: BASE_URL }, token: () => "token" };
});

function refresh(body: object): string {
  const res = handleRefresh(
    {
      method: "POST",
      params: {},
      query: new URLSearchParams(),
      headers: { "snap-device-architecture": "amd64" },
      body: Buffer.from(JSON.stringify(body)),
    },
    env,
  );
  assert.equal(res.status, 200);
  return res.body;
}

type Res = { name: string; revision: number; download: { url: string } };

test("info answers carry each revision's newest paired components, with absolute download URLs", async () => {
  const snap = env.index.byName.get("comp-offline");
  assert.ok(snap);
  const text = renderInfo(snap, "amd64", env.ctx);
  assert.ok(text !== undefined);
  const doc = JSON.parse(text) as { "channel-map": { revision: number; resources: Res[] }[] };
  const byRev = new Map(doc["channel-map"].map((e) => [e.revision, e.resources.map((x) => `${x.name}=${x.revision}`)]));
  assert.deepEqual(byRev.get(1), ["docs=1", "extra=2"]);
  assert.deepEqual(byRev.get(2), ["docs=1", "extra=3"]);
  for (const e of doc["channel-map"])
    for (const x of e.resources)
      assert.match(x.download.url, /^http:\/\/snapshelf\.example:8000\/blobs\/[0-9a-f]{96}\.snap$/);
  await assertGolden("components/info-comp-offline.amd64.json", text);
});

test("refresh answers carry the resources, also when only a component changed", async () => {
  const install = refresh({
    context: [],
    actions: [{ action: "install", "instance-key": "install-1", name: "comp-offline", channel: "stable", epoch: null }],
    fields: ["resources", "revision", "download"],
  });
  await assertGolden("components/refresh-install-comp-offline.json", install);
  // the device holds revision 1 with extra 1: the answer is revision 1 with extra 2, which
  // snapd (currentSnapMatchesStoreSnap) takes as an update
  const update = refresh({
    context: [
      {
        "snap-id": SNAP_ID,
        "instance-key": SNAP_ID,
        revision: 1,
        "tracking-channel": "latest/stable",
        epoch: { read: [0], write: [0] },
      },
    ],
    actions: [{ action: "refresh", "instance-key": SNAP_ID, "snap-id": SNAP_ID, channel: "latest/stable" }],
    fields: ["resources", "revision"],
  });
  const doc = JSON.parse(update) as { results: { result: string; snap: { revision: number; resources: Res[] } }[] };
  assert.equal(doc.results[0]?.result, "refresh");
  assert.equal(doc.results[0]?.snap.revision, 1);
  assert.deepEqual(
    doc.results[0]?.snap.resources.map((x) => `${x.name}=${x.revision}`),
    ["docs=1", "extra=2"],
  );
  await assertGolden("components/refresh-component-only-update.json", update);
});
