/**
 * What snapd 2.68.3 sends that 2.57.6 does not (test/realclient/modern/README.md, items 1-8),
 * on the wire: its probe (snapd's own store package) talks to `snapshelf serve` through a
 * recording proxy (the tree is built with the proxy's URL, so downloads pass it too), so
 * each test sees the request the real client made and what snapshelf answered, and the
 * probe's own result says snapd accepted the answer. Last, a device that already holds a
 * serial (issue 13 point 4): device session first, then refresh and download with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureStore } from "../support/fixture-work.js";
import {
  currentRevision,
  freePort,
  hostArch,
  type Manifest,
  removeWorkDir,
  runProbe,
  SNAPD_2_57,
  SNAPD_2_68,
  type StartedProcess,
} from "../support/realclient.js";
import { type Exchange, type Recorder, startRecorder } from "../support/recorder.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let manifest: Manifest;
let fixtures: string;
let server: StartedProcess | undefined;
let recorder: Recorder | undefined;
/** When set, the next refresh request's body is replaced by this before it reaches snapshelf. */
let breakNextRefresh: string | undefined;

before(async () => {
  const fx = await fixtureStore("modern-wire");
  ({ work, fixtures, manifest } = fx);
  const { store } = fx;
  const port = await freePort();
  recorder = await startRecorder(`http://127.0.0.1:${port}`, (method, url) => {
    if (method !== "POST" || !url.startsWith("/v2/snaps/refresh") || breakNextRefresh === undefined) return undefined;
    const broken = breakNextRefresh;
    breakNextRefresh = undefined;
    return broken;
  });
  await snapshelf(["build", "--dir", store, "--base-url", recorder.url]);
  server = await serve(store, ["--port", String(port), "--base-url", recorder.url]);
  assert.ok(server.url);
});

after(async () => {
  await recorder?.stop();
  await server?.stop();
  await removeWorkDir(work);
});

type Json = Record<string, unknown>;

/** Runs the 2.68.3 probe through the recorder; returns its JSON and the exchanges it caused. */
async function probe(args: string[], clients = SNAPD_2_68): Promise<{ out: Json; seen: Exchange[] }> {
  assert.ok(recorder);
  const from = recorder.exchanges.length;
  const out = await runProbe(recorder.url, ["-arch", hostArch(), ...args], { clients });
  return { out, seen: recorder.exchanges.slice(from) };
}

function only(seen: readonly Exchange[], method: string, prefix: string): Exchange {
  const hits = seen.filter((e) => e.method === method && e.url.startsWith(prefix));
  assert.equal(hits.length, 1, `one ${method} ${prefix}: ${seen.map((e) => `${e.method} ${e.url}`).join(", ")}`);
  return hits[0] as Exchange;
}

function snapId(name: string): string {
  const s = manifest.snaps.find((x) => x.name === name);
  assert.ok(s, name);
  return s["snap-id"];
}

