/**
 * The upstream double answers in the real store's shape (its recorded answers): the same keys in
 * the same order, nulls where the store has no value, absolute download URLs that redirect to a
 * CDN, `all` revisions under a device architecture's channel. A double kinder than the store
 * would let export bugs through.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { committedCatalogue, committedManifest } from "../support/fixture-store.js";
import type { Manifest } from "../support/realclient.js";
import { type Json, type JsonObject, recorded, shapeProblems } from "../support/store-shape.js";
import { startUpstreamDouble, type UpstreamDouble } from "../support/upstream-double.js";

let double: UpstreamDouble;
let manifest: Manifest;

before(async () => {
  manifest = await committedManifest();
  double = await startUpstreamDouble({ fixtures: committedCatalogue(), manifest });
});

after(async () => {
  await double.close();
});

async function info(name: string, arch: string, fields?: string): Promise<JsonObject> {
  const f = fields === undefined ? "" : `&fields=${fields}`;
  const res = await fetch(`${double.url}/v2/snaps/info/${name}?architecture=${arch}${f}`, {
    headers: { "snap-device-series": "16" },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as JsonObject;
}

async function refresh(name: string, channel: string, arch = "amd64", fields: string[] = []): Promise<JsonObject> {
  const res = await fetch(`${double.url}/v2/snaps/refresh`, {
    method: "POST",
    headers: { "snap-device-series": "16", "snap-device-architecture": arch, "content-type": "application/json" },
    body: JSON.stringify({
      context: [],
      actions: [{ action: "install", "instance-key": "install-1", name, channel, epoch: null }],
      ...(fields.length === 0 ? {} : { fields }),
    }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as JsonObject;
}

/**
 * The store sends a field only when `fields` asks for it: the recorded info was not asked for
 * store-url, its snap-yaml was added by hand (snapd never asks info for it); the recorded refresh
 * was not asked for store-url and categories. The double always sends these.
 */
const INFO_OPTIONAL = ["snap-yaml", "store-url"];
const REFRESH_OPTIONAL = ["categories", "store-url"];

test("info answers have the recorded info's shape (keys, order, nulls)", async () => {
  const want = [await recorded("info-hello-world")];
  for (const name of ["hello-offline", "tool-a", "core22"]) {
    assert.deepEqual(shapeProblems(want, await info(name, "amd64"), INFO_OPTIONAL), [], name);
  }
});

test("refresh results have the recorded refresh's shape", async () => {
  const want = [await recorded("refresh-go")];
  for (const name of ["hello-offline", "tool-a", "core22"]) {
    assert.deepEqual(shapeProblems(want, await refresh(name, "stable"), REFRESH_OPTIONAL), [], name);
  }
});

test("the comparison finds a kinder double: a missing field, an extra one, a wrong type, another order", async () => {
  const want = [await recorded("refresh-go")];
  const got = await refresh("hello-offline", "stable");
  const results = got["results"] as JsonObject[];
  const snap = results[0]!["snap"] as JsonObject;
  const { links: _links, ...noLinks } = snap;
  const bad = (s: JsonObject): Json => ({ ...got, results: [{ ...results[0]!, snap: s }] });
  const problems = (s: JsonObject): string[] => shapeProblems(want, bad(s), REFRESH_OPTIONAL);
  assert.deepEqual(problems(snap), []);
  assert.deepEqual(problems(noLinks), ["results[].snap: missing links"]);
  assert.deepEqual(problems({ ...snap, grade: "stable" }), [
    "results[].snap: extra grade",
    "results[].snap: keys not in alphabetical order",
  ]);
  assert.deepEqual(problems({ ...snap, revision: "7" }), [
    "results[].snap.revision: string, the real store sends number",
  ]);
  const { architectures, ...rest } = snap;
  assert.deepEqual(problems({ ...rest, architectures: architectures ?? null }), [
    "results[].snap: keys not in alphabetical order",
  ]);
});

test("only the fields asked for, like the real store: an export that forgets one never sees it", async () => {
  const got = await refresh("hello-offline", "stable", "amd64", ["name", "snap-id", "revision", "download"]);
  const snap = (got["results"] as JsonObject[])[0]!["snap"] as JsonObject;
  assert.deepEqual(Object.keys(snap), ["download", "name", "revision", "snap-id"]);
  const i = await info("hello-offline", "amd64", "revision,version,title");
  assert.deepEqual(Object.keys(i["snap"] as JsonObject), ["title"]);
  assert.deepEqual(Object.keys((i["channel-map"] as JsonObject[])[0]!), ["channel", "revision", "version"]);
});

test("what the real store does that a kind double would not", async () => {
  // an `all` revision is listed under the device architecture's channel, never under `all`
  const tool = await info("tool-a", "amd64");
  const entries = tool["channel-map"] as JsonObject[];
  assert.ok(entries.length > 0);
  for (const e of entries) {
    assert.deepEqual(e["architectures"], ["all"]);
    assert.equal((e["channel"] as JsonObject)["architecture"], "amd64");
  }
  // video media without sizes: null, not absent
  const media = (tool["snap"] as JsonObject)["media"] as JsonObject[];
  const video = media.find((m) => m["type"] === "video");
  assert.deepEqual(video, { height: null, type: "video", url: "https://vimeo.com/tool-a", width: null });
  // a base-less snap: base null
  const core = await info("core22", "amd64");
  assert.equal((core["channel-map"] as JsonObject[])[0]!["base"], null);
  // absolute download URLs, redirected to the CDN
  const res = await refresh("hello-offline", "stable");
  const dl = ((res["results"] as JsonObject[])[0]!["snap"] as JsonObject)["download"] as JsonObject;
  assert.match(String(dl["url"]), /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/snaps\/download\/[A-Za-z0-9]{32}_2\.snap$/);
  const hop = await fetch(String(dl["url"]), { redirect: "manual" });
  assert.equal(hop.status, 302);
  assert.equal(hop.headers.get("location"), "/cdn/hello-offline_2.snap");
  // the knob: an empty snap-yaml, as the store sends for some revisions
  double.blankSnapYaml("hello-offline", 2);
  const blank = await refresh("hello-offline", "stable");
  assert.equal(((blank["results"] as JsonObject[])[0]!["snap"] as JsonObject)["snap-yaml"], "");
});
