/**
 * Debian's nginx with the configuration `snapshelf nginx-config` generates
 * from the route table, in front of `snapshelf serve`: the real clients (snapd
 * 2.57.6's and 2.68.3's) pass every check.sh scenario through it; it answers like the shim, byte for
 * byte, for static, query-selected, not-found and dynamic requests; only the
 * dynamic routes reach the shim; and a new build goes into service with
 * "regenerate + reload".
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DYNAMIC_ROUTES } from "../../src/routes/table.js";
import { fixtureStore } from "../support/fixture-work.js";
import { type StartedNginx, startNginx } from "../support/nginx.js";
import {
  CLIENT_SETS,
  currentRevision,
  freePort,
  hostArch,
  type Manifest,
  removeWorkDir,
  runCheck,
  runProbe,
  SNAPD_2_68,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let store: string;
let shim: StartedProcess | undefined;
let nginx: StartedNginx | undefined;

before(async () => {
  ({ work, fixtures, manifest, store } = await fixtureStore("nginx"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await snapshelf(["build", "--dir", store, "--base-url", url]);
  shim = await serve(store, ["--base-url", url]);
  assert.ok(shim.url);
  nginx = await startNginx({ work, store, port, upstream: shim.url });
});

after(async () => {
  await nginx?.stop();
  await shim?.stop();
  await removeWorkDir(work);
});

interface Answer {
  status: number;
  type: string | null;
  version: string | null;
  range: string | null;
  length: string | null;
  body: string;
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(base + path, { headers: { "accept-encoding": "identity", ...headers } });
  const bytes = Buffer.from(await res.arrayBuffer());
  const binary = (res.headers.get("content-type") ?? "").startsWith("application/octet-stream");
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    version: res.headers.get("snap-store-version"),
    range: res.headers.get("content-range"),
    length: res.headers.get("content-length"),
    body: binary ? `sha256:${createHash("sha256").update(bytes).digest("hex")}` : bytes.toString("utf8"),
  };
}

function requests(): { path: string; headers?: Record<string, string> }[] {
  const arch = hostArch();
  const hello = manifest.snaps.find((s) => s.name === "hello-offline");
  const rev = currentRevision(manifest, "hello-offline", "latest/stable");
  assert.ok(hello && rev, "fixture has hello-offline in latest/stable");
  const digest = rev["snap-sha3-384"];
  return [
    { path: `/v2/snaps/info/hello-offline?architecture=${arch}&fields=channel-map` },
    { path: "/v2/snaps/info/hello-offline?architecture=arm64" },
    { path: "/v2/snaps/info/hello-offline", headers: { "Snap-Device-Architecture": "arm64" } },
    { path: "/v2/snaps/info/hello-offline", headers: { "X-Ubuntu-Architecture": "armhf" } },
    { path: "/v2/snaps/info/hello-offline" },
    { path: "/v2/snaps/info/hello-offline?architecture=nosuch" },
    { path: "/v2/snaps/info/hello-offline?architecture=a.b" },
    { path: "/v2/snaps/info/no-such-snap?architecture=amd64" },
    { path: "/v2/snaps/info/Bad_Name" },
    { path: `/v2/assertions/snap-revision/${digest}?max-format=0` },
    { path: `/v2/assertions/snap-revision/${digest}/global-upload?max-format=0` },
    { path: `/v2/assertions/snap-revision/${digest}/other-provenance` },
    { path: `/v2/assertions/snap-declaration/16/${hello["snap-id"]}?max-format=5` },
    // snapd 2.68.3's max-format values
    { path: `/v2/assertions/snap-declaration/16/${hello["snap-id"]}?max-format=6` },
    { path: `/v2/assertions/account-key/${manifest["store-key-id"]}?max-format=1` },
    { path: "/v2/assertions/confdb/testrootorg/network?max-format=0" },
    { path: "/v2/assertions/confdb-control/testrootorg/model/serial" },
    { path: `/v2/assertions/account-key/${manifest["store-key-id"]}` },
    { path: `/v2/assertions/account/${manifest.publisher["account-id"]}?max-format=0` },
    { path: "/v2/assertions/account/nobody?max-format=0" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=latest&max-format=0" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=1" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set/1?max-format=0" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=x" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set" },
    { path: "/v2/assertions/validation-set/16/testrootorg/offline-set/1?sequence=latest" },
    { path: "/v2/assertions/no-such-type/x" },
    { path: `/api/v1/snaps/assertions/snap-revision/${digest}` },
    { path: "/api/v1/snaps/sections" },
    { path: "/api/v1/snaps/names?confinement=strict,classic" },
    { path: "/v2/snaps/categories" },
    { path: `/v2/snaps/find?q=hello&architecture=${arch}` },
    { path: `/blobs/${rev["sha3-384"]}.snap` },
    { path: `/blobs/${rev["sha3-384"]}.snap`, headers: { Range: "bytes=100-" } },
    { path: `/blobs/${"0".repeat(96)}.snap` },
    { path: "/blobs/../snapshelf.json" },
    { path: "/.catalogue.json" },
    { path: "/.catalogue/global.json" },
    { path: "/.snapshelf-build.json" },
    { path: "/no/such/path" },
  ];
}

for (const clients of CLIENT_SETS) {
  test(`check.sh (snapd ${clients.snapd}): every real-client scenario passes through nginx`, {
    timeout: 900_000,
  }, async (t) => {
    assert.ok(nginx);
    const res = await runCheck(nginx.url, join(fixtures, "manifest.json"), { clients });
    t.diagnostic(res.summary);
    assert.equal(res.snapd, clients.snapd, `the clients in ${clients.dir()}`);
    const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
    assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
    assert.equal(res.failed, 0);
    const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
    assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
    if (process.getuid?.() === 0) assert.ok(daemon, "as root, the real daemon scenarios must run");
  });
}

test("snapd 2.68.3 reads categories, info and find through nginx", async () => {
  assert.ok(nginx);
  const arch = hostArch();
  const categories = await runProbe(nginx.url, ["categories"], { clients: SNAPD_2_68 });
  assert.equal(categories["ok"], true, JSON.stringify(categories));
  assert.ok((categories["categories"] as string[]).includes("featured"), JSON.stringify(categories));
  const info = await runProbe(nginx.url, ["-arch", arch, "info", "hello-offline"], { clients: SNAPD_2_68 });
  assert.equal(info["ok"], true, JSON.stringify(info));
  const find = await runProbe(nginx.url, ["-arch", arch, "find", "hello"], { clients: SNAPD_2_68 });
  assert.ok((find["names"] as string[]).includes("hello-offline"), JSON.stringify(find));
  // what 2.68.3 asks info for (links, categories, resources) is in the static file nginx serves
  const doc = JSON.parse((await get(nginx.url, `/v2/snaps/info/hello-offline?architecture=${arch}`)).body) as {
    snap: Record<string, unknown>;
    "channel-map": Record<string, unknown>[];
  };
  assert.ok("links" in doc.snap && "categories" in doc.snap);
  assert.ok(doc["channel-map"].every((e) => Array.isArray(e["resources"])));
});

test("nginx answers like the shim: status, exact content type, body, Range", async () => {
  assert.ok(nginx && shim?.url);
  for (const r of requests()) {
    const a = await get(nginx.url, r.path, r.headers);
    const b = await get(shim.url, r.path, r.headers);
    const what = `${r.path} ${JSON.stringify(r.headers ?? {})}`;
    assert.equal(a.status, b.status, `${what}: status (nginx ${a.body.slice(0, 200)})`);
    assert.equal(a.type, b.type, `${what}: content type`);
    assert.equal(a.body, b.body, `${what}: body`);
    assert.equal(a.range, b.range, `${what}: content-range`);
    assert.equal(a.version, "60", `${what}: Snap-Store-Version`);
    assert.ok(!/charset/i.test(a.type ?? ""), `${what}: no charset in ${a.type}`);
  }
  const blob = requests().find((r) => r.headers?.["Range"] !== undefined);
  assert.ok(blob);
  const ranged = await get(nginx.url, blob.path, blob.headers);
  assert.equal(ranged.status, 206);
  assert.match(ranged.range ?? "", /^bytes 100-\d+\/\d+$/);
});

test("only dynamic routes reach snapshelf serve; static files and blobs come from nginx alone", async () => {
  assert.ok(nginx);
  const lines = await nginx.accessLog();
  assert.ok(lines.length > 100, `access.log has ${lines.length} lines`);
  const dynamic = new Set(DYNAMIC_ROUTES.map((r) => r.pattern));
  let proxied = 0;
  let local = 0;
  for (const line of lines) {
    const m = /"[A-Z]+ ([^ ?"]+)[^"]*" (\d{3}) .* upstream=(\S+)$/.exec(line);
    assert.ok(m, `access.log line: ${line}`);
    const [, path = "", , upstream = ""] = m;
    if (upstream === "-") {
      local++;
      assert.ok(!dynamic.has(path), `dynamic ${path} answered without the shim: ${line}`);
    } else {
      proxied++;
      assert.ok(dynamic.has(path), `${path} went to the shim: ${line}`);
    }
  }
  assert.ok(proxied > 0 && local > proxied, `proxied ${proxied}, nginx alone ${local}`);
});

test("a new build goes into service after regenerating the configuration and reloading", async () => {
  assert.ok(nginx && shim?.url);
  const arch = hostArch();
  const candidate = currentRevision(manifest, "hello-offline", "latest/candidate");
  assert.ok(candidate);
  await snapshelf(["release", "--dir", store, "--arch", arch, "hello-offline", String(candidate.revision), "beta"]);
  await snapshelf(["build", "--dir", store]);
  await nginx.reload();
  assert.match(await readFile(nginx.conf, "utf8"), /names generation 2\)/);
  const path = `/v2/snaps/info/hello-offline?architecture=${arch}`;
  let beta: unknown;
  // nginx starts new workers asynchronously: poll (bounded) until they answer from generation 2.
  // The old workers close their idle keep-alive connections as they go; a request that went out on
  // one of them just then fails ("other side closed"), as any HTTP client sees during a reload
  // (Go's, snapd's, retries it): so does this poll.
  let lastError: unknown;
  for (let i = 0; i < 100 && beta === undefined; i++) {
    let answer: Answer;
    try {
      answer = await get(nginx.url, path);
    } catch (err) {
      lastError = err;
      continue;
    }
    const doc = JSON.parse(answer.body) as {
      "channel-map": { channel: { name: string }; revision: number }[];
    };
    beta = doc["channel-map"].find((e) => e.channel.name === "beta")?.revision;
    if (beta === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  if (beta === undefined && lastError !== undefined) throw lastError;
  assert.equal(beta, candidate.revision, "generation 2 in service through nginx");
});
