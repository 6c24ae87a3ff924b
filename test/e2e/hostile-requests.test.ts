/**
 * Hostile requests: more than 10,000 malformed, oversized and odd requests
 * to `snapshelf serve` on loopback (invalid JSON, wrong types, deep nesting,
 * thousands of actions, huge bodies, broken HTTP, odd headers, path traversal
 * on every static route with every encoding of "..", wrong methods, odd
 * queries), plus slow clients. Generated from a seeded PRNG, so a failure
 * names a reproducible request.
 *
 * Proves: the server never crashes and never answers 5xx; every error is a
 * 4xx with snapd-style JSON (`error-list` of `{code, message}`), including
 * what Node's HTTP parser rejects; no traversal reaches a file outside the
 * tree or a dotfile; its RSS stays bounded; slow clients do not stop it
 * serving others; and snapd's own client gets exactly the same answers right
 * after as before.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildStore } from "../../src/build/build.js";
import { MAX_ACTIONS } from "../../src/routes/refresh.js";
import { MAX_BODY } from "../../src/serve/bodies.js";
import { committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import {
  longInstanceKeys,
  manyDeviceKinds,
  manyInstallsBody,
  resetPeak,
  stalledBodies,
  statusBytes,
  unreadAnswers,
} from "../support/hostile-load.js";
import {
  probeInstall,
  probeRefreshAll,
  type StartedProcess,
  startProcess,
  tmpWorkDir,
  verbose,
} from "../support/realclient.js";
import { snapdHeaders, writeInstalledOldest } from "../support/snapd-request.js";
import { cliPath } from "../support/snapshelf.js";

/** A bound on the memory the server may grow by: up to 4 heavy requests (5,000 actions, ~4 MB answers) at once. */
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
const CONCURRENCY = 16;

let work: string;
let store: string;
let server: StartedProcess;
let host: string;
let port: number;
let logFile: string;
let snapIds: string[];
/** Paths of a blob and of an assertion file, for hostile Range headers. */
let blobPaths: string[];
let installedFile: string;

/** mulberry32: small, seeded, good enough to vary requests reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface HttpCase {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Stream this many bytes (for huge bodies) instead of `body`. */
  readonly streamBytes?: number;
  /** Statuses this request may get (never 5xx in any case). */
  readonly allowed: readonly number[];
}

interface RawCase {
  readonly kind: string;
  readonly raw: Buffer | string;
  readonly allowed: readonly number[];
}

interface Outcome {
  /** Set when the server refused a huge body by closing while we were still sending it. */
  closed?: boolean;
  status: number;
  contentType: string;
  body: Buffer;
  retryAfter?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(c: HttpCase): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const body = c.body === undefined ? undefined : Buffer.from(c.body);
    const headers: Record<string, string | number> = { ...(c.headers ?? {}) };
    if (body !== undefined) headers["content-length"] = body.length;
    const req = request({ host, port, method: c.method, path: c.path, headers, agent, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: Buffer.concat(chunks),
          ...(res.headers["retry-after"] !== undefined ? { retryAfter: String(res.headers["retry-after"]) } : {}),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e: NodeJS.ErrnoException) => {
      // a huge body the server refused early: it answers and closes while we still write
      if (c.streamBytes !== undefined && (e.code === "EPIPE" || e.code === "ECONNRESET"))
        resolve({
          closed: true,
          status: 413,
          contentType: "application/json",
          body: Buffer.from('{"error-list":[{"code":"too-large","message":"closed"}]}'),
        });
      else reject(new Error(`${c.kind} ${c.method} ${c.path}: ${e.message}`));
    });
    if (c.streamBytes !== undefined) {
      const chunk = Buffer.alloc(256 * 1024, 0x5b); // "[[[[": never valid JSON
      let sent = 0;
      const pump = (): void => {
        while (sent < (c.streamBytes ?? 0)) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    } else req.end(body);
  });
}

function sendRaw(c: RawCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const head = all.subarray(0, Math.max(0, all.indexOf("\r\n\r\n"))).toString("latin1");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const contentType = /^content-type: *(.*)$/im.exec(head)?.[1]?.trim() ?? "";
      resolve({ status, contentType, body: all.subarray(all.indexOf("\r\n\r\n") + 4) });
    });
    // send, then half-close: the server answers what it read
    s.end(c.raw);
  });
}

