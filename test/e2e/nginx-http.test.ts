/**
 * HTTP details where `serve` and the generated nginx configuration must give
 * the same answer (RFC 9110): a table of Range and If-Range cases on a blob,
 * a tree file and a shared assertion file, compared case by case (status,
 * Content-Range, bytes); a rebuild that changes a tree file at the same path
 * never lets a resumed download splice two versions; malformed and unsafe
 * URIs get 400 (or 404) snapd-style JSON from nginx, never a 500 page or a
 * redirect cycle in its error log; neither follows a symbolic link in the
 * store.
 */
import assert from "node:assert/strict";
import { readFile, rename, symlink, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildStore } from "../../src/build/build.js";
import { verifyStore } from "../../src/ops/verify.js";
import type { StoreLayout } from "../../src/store/layout.js";
import { releaseRevision } from "../../src/store/release.js";
import { committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import { type StartedNginx, startNginx } from "../support/nginx.js";
import { freePort, removeWorkDir, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { serve } from "../support/snapshelf.js";

let work: string;
let layout: StoreLayout;
let shim: StartedProcess | undefined;
let nginx: StartedNginx | undefined;
let blobPath: string;
/** A blob no test asks for before the symlink test (serve remembers what it found). */
let otherBlobPath: string;
let declPath: string;
const INFO = "/v2/snaps/info/hello-offline";

before(async () => {
  work = await tmpWorkDir("nginx-http");
  layout = await makeFixtureStore(join(work, "store"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // built for nginx's URL, so serve answers from the same files (not from memory)
  await buildStore(layout, { baseUrl: url });
  shim = await serve(layout.root, ["--base-url", url]);
  nginx = await startNginx({ work, store: layout.root, port, upstream: shim.url ?? "" });
  const m = await committedManifest();
  const hello = m.snaps.find((s) => s.name === "hello-offline");
  blobPath = `/blobs/${hello?.revisions[0]?.["sha3-384"] ?? ""}.snap`;
  otherBlobPath = `/blobs/${hello?.revisions[1]?.["sha3-384"] ?? ""}.snap`;
  declPath = `/v2/assertions/snap-declaration/16/${hello?.["snap-id"] ?? ""}`;
});

after(async () => {
  await nginx?.stop();
  await shim?.stop();
  await removeWorkDir(work);
});

interface Got {
  status: number;
  range: string | null;
  length: string | null;
  type: string | null;
  etag: string | null;
  lastModified: string | null;
  body: Buffer;
}

async function get(base: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Got> {
  let res: Response;
  try {
    res = await fetch(base + path, { method, headers, redirect: "manual" });
  } catch (err) {
    // a reload (SIGHUP) makes nginx's old workers close their idle keep-alive connections; the
    // client's pool may hand one out just then ("other side closed"): ask once more, as snapd does
    if ((err as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw err;
    res = await fetch(base + path, { method, headers, redirect: "manual" });
  }
  return {
    status: res.status,
    range: res.headers.get("content-range"),
    length: res.headers.get("content-length"),
    type: res.headers.get("content-type"),
    etag: res.headers.get("etag"),
    lastModified: res.headers.get("last-modified"),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** The cases, per file; `$SIZE` is the file's size, `$ETAG` and `$DATE` the server's own validators. */
const RANGES = [
  "bytes=0-9",
  "bytes=10-",
  "bytes=-10",
  "bytes=0-0",
  "bytes=1-1",
  "bytes=0-",
  "bytes=$LAST-",
  "bytes=$SIZE-",
  "bytes=$BEYOND-",
  "bytes=$LAST-$BEYOND",
  "bytes=5-2",
  "bytes=-0",
  "bytes=-$BEYOND",
  "bytes=0-99999999999999999",
  "bytes=0-99999999999999999999",
  "bytes=99999999999999999999-",
  "bytes=-99999999999999999999",
  "bytes=abc",
  "bytes=",
  "bytes=-",
  "bytes=--1",
  "bytes=1-2-3",
  "items=0-5",
  "BYTES=0-4",
  "bytes= 0 - 4 ",
  "bytes=0-1,",
  "bytes=0-1,5-6",
  "bytes=0-1,abc",
  "bytes=5-2,0-3",
  "bytes=$BEYOND-,0-3",
  "bytes=0-3,0-3",
  "bytes=0-1,1-2,2-3",
];
const IF_RANGES = ["$ETAG", '"nope"', "W/$ETAG", "$DATE", "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"];

test("Range and If-Range: serve answers every case like nginx (status, Content-Range, bytes)", async () => {
  const servers = { nginx: nginx?.url ?? "", serve: shim?.url ?? "" };
  const mismatches: string[] = [];
  let cases = 0;
  for (const path of [blobPath, INFO, declPath]) {
    const own: Record<string, Got> = {};
    for (const [name, base] of Object.entries(servers)) own[name] = await get(base, path);
    const size = own["nginx"]?.body.length ?? 0;
    assert.ok(size > 20, `${path}: ${size} bytes`);
    assert.ok(own["serve"]?.body.equals(own["nginx"]?.body ?? Buffer.alloc(0)), `${path}: the same file`);
    const fill = (s: string, name: string): string =>
      s
        .replace("$LAST", String(size - 1))
        .replace("$SIZE", String(size))
        .replace("$BEYOND", String(size + 1000))
        .replace("$ETAG", own[name]?.etag ?? "")
        .replace("$DATE", own[name]?.lastModified ?? "Thu, 01 Jan 1970 00:00:00 GMT");
    const table: { headers: Record<string, string>; method: string }[] = [];
    for (const r of RANGES) for (const method of ["GET", "HEAD"]) table.push({ headers: { Range: r }, method });
    for (const ir of IF_RANGES) {
      for (const r of ["bytes=0-9", "bytes=$BEYOND-"])
        table.push({ headers: { Range: r, "If-Range": ir }, method: "GET" });
    }
    for (const c of table) {
      const got: Record<string, Got> = {};
      for (const [name, base] of Object.entries(servers)) {
        const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, fill(v, name)]));
        got[name] = await get(base, path, headers, c.method);
      }
      cases++;
      const a = got["nginx"] as Got;
      const b = got["serve"] as Got;
      const what = `${c.method} ${path.slice(0, 40)} ${JSON.stringify(c.headers)}`;
      if (a.status !== b.status) mismatches.push(`${what}: nginx ${a.status}, serve ${b.status}`);
      else if (a.range !== b.range) mismatches.push(`${what}: Content-Range nginx ${a.range}, serve ${b.range}`);
      else if (!a.body.equals(b.body)) mismatches.push(`${what}: bodies differ`);
      else if (c.method === "HEAD" && a.length !== b.length)
        mismatches.push(`${what}: Content-Length nginx ${a.length}, serve ${b.length}`);
      if (a.status === 416) {
        assert.equal(a.range, `bytes */${size}`, what);
        if (c.method === "GET") {
          assert.equal(a.type, "application/json", what);
          assert.ok(Array.isArray((JSON.parse(a.body.toString()) as Record<string, unknown>)["error-list"]), what);
        }
      }
      if (a.status === 206 && c.method === "GET") {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(a.range ?? "");
        assert.ok(m, what);
        assert.ok(a.body.equals(own["nginx"]?.body.subarray(Number(m[1]), Number(m[2]) + 1) ?? Buffer.alloc(0)), what);
      }
    }
  }
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${cases} cases differ`);
  assert.ok(cases > 200, `${cases} cases`);
});

test("a resumed download never splices two versions of a tree file: the validator changes with the content", async () => {
  const servers = { nginx: nginx?.url ?? "", serve: shim?.url ?? "" };
  const before: Record<string, Got> = {};
  for (const [name, base] of Object.entries(servers)) {
    before[name] = await get(base, INFO, { "Snap-Device-Architecture": "amd64" });
    assert.equal(before[name]?.status, 200);
    assert.ok(before[name]?.etag && !before[name]?.etag?.startsWith("W/"), `${name}: a strong ETag`);
    assert.equal(before[name]?.lastModified, null, `${name}: no date validator for a tree path`);
  }
  // the same path gets other content: latest/stable of hello-offline moves on amd64
  await releaseRevision(layout, "hello-offline", 3, ["latest/stable"], { arch: "amd64" });
  const built = await buildStore(layout, {});
  await nginx?.reload();
  for (let i = 0; i < 100; i++) {
    const g = await fetch(`${servers.serve}${INFO}`);
    await g.arrayBuffer();
    if (g.headers.get("snapshelf-generation") === String(built.generation)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const [name, base] of Object.entries(servers)) {
    let now = await get(base, INFO, { "Snap-Device-Architecture": "amd64" });
    for (let i = 0; i < 50 && now.body.equals(before[name]?.body ?? Buffer.alloc(0)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await get(base, INFO, { "Snap-Device-Architecture": "amd64" });
    }
    assert.ok(!now.body.equals(before[name]?.body ?? Buffer.alloc(0)), `${name}: the file changed`);
    assert.notEqual(now.etag, before[name]?.etag, `${name}: the ETag changed with the content`);
    // resuming with the old validator gets the whole new file, not its tail after the old one's head
    const resumed = await get(base, INFO, {
      "Snap-Device-Architecture": "amd64",
      Range: "bytes=100-",
      "If-Range": before[name]?.etag ?? "",
    });
    assert.equal(resumed.status, 200, name);
    assert.ok(resumed.body.equals(now.body), name);
    const current = await get(base, INFO, {
      "Snap-Device-Architecture": "amd64",
      Range: "bytes=100-",
      "If-Range": now.etag ?? "",
    });
    assert.equal(current.status, 206, name);
    assert.ok(current.body.equals(now.body.subarray(100)), name);
  }
});

/** A raw request line, as sent (fetch would normalize the path). */
function rawGet(port: number, target: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error(`timed out: ${target}`)), 10_000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString("latin1");
      const [head = "", body = ""] = all.split("\r\n\r\n", 2);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        type: /^content-type: *(.*)$/im.exec(head)?.[1]?.trim() ?? "",
        body,
      });
    });
    s.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

test("nginx answers malformed and unsafe URIs with 400 (or 404) snapd-style JSON, no 500, no redirect cycle", async () => {
  const port = Number(new URL(nginx?.url ?? "").port);
  const above = [
    "/../x",
    "/../../etc/passwd",
    "/%2e%2e/x",
    "/%2E%2E/%2e%2e/state/records.json",
    "/.%2e/x",
    "/v2/snaps/info/%2e%2e/%2e%2e/%2e%2e/%2e%2e/x",
    "/blobs/../../../state/records.json",
    "/blobs/%2e%2e/%2e%2e/%2e%2e/current",
    "/v2/snaps/info/hello%00",
    "/%00",
    "/v2/assertions/account/%00x",
    "/a/%2e%2e/%2e%2e/x",
    "/./../x",
  ];
  const inside = [
    "/v2/snaps/info/%2e%2e/x",
    "/v2/snaps/info/..%2f..%2fx",
    "/v2/snaps/info/hello-offline/../../../v2/snaps/sections",
    "/blobs/%2e%2e%2fcurrent",
    "/.catalogue/global.json",
    "/%2ecatalogue/global.json",
    "/v2/snaps/info/%c0%ae%c0%ae/x",
    "/v2/snaps/info/%",
    "/v2/snaps/info/%zz",
    "//..//..//x",
  ];
  const problems: string[] = [];
  for (const target of [...above, ...inside]) {
    const r = await rawGet(port, target);
    const ok = above.includes(target) ? [400] : [400, 404];
    if (!ok.includes(r.status)) problems.push(`${target}: status ${r.status}`);
    else if (r.type !== "application/json") problems.push(`${target}: ${r.status} ${r.type}`);
    else {
      try {
        const list = (JSON.parse(r.body) as { "error-list"?: { code?: string }[] })["error-list"];
        if (typeof list?.[0]?.code !== "string") problems.push(`${target}: no error-list`);
      } catch {
        problems.push(`${target}: not JSON: ${r.body.slice(0, 80)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  const log = nginx?.proc.output() ?? "";
  assert.ok(!/redirection cycle|empty URI|\[alert\]|\[emerg\]/.test(log), log.slice(-2000));
});

test("neither serve nor nginx follows a symbolic link in the store; verify names each", async () => {
  const servers = { nginx: nginx?.url ?? "", serve: shim?.url ?? "" };
  const blobFile = join(layout.blobs, otherBlobPath.slice("/blobs/".length));
  const moved = `${blobFile}.moved`;
  await rename(blobFile, moved);
  await symlink(moved, blobFile);
  const outside = join(layout.root, "state", "elsewhere");
  await symlink("/etc", outside);
  try {
    const report = await verifyStore(layout);
    const named = report.problems.filter((p) => /symbolic link/.test(p.reason)).map((p) => p.file);
    assert.deepEqual(named, [`blobs/${otherBlobPath.slice("/blobs/".length)}`, "state/elsewhere"]);
    for (const [name, base] of Object.entries(servers)) {
      const r = await get(base, otherBlobPath);
      assert.ok([403, 404].includes(r.status), `${name}: ${r.status}`);
      assert.equal(r.type, "application/json", name);
      assert.ok(Array.isArray((JSON.parse(r.body.toString()) as Record<string, unknown>)["error-list"]), name);
    }
  } finally {
    await unlink(outside);
    await unlink(blobFile);
    await rename(moved, blobFile);
  }
  for (const [name, base] of Object.entries(servers)) assert.equal((await get(base, otherBlobPath)).status, 200, name);
  // a blob served before (serve remembers what it found) and replaced by a link since
  const servedFile = join(layout.blobs, blobPath.slice("/blobs/".length));
  await rename(servedFile, `${servedFile}.moved`);
  await symlink(`${servedFile}.moved`, servedFile);
  try {
    for (const [name, base] of Object.entries(servers)) {
      const r = await get(base, blobPath);
      assert.equal(r.status, 404, `${name}: ${r.status}`);
      assert.equal(r.type, "application/json", name);
    }
  } finally {
    await unlink(servedFile);
    await rename(`${servedFile}.moved`, servedFile);
  }
  for (const [name, base] of Object.entries(servers)) assert.equal((await get(base, blobPath)).status, 200, name);
  // a tree file: the symlink points at a valid file of the same tree
  const current = (await readFile(layout.current, "utf8")).trim();
  const file = join(layout.trees, current, "v2/snaps/info/tool-a.amd64.json");
  await rename(file, `${file}.real`);
  await symlink(`${file}.real`, file);
  try {
    for (const [name, base] of Object.entries(servers)) {
      const r = await get(base, "/v2/snaps/info/tool-a");
      assert.equal(r.status, 404, `${name}: ${r.status}`);
      assert.equal(r.type, "application/json", name);
    }
  } finally {
    await unlink(file);
    await rename(`${file}.real`, file);
  }
});
