/**
 * The serve shim's HTTP contract, request by request: exact content types
 * (snapd compares them as strings), JSON error bodies, device session
 * endpoints, Range and HEAD on blobs, and that every download URL a response
 * names is served.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { committedCatalogue, committedManifest } from "../support/fixture-store.js";
import { removeWorkDir, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { importFixtures, serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let srv: StartedProcess;
let url: string;

before(async () => {
  work = await tmpWorkDir("endpoints");
  const store = join(work, "store");
  await importFixtures(store, committedCatalogue(), await committedManifest());
  await snapshelf(["build", "--dir", store]);
  srv = await serve(store);
  url = srv.url ?? assert.fail("no URL");
});

after(async () => {
  await srv?.stop();
  await removeWorkDir(work);
});

test("every response announces Snap-Store-Version", async () => {
  for (const p of ["/api/v1/snaps/sections", "/nope", "/v2/snaps/info/nope?architecture=amd64"]) {
    const r = await fetch(url + p);
    assert.equal(r.headers.get("snap-store-version"), "60", p);
  }
});

test("catalog endpoints have the exact content types snapd compares", async () => {
  const want: Record<string, string> = {
    "/api/v1/snaps/sections": "application/hal+json",
    "/api/v1/snaps/names?confinement=strict,classic": "application/hal+json",
    "/v2/snaps/categories": "application/json",
    "/v2/snaps/find?q=hello&architecture=amd64": "application/json",
    "/v2/snaps/info/hello-offline?architecture=amd64&fields=download": "application/json",
  };
  for (const [p, type] of Object.entries(want)) {
    const r = await fetch(url + p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get("content-type"), type, p);
  }
  const names = await (await fetch(url + "/api/v1/snaps/names")).text();
  assert.ok(
    names.startsWith('{"_embedded":{"clickindex:package":['),
    "names begins with the tokens snapd's stream decoder expects",
  );
});

test("not found is always JSON: snaps, assertions, anything else", async () => {
  const info = await fetch(url + "/v2/snaps/info/no-such-snap?architecture=amd64");
  assert.equal(info.status, 404);
  assert.equal(info.headers.get("content-type"), "application/json");
  const a = await fetch(url + "/v2/assertions/account/nobody?max-format=0");
  assert.equal(a.status, 404);
  assert.equal(a.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(await a.json(), { "error-list": [{ code: "not-found", message: "not found" }] });
  for (const p of [
    "/nothing/here",
    "/blobs/../state/records.json",
    "/blobs/%2e%2e/snapshelf.json",
    "/.catalogue.json",
    "/.catalogue/global.json",
    "/.snapshelf-build.json",
    "/v2/assertions/snap-revision/..%2F..%2F..%2F.shared",
    "/v2/assertions/account/..%2F..%2Fstate",
  ]) {
    const r = await fetch(url + p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers.get("content-type") ?? "", /^application\/(problem\+)?json$/, p);
  }
});

test("device nonce and session endpoints return opaque tokens", async () => {
  const n = await fetch(url + "/api/v1/snaps/auth/nonces", { method: "POST", headers: { Accept: "application/json" } });
  assert.equal(n.status, 200);
  const { nonce } = (await n.json()) as { nonce: string };
  assert.ok(typeof nonce === "string" && nonce.length > 0);
  const s = await fetch(url + "/api/v1/snaps/auth/sessions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ "device-session-request": "x", "serial-assertion": "y", "model-assertion": "z" }),
  });
  assert.equal(s.status, 200);
  const { macaroon } = (await s.json()) as { macaroon: string };
  assert.ok(typeof macaroon === "string" && macaroon.length > 0);
});

test("every download URL in info and refresh answers is served, with Range and HEAD", async () => {
  const m = await committedManifest();
  const urls = new Set<string>();
  for (const s of m.snaps) {
    for (const arch of m.architectures) {
      const r = await fetch(`${url}/v2/snaps/info/${s.name}?architecture=${arch}`);
      if (r.status !== 200) continue;
      const doc = (await r.json()) as { "channel-map": { download: { url: string; size: number } }[] };
      for (const c of doc["channel-map"]) urls.add(`${c.download.url} ${c.download.size}`);
    }
  }
  assert.ok(urls.size >= 10, `${urls.size} download URLs`);
  for (const entry of urls) {
    const [u = "", size = ""] = entry.split(" ");
    assert.ok(u.startsWith(url + "/blobs/"), u);
    const head = await fetch(u, { method: "HEAD" });
    assert.equal(head.status, 200, u);
    assert.equal(head.headers.get("content-length"), size, u);
    assert.equal(head.headers.get("content-encoding"), null, "blobs are never compressed");
  }
  const first = [...urls][0]?.split(" ")[0] ?? "";
  const part = await fetch(first, { headers: { Range: "bytes=100-" } });
  assert.equal(part.status, 206);
  assert.match(part.headers.get("content-range") ?? "", /^bytes 100-\d+\/\d+$/);
});

test("malformed refresh requests get 400 with snapd's error-list", async () => {
  for (const body of [
    "{",
    "[]",
    '{"actions": 5}',
    '{"actions": [{"action": "bogus"}]}',
    '{"actions": [{"action": "install", "name": 7}]}',
  ]) {
    const r = await fetch(url + "/v2/snaps/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    assert.equal(r.status, 400, body);
    const j = (await r.json()) as { "error-list": { code: string; message: string }[] };
    assert.match(j["error-list"][0]?.message ?? "", /^cannot /, body);
  }
});