/** Checks one answer: never 5xx, an allowed status, and errors as snapd-style JSON. Returns a problem or undefined. */
function judge(what: string, allowed: readonly number[], o: Outcome, head = false): string | undefined {
  if (o.status === 0 && allowed.includes(0)) return undefined;
  if (o.status >= 500 || o.status === 0) return `${what}: status ${o.status}`;
  if (!allowed.includes(o.status)) return `${what}: status ${o.status}, expected ${allowed.join("/")}`;
  if (o.status < 400) return undefined;
  if (head) return undefined; // no body to a HEAD
  if (!/^application\/(problem\+)?json$/.test(o.contentType))
    return `${what}: ${o.status} with Content-Type ${o.contentType}`;
  try {
    const v = JSON.parse(o.body.toString("utf8")) as { "error-list"?: { code?: unknown; message?: unknown }[] };
    const list = v["error-list"];
    if (!Array.isArray(list) || list.length === 0) return `${what}: ${o.status} without an error-list`;
    if (!list.every((e) => typeof e.code === "string" && typeof e.message === "string"))
      return `${what}: error-list entries need code and message`;
  } catch {
    return `${what}: ${o.status} body is not JSON: ${o.body.toString("utf8").slice(0, 80)}`;
  }
  return undefined;
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
        if (++done % 1000 === 0 && verbose()) process.stderr.write(`hostile-requests: ${done}/${items.length}\n`);
      }
    }),
  );
}

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

// ---- the corpus ------------------------------------------------------------------------------

const REFRESH = "/v2/snaps/refresh";

function validRefreshAll(): Record<string, unknown> {
  return {
    context: snapIds.map((id) => ({
      "snap-id": id,
      "instance-key": id,
      revision: 1,
      "tracking-channel": "latest/stable",
      epoch: { read: [0], write: [0] },
      "refreshed-date": "2026-01-01T00:00:00Z",
    })),
    actions: snapIds.map((id) => ({ action: "refresh", "instance-key": id, "snap-id": id })),
    fields: ["download", "revision"],
  };
}

function weirdValue(r: () => number): unknown {
  const pick = Math.floor(r() * 14);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return true;
    case 2:
      return -1;
    case 3:
      return 1.5;
    case 4:
      return 1e308;
    case 5:
      return "x".repeat(Math.floor(r() * 10_000));
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return [1, "two", null, { three: 3 }];
    case 9:
      return { read: "x", write: [-1] };
    case 10:
      return "\u0000\uffff\ud800";
    case 11:
      return Number.MAX_SAFE_INTEGER + 2;
    case 12:
      return { __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } };
    default:
      return "../../../etc/passwd";
  }
}