async function installedFile(entries: Json[]): Promise<string> {
  const { writeFile } = await import("node:fs/promises");
  const f = join(work, `installed-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(f, JSON.stringify(entries));
  return f;
}

/** The shape the real store gives these fields (../shared/real-store/responses). */
function assertModernFields(snap: Json, what: string): void {
  assert.ok(
    typeof snap["links"] === "object" && snap["links"] !== null && !Array.isArray(snap["links"]),
    `${what}: links`,
  );
  for (const v of Object.values(snap["links"] as Json)) {
    assert.ok(Array.isArray(v) && v.every((u) => typeof u === "string"), `${what}: links values are URL lists`);
  }
  assert.ok(Array.isArray(snap["categories"]), `${what}: categories`);
  for (const c of snap["categories"] as Json[]) {
    assert.equal(typeof c["name"], "string", `${what}: category name`);
    assert.equal(typeof c["featured"], "boolean", `${what}: category featured`);
  }
}

test("refresh: 2.68.3 asks for links, categories and resources; every result carries them", async () => {
  const dl = join(work, "dl-install");
  const { out, seen } = await probe([
    "-resources",
    "action",
    "-action",
    "install",
    "-name",
    "hello-offline",
    "-download",
    dl,
  ]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  const ex = only(seen, "POST", "/v2/snaps/refresh");
  const fields = (JSON.parse(ex.body) as { fields: string[] }).fields;
  for (const f of ["links", "categories", "resources"])
    assert.ok(fields.includes(f), `2.68.3 asks for ${f}: ${fields}`);
  assert.equal(ex.status, 200);
  const result = (JSON.parse(ex.responseBody) as { results: { snap: Json }[] }).results[0];
  assert.ok(result);
  assertModernFields(result.snap, "refresh result");
  // a snap without components: what the store answers for one (snapd 2.68 then installs no components)
  assert.deepEqual(result.snap["resources"], []);
  assert.equal(typeof result.snap["snap-yaml"], "string");
});

test("info: 2.68.3 asks for links, categories and resources; snap and channel map carry them", async () => {
  const { out, seen } = await probe(["info", "hello-offline"]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  const ex = only(seen, "GET", "/v2/snaps/info/hello-offline");
  const fields = new URL(ex.url, "http://x").searchParams.get("fields")?.split(",") ?? [];
  for (const f of ["links", "categories", "resources"])
    assert.ok(fields.includes(f), `2.68.3 asks for ${f}: ${fields}`);
  assert.equal(ex.status, 200);
  const doc = JSON.parse(ex.responseBody) as { snap: Json; "channel-map": Json[] };
  assertModernFields(doc.snap, "info snap");
  assert.ok(doc["channel-map"].length > 0);
  for (const e of doc["channel-map"]) assert.deepEqual(e["resources"], [], "channel-map entry resources");
});

test("find: 2.68.3 asks for links and categories; the results carry them", async () => {
  const { out, seen } = await probe(["find", "hello"]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  const ex = only(seen, "GET", "/v2/snaps/find");
  const fields = new URL(ex.url, "http://x").searchParams.get("fields")?.split(",") ?? [];
  for (const f of ["links", "categories"]) assert.ok(fields.includes(f), `2.68.3 asks for ${f}: ${fields}`);
  assert.equal(ex.responseHeaders["content-type"], "application/json");
  const results = (JSON.parse(ex.responseBody) as { results: { snap: Json }[] }).results;
  assert.ok(results.length > 0);
  for (const r of results) assertModernFields(r.snap, `find result ${String(r.snap["name"])}`);
});

test("categories: GET /v2/snaps/categories, exactly application/json, read by 2.68.3", async () => {
  const { out, seen } = await probe(["categories"]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  const ex = only(seen, "GET", "/v2/snaps/categories");
  assert.equal(ex.status, 200);
  assert.equal(ex.responseHeaders["content-type"], "application/json");
  const served = (JSON.parse(ex.responseBody) as { categories: { name: string }[] }).categories.map((c) => c.name);
  assert.deepEqual(out["categories"], served);
  assert.ok(served.includes("featured"), `${served}`);
});

test("held: a context entry with held.by is accepted and answered as without it", async () => {
  const rev = currentRevision(manifest, "hello-offline", "latest/stable");
  assert.ok(rev);
  const base = {
    name: "hello-offline",
    "snap-id": snapId("hello-offline"),
    revision: rev.revision,
    channel: "latest/stable",
    epoch: "0",
  };
  const heldRun = await probe([
    "action",
    "-installed",
    await installedFile([{ ...base, "held-by": ["system", "tool-a"] }]),
    "-action",
    "refresh",
    "-name",
    "hello-offline",
  ]);
  const ex = only(heldRun.seen, "POST", "/v2/snaps/refresh");
  const context = (JSON.parse(ex.body) as { context: Json[] }).context;
  assert.deepEqual(context[0]?.["held"], { by: ["system", "tool-a"] }, "2.68.3 sent held");
  assert.equal(ex.status, 200, ex.responseBody);
  assert.equal(heldRun.out["error-kind"], "no-update", JSON.stringify(heldRun.out));
  const plain = await probe([
    "action",
    "-installed",
    await installedFile([base]),
    "-action",
    "refresh",
    "-name",
    "hello-offline",
  ]);
  assert.equal(only(plain.seen, "POST", "/v2/snaps/refresh").responseBody, ex.responseBody);
});

test("refresh-all: 2.68.3 puts the tracking channel on every refresh action; the answers are 2.57.6's", async () => {
  const stable = currentRevision(manifest, "hello-offline", "latest/stable");
  const tool = currentRevision(manifest, "tool-data", "latest/stable");
  assert.ok(stable && tool);
  const hello = manifest.snaps.find((s) => s.name === "hello-offline");
  const older = hello?.channels.find((c) => c.channel === "latest/stable" && c.arch === hostArch())?.history[0];
  assert.ok(older !== undefined && older !== stable.revision);
  const installed = await installedFile([
    {
      name: "hello-offline",
      "snap-id": snapId("hello-offline"),
      revision: older,
      channel: "latest/stable",
      epoch: "0",
    },
    {
      name: "tool-data",
      "snap-id": snapId("tool-data"),
      revision: tool.revision,
      channel: "latest/stable",
      epoch: "0",
    },
  ]);
  const modern = await probe(["action", "-action", "refresh-all", "-installed", installed]);
  const old = await probe(["action", "-action", "refresh-all", "-installed", installed], SNAPD_2_57);
  const mex = only(modern.seen, "POST", "/v2/snaps/refresh");
  const oex = only(old.seen, "POST", "/v2/snaps/refresh");
  const actions = (JSON.parse(mex.body) as { actions: Json[] }).actions;
  assert.equal(actions.length, 2);
  for (const a of actions) assert.equal(a["channel"], "latest/stable", JSON.stringify(a));
  for (const a of (JSON.parse(oex.body) as { actions: Json[] }).actions) assert.equal(a["channel"], undefined);
  const revs = (ex: Exchange) =>
    (JSON.parse(ex.responseBody) as { results: { name: string; snap: { revision: number } }[] }).results
      .map((r) => `${r.name}=${r.snap.revision}`)
      .sort();
  assert.deepEqual(revs(mex), revs(oex));
  assert.deepEqual(revs(mex), [`hello-offline=${stable.revision}`, `tool-data=${tool.revision}`]);
  assert.equal(modern.out["ok"], true, JSON.stringify(modern.out));
});

test("assertions: 2.68.3's max-format values (snap-declaration 6, account-key 1) are honoured", async () => {
  const decl = await probe(["assertion", "snap-declaration", "16", snapId("tool-a")]);
  assert.equal(decl.out["verified"], true, JSON.stringify(decl.out));
  const dex = only(decl.seen, "GET", "/v2/assertions/snap-declaration/");
  assert.equal(new URL(dex.url, "http://x").searchParams.get("max-format"), "6");
  assert.equal(dex.responseHeaders["content-type"], "application/x.ubuntu.assertion");
  const key = await probe(["assertion", "account-key", manifest["store-key-id"]]);
  assert.equal(key.out["verified"], true, JSON.stringify(key.out));
  const kex = decl.seen.concat(key.seen).filter((e) => e.url.startsWith("/v2/assertions/account-key/"));
  assert.ok(kex.length > 0);
  for (const e of kex) assert.equal(new URL(e.url, "http://x").searchParams.get("max-format"), "1", e.url);
});

test("a 400 from snapshelf carries Snap-Store-Version, so 2.68.3 retries once (2.57.6 gives up)", async () => {
  const args = ["action", "-action", "install", "-name", "tool-data"];
  // the first request reaches snapshelf malformed (as an older store rejects a field it does not know)
  breakNextRefresh = '{"actions": 1}';
  const modern = await probe(args);
  const tries = modern.seen.filter((e) => e.url.startsWith("/v2/snaps/refresh"));
  assert.equal(tries.length, 2, "2.68.3 retried once");
  assert.equal(tries[0]?.status, 400);
  assert.equal(tries[0]?.responseHeaders["snap-store-version"], "60");
  assert.equal(tries[0]?.responseHeaders["content-type"], "application/json");
  assert.match(tries[0]?.responseBody ?? "", /"error-list":\[\{"code":"bad-request"/);
  assert.equal(tries[1]?.status, 200);
  assert.equal(modern.out["ok"], true, JSON.stringify(modern.out));

  breakNextRefresh = '{"actions": 1}';
  const old = await probe(args, SNAPD_2_57);
  assert.equal(old.seen.filter((e) => e.url.startsWith("/v2/snaps/refresh")).length, 1, "2.57.6 does not retry");
  assert.equal(old.out["ok"], false);
  assert.match(String(old.out["error"]), /400/);
});

test("Snap-Device-Location (2.68 on a cloud) is accepted and changes no answer", async () => {
  assert.ok(server?.url);
  const body = JSON.stringify({
    context: [],
    actions: [
      { action: "install", "instance-key": "install-1", name: "hello-offline", channel: "stable", epoch: null },
    ],
    fields: ["download", "links", "categories", "resources"],
  });
  const ask = async (extra: Record<string, string>) => {
    const res = await fetch(`${server?.url}/v2/snaps/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json", "snap-device-architecture": "amd64", ...extra },
      body,
    });
    return { status: res.status, body: await res.text() };
  };
  const plain = await ask({});
  const located = await ask({
    "snap-device-location": 'cloud-name="aws" region="us-east-1" availability-zone="us-east-1a"',
  });
  assert.equal(plain.status, 200);
  assert.deepEqual(located, plain);
  const stable = currentRevision(manifest, "hello-offline", "latest/stable", "amd64");
  assert.match(plain.body, new RegExp(`"revision":${stable?.revision}`));
});

