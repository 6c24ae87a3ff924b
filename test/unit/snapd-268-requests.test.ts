/**
 * What snapd 2.68.3 sends that 2.57.6 does not (test/realclient/modern/README.md), answered
 * by the pure route code on the committed fixture catalogue: `held` in context entries,
 * `channel` on every refresh action, `Snap-Device-Location`, `resources` in results and info,
 * the new assertion types and 2.68.3's max-format values. The wire side (the real 2.68.3
 * client sending these) is test/e2e/modern-wire.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertionType, fullPrimaryKey } from "../../src/assertions/types.js";
import { type CatalogueIndex, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { AssertionEntry, Catalogue } from "../../src/catalogue/types.js";
import { assertionsRoute } from "../../src/routes/assertions.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { renderInfo } from "../../src/routes/info.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import { heldError } from "../../src/routes/refresh-held.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";
import { readTreeCatalogue } from "../../src/store/tree-files.js";
import { buildFixtureStore, committedManifest, FIXTURE_BASE_URL, makeFixtureStore } from "../support/fixture-store.js";
import { removeWorkDir, tmpWorkDir } from "../support/work-dir.js";

let work: string;
let catalogue: Catalogue;
let env: DynamicEnv;
let id: (name: string) => string;

before(async () => {
  work = await tmpWorkDir("snapd-268");
  const built = await buildFixtureStore(await makeFixtureStore(join(work, "store")));
  catalogue = readTreeCatalogue(built.path, "read the fixture tree");
  const index = indexCatalogue(catalogue);
  env = { index, state: new GenerationState(index), ctx: { baseUrl: FIXTURE_BASE_URL }, token: () => "token" };
  const m = await committedManifest();
  id = (n) => m.snaps.find((s) => s.name === n)?.["snap-id"] ?? "";
});

after(async () => {
  await removeWorkDir(work);
});

function post(body: unknown, headers: Record<string, string> = {}): RouteRequest {
  return {
    method: "POST",
    params: {},
    query: new URLSearchParams(),
    headers: { "snap-device-architecture": "amd64", "snap-device-capabilities": "default-tracks", ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

const E0 = { read: [0], write: [0] };
// 2.68.3's fields (store/store_action.go snapActionFields, plus resources as `snap download` asks)
const FIELDS_268 = [
  ...["architectures", "base", "confinement", "links", "contact", "created-at", "description", "download"],
  ...["epoch", "license", "name", "prices", "private", "publisher", "revision", "snap-id", "snap-yaml"],
  ...["summary", "title", "type", "version", "website", "store-url", "media", "common-ids", "categories"],
  "resources",
];

function context(name: string, revision: number, extra: Record<string, unknown> = {}) {
  return {
    "snap-id": id(name),
    "instance-key": id(name),
    revision,
    "tracking-channel": "latest/stable",
    epoch: E0,
    ...extra,
  };
}

function refreshAction(name: string, extra: Record<string, unknown> = {}) {
  return { action: "refresh", "instance-key": id(name), "snap-id": id(name), ...extra };
}

test("heldError: absent, null and {by: [names]} are fine; any other shape is named", () => {
  for (const ok of [undefined, null, {}, { by: [] }, { by: ["system"] }, { by: ["a", "b"], other: 1 }, { by: null }]) {
    assert.equal(heldError(ok), undefined, JSON.stringify(ok));
  }
  for (const bad of ["system", 1, [], ["system"], { by: "system" }, { by: [1] }, { by: {} }]) {
    assert.match(heldError(bad) ?? "", /"held" must be \{"by": \[snap names\]\}/, JSON.stringify(bad));
  }
});

test("held in a context entry: accepted, the answer is the one without it; a malformed one is a 400", () => {
  const body = (held?: unknown) => ({
    context: [context("hello-offline", 1, held === undefined ? {} : { held })],
    actions: [refreshAction("hello-offline", { channel: "latest/stable" })],
    fields: FIELDS_268,
  });
  const plain = handleRefresh(post(body()), env);
  assert.equal(plain.status, 200);
  assert.equal(handleRefresh(post(body({ by: ["system", "tool-a"] })), env).body, plain.body);
  const bad = handleRefresh(post(body({ by: "tool-a" })), env);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /context\[0\]: \\"held\\" must be/);
});

test("refresh-all with the tracking channel on every action (2.68) is answered as without it (2.57.6)", () => {
  const ctx = [context("hello-offline", 1), context("core22", 1), context("tool-a", 2)];
  const names = ["hello-offline", "core22", "tool-a"];
  const old = handleRefresh(post({ context: ctx, actions: names.map((n) => refreshAction(n)), fields: [] }), env);
  const modern = handleRefresh(
    post({
      context: ctx,
      actions: names.map((n) => refreshAction(n, { channel: "latest/stable" })),
      fields: FIELDS_268,
    }),
    env,
  );
  assert.equal(old.status, 200);
  assert.equal(modern.body, old.body);
  const revs = (JSON.parse(modern.body) as { results: { name: string; snap: { revision: number } }[] }).results.map(
    (r) => `${r.name}=${r.snap.revision}`,
  );
  // hello-offline moves to the stable head, core22 stays, epoch-0 tool-a stops at the epoch bridge
  assert.deepEqual(revs, ["hello-offline=2", "core22=1", "tool-a=3"]);
});

test("Snap-Device-Location changes no answer", () => {
  const body = {
    context: [],
    actions: [
      { action: "install", "instance-key": "install-1", name: "hello-offline", channel: "stable", epoch: null },
    ],
    fields: FIELDS_268,
  };
  const plain = handleRefresh(post(body), env);
  const located = handleRefresh(
    post(body, { "snap-device-location": 'cloud-name="gce" region="europe-west1" availability-zone="europe-west1-b"' }),
    env,
  );
  assert.equal(plain.status, 200);
  assert.equal(located.body, plain.body);
});

test("resources: every refresh result and every info channel-map entry has a list (no components: empty)", () => {
  const res = handleRefresh(
    post({
      context: [],
      actions: [{ action: "download", "instance-key": "download-1", name: "tool-a", channel: "stable", epoch: null }],
      fields: FIELDS_268,
    }),
    env,
  );
  const snap = (JSON.parse(res.body) as { results: { snap: Record<string, unknown> }[] }).results[0]?.snap;
  assert.deepEqual(snap?.["resources"], []);
  for (const s of catalogue.snaps) {
    for (const arch of catalogue.arches) {
      const text = renderInfo(s, arch, env.ctx);
      if (text === undefined) continue;
      const doc = JSON.parse(text) as { "channel-map": Record<string, unknown>[] };
      for (const e of doc["channel-map"]) assert.deepEqual(e["resources"], [], `${s.name} ${arch}`);
    }
  }
});

test("assertion types of 2.68.3: confdb is served by its key; confdb-control is signed by devices, never served", () => {
  assert.deepEqual(assertionType("confdb")?.primaryKey, ["account-id", "name"]);
  assert.equal(assertionType("confdb")?.noAuthority, false);
  assert.deepEqual(assertionType("confdb-control")?.primaryKey, ["brand-id", "model", "serial"]);
  assert.equal(assertionType("confdb-control")?.noAuthority, true);
  assert.deepEqual(fullPrimaryKey("snap-resource-pair", ["id", "comp", "2", "5"]), [
    "id",
    "comp",
    "2",
    "5",
    "global-upload",
  ]);
  const select = (path: string, query = "") => {
    const [type = "", ...rest] = path.split("/");
    return assertionsRoute.select(
      { method: "GET", params: { type, "*": rest.join("/") }, query: new URLSearchParams(query), headers: {} },
      env.index,
    );
  };
  assert.equal(select("confdb/acc/network"), "v2/assertions/confdb/acc/network/_.assert");
  assert.equal(select("confdb/acc/network/x"), undefined);
  assert.equal(
    select("snap-resource-revision/id/comp/digest"),
    "v2/assertions/snap-resource-revision/id/comp/digest/_.assert",
  );
  assert.equal(
    select("snap-resource-pair/id/comp/2/5/global-upload"),
    "v2/assertions/snap-resource-pair/id/comp/2/5/_.assert",
  );
  // a confdb-control would be a file under its key; the catalogue never holds one (import refuses
  // no-authority types), so the request finds nothing: a JSON 404
  assert.equal(
    assertionsRoute.notFound({ method: "GET", params: {}, query: new URLSearchParams(), headers: {} }).status,
    404,
  );
});

test("max-format of 2.68.3 (snap-declaration 6, account-key 1) picks the newest revision it can read", () => {
  const decl = catalogue.assertions.find((a) => a.type === "snap-declaration");
  const key = catalogue.assertions.find((a) => a.type === "account-key");
  assert.ok(decl && key);
  // newer revisions in newer formats, as the real store holds them
  const extra: AssertionEntry[] = [
    { ...decl, revision: decl.revision + 1, format: 5, object: "5".repeat(96) },
    { ...decl, revision: decl.revision + 2, format: 6, object: "6".repeat(96) },
    { ...key, revision: key.revision + 1, format: 1, object: "1".repeat(96) },
  ];
  const index: CatalogueIndex = indexCatalogue({ ...catalogue, assertions: [...catalogue.assertions, ...extra] });
  const select = (type: string, pk: readonly string[], maxFormat: number) =>
    assertionsRoute.select(
      {
        method: "GET",
        params: { type, "*": pk.join("/") },
        query: new URLSearchParams(`max-format=${maxFormat}`),
        headers: {},
      },
      index,
    );
  const dir = `v2/assertions/snap-declaration/${decl.primaryKey.join("/")}`;
  assert.equal(select("snap-declaration", decl.primaryKey, 6), `${dir}/_.assert`, "2.68.3 gets format 6");
  assert.equal(select("snap-declaration", decl.primaryKey, 5), `${dir}/_.format-5.assert`, "2.57.6 gets format 5");
  assert.equal(select("snap-declaration", decl.primaryKey, 0), `${dir}/_.format-0.assert`);
  const kdir = `v2/assertions/account-key/${key.primaryKey.join("/")}`;
  assert.equal(select("account-key", key.primaryKey, 1), `${kdir}/_.assert`, "2.68.3 gets format 1");
  assert.equal(select("account-key", key.primaryKey, 0), `${kdir}/_.format-0.assert`, "2.57.6 never gets format 1");
  // the files those paths name are rendered
  const files = new Set([...assertionsRoute.files(index, env.ctx)].map((f) => f.path));
  for (const p of [
    `${dir}/_.assert`,
    `${dir}/_.format-5.assert`,
    `${dir}/_.format-0.assert`,
    `${kdir}/_.format-0.assert`,
  ]) {
    assert.ok(files.has(p), p);
  }
  // fetch-assertions with 2.68.3's assertion-max-formats: the stream URL of the format-6 revision,
  // and with 2.57.6's, an URL that asks for format 5
  const fetch = (maxFormats: Record<string, number>) =>
    handleRefresh(
      post({
        context: [],
        actions: [
          {
            action: "fetch-assertions",
            key: "g1",
            assertions: [{ type: "snap-declaration", "primary-key": decl.primaryKey.slice() }],
          },
        ],
        fields: [],
        "assertion-max-formats": maxFormats,
      }),
      { ...env, index },
    ).body;
  const path = `/v2/assertions/snap-declaration/${decl.primaryKey.join("/")}`;
  assert.match(fetch({ "snap-declaration": 6, "account-key": 1, "system-user": 2 }), new RegExp(`${path}"`));
  assert.match(fetch({ "snap-declaration": 5, "system-user": 1 }), new RegExp(`${path}\\?max-format=5"`));
});