/** Replaces a random field, at any depth, of a valid body with a value of the wrong type. */
function mutate(body: Record<string, unknown>, r: () => number): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...path, i]);
    } else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(copy, []);
  const target = paths[1 + Math.floor(r() * (paths.length - 1))] ?? ["actions"];
  let parent: unknown = copy;
  for (const k of target.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
  (parent as Record<string | number, unknown>)[target[target.length - 1] ?? "actions"] = weirdValue(r);
  if (r() < 0.2) {
    const extra = ["action", "name", "channel", "revision", "epoch", "cohort-key", "key", "assertions"];
    const acts = copy["actions"];
    if (Array.isArray(acts) && typeof acts[0] === "object" && acts[0] !== null) {
      (acts[0] as Record<string, unknown>)[extra[Math.floor(r() * extra.length)] ?? "x"] = weirdValue(r);
    }
  }
  return copy;
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const TRAVERSALS = [
  "..",
  "%2e%2e",
  "%2E%2E",
  ".%2e",
  "%2e.",
  "%252e%252e",
  "..%2f..",
  "..%5c..",
  "%c0%ae%c0%ae",
  "..;",
  "...",
  "%2e%2e%2f%2e%2e",
  "..%00",
  ".",
  "",
];
const TARGETS = [
  "state/records.json",
  "snapshelf.json",
  "current",
  ".catalogue.json",
  ".snapshelf-tree.json",
  "etc/passwd",
  "state/assertions",
  "trees/1/.catalogue.json",
  ".catalogue/global.json",
  ".snapshelf-build.json",
  "state/parts",
];
const PREFIXES = [
  "/",
  "/v2/snaps/info/",
  "/v2/assertions/",
  "/v2/assertions/snap-declaration/16/",
  "/v2/assertions/account-key/",
  "/api/v1/snaps/assertions/account/",
  "/blobs/",
  "/v2/snaps/",
  "/api/v1/snaps/",
  "//",
];

function corpus(): { http: HttpCase[]; raw: RawCase[] } {
  const r = prng(20261122);
  const http: HttpCase[] = [];
  const raw: RawCase[] = [];
  const json = (kind: string, body: string | Buffer, allowed: number[], arch = "amd64"): HttpCase => ({
    kind,
    method: "POST",
    path: REFRESH,
    headers: snapdHeaders(arch),
    body,
    allowed,
  });
  const valid = JSON.stringify(validRefreshAll());

  // invalid JSON: garbage, truncations, non-objects
  for (let i = 0; i < 2000; i++) {
    const k = i % 5;
    const body =
      k === 0
        ? Buffer.from(Array.from({ length: 1 + Math.floor(r() * 2000) }, () => Math.floor(r() * 256)))
        : k === 1
          ? valid.slice(0, Math.floor(r() * (valid.length - 1)))
          : k === 2
            ? (["", "null", "42", '"str"', "[]", "true", "{", "}", "{]", "{'a':1}", "NaN"][i % 11] ?? "")
            : k === 3
              ? valid.replace(/[{}[\]",:]/, (m) => (r() < 0.5 ? "" : m + m))
              : `{"actions": [${"{},".repeat(Math.floor(r() * 50))}`;
    http.push(json("invalid-json", body, [400]));
  }
  // wrong types anywhere in a valid refresh-all
  for (let i = 0; i < 2500; i++) {
    http.push(json("wrong-type", JSON.stringify(mutate(validRefreshAll(), r)), [200, 400]));
  }
  // deep nesting, in every position
  for (let i = 0; i < 200; i++) {
    const depth = [10, 1000, 10_000, 100_000][i % 4] ?? 10;
    const where = i % 5;
    const deepArr = nested(depth, "[", "]");
    const deepObj = nested(depth, '{"a":', "}");
    const body =
      where === 0
        ? deepArr
        : where === 1
          ? `{"actions":[${deepArr}]}`
          : where === 2
            ? `{"context":[{"snap-id":"${snapIds[0]}","epoch":${deepObj}}],"actions":[]}`
            : where === 3
              ? `{"actions":[{"action":"install","name":"hello-offline","epoch":${deepArr}}]}`
              : `{"actions":[],"assertion-max-formats":${deepObj}}`;
    http.push(json("deep-nesting", body, [200, 400]));
  }
  // thousands of actions: up to the limit answered, beyond it refused
  for (let i = 0; i < 100; i++) {
    const n = i % 2 === 0 ? 1000 + Math.floor(r() * 4000) : 5001 + Math.floor(r() * 15_000);
    const actions = Array.from({ length: n }, (_, j) => ({
      action: j % 3 === 0 ? "install" : "refresh",
      "instance-key": `k${j}`,
      name: j % 2 ? "hello-offline" : `nope-${j}`,
      "snap-id": snapIds[j % snapIds.length],
    }));
    http.push(json("many-actions", JSON.stringify({ actions }), n <= 5000 ? [200] : [400]));
  }
  // huge bodies: declared, and streamed past the limit
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0) {
      http.push({
        kind: "huge-declared",
        method: "POST",
        path: REFRESH,
        headers: { ...snapdHeaders("amd64"), "content-length": String((5 + i) * 1024 * 1024) },
        streamBytes: (5 + i) * 1024 * 1024,
        allowed: [413],
      });
    } else {
      http.push({
        kind: "huge-chunked",
        method: "POST",
        path: REFRESH,
        headers: { ...snapdHeaders("amd64"), "transfer-encoding": "chunked" },
        streamBytes: 6 * 1024 * 1024,
        allowed: [413],
      });
    }
  }
  // broken HTTP: Node's parser refuses it before the app; still snapd-style JSON
  const rawCases: [string, number[]][] = [
    ["GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", [400]],
    ["GARBAGE\r\n\r\n", [400]],
    ["GET /v2/snaps/sections HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", [400]],
    [`POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n`, [400]],
    [`POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, foo\r\n\r\n`, [400]],
    [`POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`, [400]],
    [`POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n`, [400]],
    [`GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [431, 400, 414]],
    [`GET / HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(20_000)}\r\n\r\n`, [431]],
    [`GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y`).join("\r\n")}\r\n\r\n`, [431]],
    ["GET /v2/snaps/info/\x01 HTTP/1.1\r\n\r\n", [400]],
    ["GET /v2/snaps/info/hello-offline HTTP/9.9\r\nHost: x\r\n\r\n", [400, 505]],
    ["FROB / HTTP/1.1\r\nHost: x\r\n\r\n", [400]],
    ["GET /v2/snaps/info/hello-offline HTTP/1.1\r\nHost: x\r\nSnap-Device-Architecture: \x00\x01\r\n\r\n", [400]],
    ["GET / HTTP/1.1\r\nHost: x\r\n X: folded\r\n\r\n", [400]],
    // empty lines only: no request at all, so no answer (the connection is closed)
    ["\r\n\r\n\r\n", [0]],
    ["GET /v2/snaps/info/hello-offline HTTP/1.1\nHost: x\n\n", [200, 400]],
  ];
  for (let i = 0; i < 1500; i++) {
    const [text, allowed] = rawCases[i % rawCases.length] ?? ["", [400]];
    raw.push({ kind: "broken-http", raw: text, allowed });
  }
  // odd but well-formed headers
  const arches = [
    "../../etc",
    "a".repeat(4000),
    "amd64, arm64",
    "AMD64",
    "",
    "%2e%2e",
    "all",
    "i386",
    "s390x",
    "\u00e9".normalize(),
  ];
  for (let i = 0; i < 1000; i++) {
    const arch = arches[i % arches.length] ?? "amd64";
    const h: Record<string, string> = {
      ...snapdHeaders(/^[\x20-\x7e]*$/.test(arch) ? arch : "amd64"),
      "snap-device-capabilities": ["", "default-tracks", "x".repeat(3000), ", , ,"][i % 4] ?? "",
      "content-type": ["application/json", "text/plain", "", "multipart/form-data; boundary=x"][i % 4] ?? "",
      accept: ["*/*", "text/html", "application/xml"][i % 3] ?? "",
    };
    const path = [
      REFRESH,
      "/v2/snaps/info/hello-offline",
      "/v2/snaps/find?q=hello",
      "/v2/assertions/account/testrootorg",
      "/api/v1/snaps/sections",
    ][i % 5] as string;
    http.push({
      kind: "odd-headers",
      method: path === REFRESH ? "POST" : "GET",
      path,
      headers: h,
      ...(path === REFRESH ? { body: valid } : {}),
      allowed: [200, 400, 404],
    });
  }
  // path traversal on every static route prefix, every encoding
  for (let i = 0; i < 2000; i++) {
    const t = TRAVERSALS[i % TRAVERSALS.length] ?? "..";
    const target = TARGETS[Math.floor(i / TRAVERSALS.length) % TARGETS.length] ?? "current";
    const prefix = PREFIXES[Math.floor(i / (TRAVERSALS.length * TARGETS.length)) % PREFIXES.length] ?? "/";
    const depth = 1 + (i % 6);
    const sep = i % 3 === 0 ? "/" : i % 3 === 1 ? "%2f" : "%2F";
    const path = `${prefix}${Array.from({ length: depth }, () => t).join(sep)}${sep}${target}${i % 7 === 0 ? "?architecture=../x" : ""}`;
    http.push({ kind: "traversal", method: "GET", path, headers: snapdHeaders("amd64"), allowed: [400, 404] });
  }
  // wrong methods on every route
  const routes = [
    REFRESH,
    "/v2/snaps/info/hello-offline",
    "/v2/snaps/find",
    "/v2/assertions/account/testrootorg",
    "/blobs/x",
    "/v2/snaps/sections",
    "/api/v1/snaps/auth/nonces",
  ];
  const methods = ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"];
  for (let i = 0; i < 500; i++) {
    http.push({
      kind: "wrong-method",
      method: methods[i % methods.length] ?? "PUT",
      path: routes[i % routes.length] ?? "/",
      headers: { "content-type": "application/json" },
      body: "{}",
      allowed: [400, 404, 405],
    });
  }
  // hostile Range headers on blobs and tree files (a reversed range once crashed the server)
  const ranges = [
    "bytes=5-2",
    "bytes=-0",
    "bytes=-500",
    "bytes=abc",
    "bytes=0-1,5-6",
    "bytes=99999999999-",
    "bytes=0-99999999999999999999",
    "items=0-5",
    "bytes=--1",
    "bytes=1-1",
    "bytes=",
    "bytes=-",
    "bytes= 0-1",
    `bytes=0-${"9".repeat(400)}`,
  ];
  for (let i = 0; i < 700; i++) {
    const path =
      i % 3 === 2
        ? `/v2/assertions/snap-declaration/16/${snapIds[i % snapIds.length]}`
        : (blobPaths[i % blobPaths.length] ?? "/blobs/x");
    http.push({
      kind: "range",
      method: i % 5 === 4 ? "HEAD" : "GET",
      path,
      headers: { range: ranges[i % ranges.length] ?? "bytes=0-0" },
      allowed: [200, 206, 416],
    });
  }
  // odd queries
  const queries = [
    "/v2/snaps/info/hello-offline?architecture=",
    "/v2/snaps/info/hello-offline?architecture=amd64&architecture=arm64",
    "/v2/snaps/info/hello-offline?fields=" + "x,".repeat(2000),
    `/v2/snaps/find?q=${"a".repeat(8000)}`,
    "/v2/snaps/find?q=%",
    "/v2/snaps/find?q=%00%ff&section=%",
    "/v2/snaps/find?name=*&scope=wide&fields=",
    "/v2/assertions/account-key/x?max-format=-1",
    "/v2/assertions/account/testrootorg?max-format=99999999999999999999999",
    "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=0",
    "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=-1",
    "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=1e10",
    "/v2/assertions/validation-set/16/testrootorg/offline-set?sequence=latest&sequence=1",
    "/v2/assertions/snap-revision/%ff%fe?max-format=abc",
    "/api/v1/snaps/sections?%zz=%zz",
    "/v2/snaps/categories?type=" + "%".repeat(100),
    "/blobs/" + "0".repeat(96) + ".snap?x=../../state",
    "/blobs/" + "0".repeat(200) + ".snap",
    "/v2/snaps/info/" + "a".repeat(5000),
    "/v2/snaps/info/%",
  ];
  for (let i = 0; i < 500; i++) {
    http.push({
      kind: "odd-query",
      method: "GET",
      path: queries[i % queries.length] ?? "/",
      headers: snapdHeaders("amd64"),
      allowed: [200, 400, 404],
    });
  }
  return { http, raw };
}