test("a device that already holds a serial: nonce, session, then refresh and download with its session", async () => {
  const stable = currentRevision(manifest, "hello-offline", "latest/stable");
  const hello = manifest.snaps.find((s) => s.name === "hello-offline");
  const older = hello?.channels.find((c) => c.channel === "latest/stable" && c.arch === hostArch())?.history[0];
  assert.ok(stable && older !== undefined && older !== stable.revision);
  const installed = await installedFile([
    {
      name: "hello-offline",
      "snap-id": snapId("hello-offline"),
      revision: older,
      channel: "latest/stable",
      epoch: "0",
    },
  ]);
  const dl = join(work, "dl-serial");
  const device = join(fixtures, manifest.device?.dir ?? assert.fail("fixturegen wrote no device"));
  const { out, seen } = await probe([
    "-device",
    device,
    "action",
    "-installed",
    installed,
    "-action",
    "refresh",
    "-name",
    "hello-offline",
    "-download",
    dl,
  ]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  const results = out["results"] as { revision: number; verified: boolean }[];
  assert.equal(results[0]?.revision, stable.revision);
  assert.equal(results[0]?.verified, true, "blob and assertions verified");
  const held = out["device"] as { serial: string; "session-requests": number; sessions: number };
  assert.equal(held.serial, manifest.device?.serial);

  // 1. a nonce (no body), 2. a session for the device-session-request signed with the device key
  // over that nonce, with the serial and model, 3. every store request after with the session
  const [nonceEx, sessionEx, ...after] = seen;
  assert.ok(nonceEx && sessionEx, seen.map((e) => `${e.method} ${e.url}`).join(", "));
  assert.equal(`${nonceEx.method} ${nonceEx.url}`, "POST /api/v1/snaps/auth/nonces");
  assert.equal(nonceEx.status, 200);
  const nonce = (JSON.parse(nonceEx.responseBody) as { nonce: string }).nonce;
  assert.equal(`${sessionEx.method} ${sessionEx.url}`, "POST /api/v1/snaps/auth/sessions");
  const req = JSON.parse(sessionEx.body) as Record<string, string>;
  assert.deepEqual(Object.keys(req).sort(), ["device-session-request", "model-assertion", "serial-assertion"]);
  assert.match(req["device-session-request"] ?? "", /^type: device-session-request\n/);
  assert.match(req["device-session-request"] ?? "", new RegExp(`\nnonce: ${nonce}\n`));
  const brand = manifest.device?.["brand-id"] ?? "";
  assert.match(req["serial-assertion"] ?? "", new RegExp(`^type: serial\nauthority-id: ${brand}\n`));
  assert.match(req["serial-assertion"] ?? "", new RegExp(`\nserial: ${held.serial}\n`));
  assert.match(req["model-assertion"] ?? "", new RegExp(`^type: model\nauthority-id: ${brand}\n`));
  assert.equal(sessionEx.status, 200);
  const macaroon = (JSON.parse(sessionEx.responseBody) as { macaroon: string }).macaroon;
  assert.equal(held["session-requests"], 1, "one session request for the whole run");
  assert.equal(held.sessions, 1);

  const auth = `Macaroon root="${macaroon}"`;
  const refresh = after.filter((e) => e.url === "/v2/snaps/refresh");
  assert.equal(refresh.length, 1);
  assert.equal(refresh[0]?.headers["snap-device-authorization"], auth, "refresh carries the session");
  assert.equal(refresh[0]?.status, 200);
  const blob = after.filter((e) => e.url.startsWith("/blobs/"));
  assert.equal(blob.length, 1, after.map((e) => `${e.method} ${e.url}`).join(", "));
  assert.equal(blob[0]?.headers["x-device-authorization"], auth, "download carries the session (v1 name)");
  assert.equal(blob[0]?.status, 200);
  const assertions = after.filter((e) => e.url.startsWith("/v2/assertions/"));
  assert.ok(assertions.length > 0);
  for (const e of assertions) assert.equal(e.headers["x-device-authorization"], auth, e.url);
  assert.ok(!after.some((e) => e.url.startsWith("/api/v1/snaps/auth/")), "no second session");
});