// ---- the test --------------------------------------------------------------------------------

before(async () => {
  work = await tmpWorkDir("hostile-requests");
  store = join(work, "store");
  const layout = await makeFixtureStore(store);
  await buildStore(layout);
  const manifest = await committedManifest();
  snapIds = manifest.snaps.map((s) => s["snap-id"]);
  blobPaths = manifest.snaps.flatMap((s) => s.revisions.map((r) => `/blobs/${r["sha3-384"]}.snap`));
  logFile = join(work, "serve.log");
  server = await startProcess(
    process.execPath,
    [cliPath(), "serve", "--dir", store, "--host", "127.0.0.1", "--port", "0"],
    { logFile },
  );
  const u = new URL(server.url ?? assert.fail("serve printed no URL"));
  host = u.hostname;
  port = Number(u.port);
  installedFile = join(work, "installed.json");
  await writeInstalledOldest(installedFile, manifest);
});

after(async () => {
  agent.destroy();
  await server?.stop();
});

/** What snapd's client sees: a refresh-all of everything installed and an install. */
async function realClientView(): Promise<unknown> {
  const refreshAll = await probeRefreshAll(server.url ?? "", installedFile);
  const install = await probeInstall(server.url ?? "", "hello-offline", { channel: "2.x" });
  assert.equal(install["ok"], true, JSON.stringify(install));
  return { refreshAll, install };
}

test("10,000+ hostile requests: no crash, no 5xx, snapd-style 4xx, bounded memory, real client unaffected", {
  timeout: 300_000,
}, async (t) => {
  const pid = server.child.pid ?? assert.fail("no server pid");
  const { http, raw } = corpus();
  const beforeView = await realClientView();
  const baseRss = rssOf(pid);
  let maxRss = baseRss;
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, rssOf(pid));
    } catch {
      // the process is gone: reported below
    }
  }, 100);

  const problems: string[] = [];
  const statuses = new Map<string, number>();
  const note = (kind: string, o: Outcome): void => {
    const k = `${kind} ${o.closed ? "closed" : o.status}`;
    statuses.set(k, (statuses.get(k) ?? 0) + 1);
  };
  const started = Date.now();
  try {
    // slow clients first, held open through the storm: headers dribbled, bodies stalled
    const slow: Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const s = connect(port, host);
      s.on("error", () => undefined);
      s.write(
        i % 2
          ? `POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"actions":`
          : "GET /v2/snaps/info/hello-",
      );
      slow.push(s);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write("a");
    }, 200);
    try {
      // heavy requests (huge bodies, thousands of actions) fewer at a time: memory is bounded per request
      const isHeavy = (c: HttpCase): boolean => c.streamBytes !== undefined || c.kind === "many-actions";
      const small = http.filter((c) => !isHeavy(c));
      const huge = http.filter(isHeavy);
      await pool(small, CONCURRENCY, async (c) => {
        try {
          const o = await send(c);
          note(c.kind, o);
          const p = judge(`${c.kind} ${c.method} ${c.path.slice(0, 120)}`, c.allowed, o, c.method === "HEAD");
          if (p) problems.push(p);
          if (
            c.kind === "traversal" &&
            /"revisions"|root:x:0|BEGIN|"baseUrl"|^[0-9]+\s*$/.test(o.body.toString("utf8"))
          )
            problems.push(`traversal leaked a file: ${c.path}`);
        } catch (e) {
          problems.push((e as Error).message);
        }
      });
      t.diagnostic(`${small.length} ordinary-sized requests: ${Date.now() - started} ms`);
      await pool(huge, 4, async (c) => {
        try {
          const o = await send(c);
          note(c.kind, o);
          const p = judge(`${c.kind} ${c.path}`, c.allowed, o);
          if (p) problems.push(p);
        } catch (e) {
          problems.push((e as Error).message);
        }
      });
      t.diagnostic(`+ ${huge.length} heavy requests: ${Date.now() - started} ms`);
      await pool(raw, CONCURRENCY, async (c) => {
        const o = await sendRaw(c);
        note(c.kind, o);
        const p = judge(`${c.kind} ${JSON.stringify(String(c.raw).slice(0, 60))}`, c.allowed, o);
        if (p) problems.push(p);
      });
      // while the slow clients still hold their sockets, others are served promptly
      const t0 = Date.now();
      const ok = await send({ kind: "probe", method: "GET", path: "/v2/snaps/info/hello-offline", allowed: [200] });
      assert.equal(ok.status, 200);
      assert.ok(Date.now() - t0 < 5000, "served while slow clients hold connections");
    } finally {
      clearInterval(drip);
      for (const s of slow) s.destroy();
    }
  } finally {
    clearInterval(sampler);
  }
  const total = http.length + raw.length;
  t.diagnostic(`${total} requests in ${Date.now() - started} ms`);
  t.diagnostic(
    [...statuses]
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(", "),
  );
  t.diagnostic(`RSS ${Math.round(baseRss / 2 ** 20)} MiB before, peak ${Math.round(maxRss / 2 ** 20)} MiB`);
  assert.ok(total >= 10_000, `${total} requests`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  assert.ok(server.alive(), `the server is alive:\n${server.output()}`);
  assert.ok(maxRss - baseRss < RSS_GROWTH_LIMIT, `RSS grew by ${Math.round((maxRss - baseRss) / 2 ** 20)} MiB`);
  const log = readFileSync(logFile, "utf8");
  assert.ok(!/internal error/.test(log), `no internal errors logged:\n${log.slice(-2000)}`);
  // snapd's own client gets exactly what it got before the storm
  assert.deepEqual(await realClientView(), beforeView);
});

// ---- hostile loads: the memory cap (README, "Memory") ------------------------------------------

/**
 * The cap the README states for one `serve` process (or `--workers` process) at up to 20,000
 * revisions: catalogue and indexes (~65 MB here, ~140 MB at 20k), at most 64 MiB of cached refresh
 * answers, 32 MiB of request bodies, and the requests being answered.
 */
const MEMORY_CAP = 640 * 1024 * 1024;

/** Runs one load, then checks the server's peak RSS against the cap and the real client right after. */
async function underCap(
  t: { diagnostic(s: string): void },
  pid: number,
  what: string,
  expected: unknown,
  load: () => Promise<void>,
): Promise<void> {
  resetPeak(pid);
  const started = Date.now();
  await load();
  const peak = statusBytes(pid, "VmHWM");
  const mib = (n: number): number => Math.round(n / 2 ** 20);
  t.diagnostic(
    `${what}: ${Date.now() - started} ms, peak RSS ${mib(peak)} MiB, now ${mib(statusBytes(pid, "VmRSS"))} MiB`,
  );
  assert.ok(server.alive(), `${what}: the server is alive:\n${server.output()}`);
  assert.ok(peak < MEMORY_CAP, `${what}: peak RSS ${mib(peak)} MiB is over the cap of ${mib(MEMORY_CAP)} MiB`);
  // a real refresh, right after, is answered exactly as before
  assert.deepEqual(await realClientView(), expected, what);
}

test("hostile loads: 200 clients that never read their multi-MiB answers hold a bounded budget", {
  timeout: 300_000,
}, async (t) => {
  const pid = server.child.pid ?? assert.fail("no server pid");
  const expected = await realClientView();
  // 5000 installs: an answer of several MiB, more than the kernel's socket buffers take
  const body = manyInstallsBody(snapIds, MAX_ACTIONS);
  await underCap(t, pid, "200 unread multi-MiB answers", expected, async () => {
    await unreadAnswers({ host, port }, body, async () => {
      // the budget is taken: another large answer is refused, snapd-style, with Retry-After
      const o = await send({
        kind: "large-while-held",
        method: "POST",
        path: REFRESH,
        headers: snapdHeaders("amd64"),
        body,
        allowed: [503],
      });
      assert.equal(o.status, 503, o.body.toString("utf8").slice(0, 200));
      assert.match(o.body.toString("utf8"), /"code":"store-busy"/);
      assert.match(o.retryAfter ?? "", /^\d+$/);
      // while small answers (every real device's refresh) still go out
      assert.deepEqual(await realClientView(), expected, "a refresh while answers are held");
    });
    // what they held is given back when they close: the large answer goes out again
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      const o = await send({
        kind: "large-after",
        method: "POST",
        path: REFRESH,
        headers: snapdHeaders("amd64"),
        body,
        allowed: [200, 503],
      });
      status = o.status;
    }
    assert.equal(status, 200, "the budget came back");
  });
});

test("hostile loads: the memory cap holds (multi-MiB instance keys, many device kinds, 250 stalled bodies)", {
  timeout: 300_000,
}, async (t) => {
  const pid = server.child.pid ?? assert.fail("no server pid");
  const target = { host, port };
  const expected = await realClientView();

  await underCap(t, pid, "distinct multi-MiB instance keys", expected, async () => {
    const { statuses, sample } = await longInstanceKeys(target, snapIds[0] ?? "", 120);
    assert.deepEqual([...new Set(statuses)], [400], sample);
    assert.match(
      sample,
      /"error-list":\[\{"code":"bad-request","message":"cannot handle snap action request: actions\[0\]: \\"instance-key\\" is longer than 128 characters"/,
    );
  });

  await underCap(t, pid, "many device kinds with distinct keys", expected, async () => {
    // 64 device kinds (the count-bounded cache kept 64), each asked 10,000 distinct cacheable
    // refreshes (~0.7 KB of key and answer each): that cache kept all of them, about 0.5 GB
    const statuses = await manyDeviceKinds(target, snapIds, 64, 2);
    assert.deepEqual([...new Set(statuses)], [200]);
  });

  await underCap(t, pid, "250 connections stalling nearly full bodies", expected, async () => {
    const closed = await stalledBodies(target, MAX_BODY - 1024, async () => {
      // while they stall, devices still refresh (small bodies have a reserve)
      assert.deepEqual(await realClientView(), expected, "a refresh while large bodies stall");
    });
    const refused = closed.filter((a) => /^HTTP\/1\.1 503 /.test(a));
    t.diagnostic(`${closed.length} of 250 closed by the server, ${refused.length} with their 503 read`);
    assert.ok(closed.length >= 200, `${closed.length} refused`);
    assert.ok(refused.length > 0);
    for (const a of refused) {
      assert.match(a, /\r\nRetry-After: \d+\r\n/i);
      assert.match(a, /"code":"store-busy"/);
    }
    // what they held is given back when they close: nearly full bodies are read again
    await new Promise((r) => setTimeout(r, 500));
    await pool(
      Array.from({ length: 6 }, (_, i) => i),
      6,
      async () => {
        const o = await send({
          kind: "after-stall",
          method: "POST",
          path: REFRESH,
          headers: snapdHeaders("amd64"),
          body: `{"actions":[]${" ".repeat(MAX_BODY - 2048)}}`,
          allowed: [200],
        });
        assert.equal(o.status, 200, o.body.toString().slice(0, 200));
      },
    );
  });
});
