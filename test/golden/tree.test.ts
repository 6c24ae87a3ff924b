/**
 * Golden files for every generated JSON document: the files of a built tree
 * (info per snap per architecture, sections, names, categories) and the
 * dynamic answers (refresh, find) for representative requests, all from the
 * committed fixture catalogue with fixed times.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { type CatalogueIndex, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import { handleFind } from "../../src/routes/find.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";
import { readTreeCatalogue } from "../../src/store/tree-files.js";
import { buildFixtureStore, committedManifest, FIXTURE_BASE_URL, makeFixtureStore } from "../support/fixture-store.js";
import { assertGolden, goldenPath } from "../support/golden.js";
import { removeWorkDir, tmpWorkDir } from "../support/work-dir.js";

let work: string;
let tree: string;
let index: CatalogueIndex;
let env: DynamicEnv;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out.sort();
}

before(async () => {
  work = await tmpWorkDir("golden");
  const layout = await makeFixtureStore(join(work, "store"));
  const built = await buildFixtureStore(layout);
  tree = built.path;
  index = indexCatalogue(readTreeCatalogue(tree, "read the golden tree"));
  env = { index, state: new GenerationState(index), ctx: { baseUrl: FIXTURE_BASE_URL }, token: () => "token" };
});

after(async () => {
  await removeWorkDir(work);
});

test("every JSON file of the tree matches its golden file, and no golden file is orphaned", async () => {
  const files = (await walk(tree))
    .map((p) => relative(tree, p))
    .filter((p) => p.endsWith(".json") && !p.startsWith("."));
  assert.ok(files.length >= 10, `tree has ${files.length} JSON files`);
  for (const f of files) await assertGolden(`tree/${f}`, await readFile(join(tree, f), "utf8"));
  if (process.env["UPDATE_GOLDEN"] !== "1") {
    const golden = (await walk(goldenPath("tree"))).map((p) => relative(goldenPath("tree"), p));
    assert.deepEqual(golden, files, "golden files and tree files differ");
  }
});

test("info documents: latest/stable first, track `latest`, no branches, one architecture", async () => {
  const info = JSON.parse(await readFile(join(tree, "v2/snaps/info/hello-offline.amd64.json"), "utf8")) as {
    "channel-map": { channel: { name: string; track: string; architecture: string } }[];
  };
  const names = info["channel-map"].map((c) => c.channel.name);
  assert.deepEqual(names, ["stable", "candidate", "edge", "2.x/stable"]);
  assert.ok(info["channel-map"].every((c) => c.channel.architecture === "amd64" && c.channel.track !== ""));
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

const FIELDS = ["architectures", "base", "download", "epoch", "name", "revision", "snap-id", "type", "version"];

function ctxEntry(snapId: string, revision: number, channel: string, epoch: { read: number[]; write: number[] }) {
  return { "snap-id": snapId, "instance-key": snapId, revision, "tracking-channel": channel, epoch };
}

async function refreshCases(): Promise<Record<string, RouteRequest>> {
  const m = await committedManifest();
  const id = (n: string) => m.snaps.find((s) => s.name === n)?.["snap-id"] ?? "";
  const e0 = { read: [0], write: [0] };
  const cases: Record<string, RouteRequest> = {
    "install-default": post({
      context: [],
      actions: [
        { action: "install", "instance-key": "install-1", name: "hello-offline", channel: "stable", epoch: null },
      ],
      fields: FIELDS,
    }),
    "download-candidate-arm64": post(
      {
        context: [],
        actions: [
          {
            action: "download",
            "instance-key": "download-1",
            name: "hello-offline",
            channel: "candidate",
            epoch: null,
          },
        ],
        fields: FIELDS,
      },
      { "snap-device-architecture": "arm64" },
    ),
    "install-risk-fallback": post({
      context: [],
      actions: [{ action: "install", "instance-key": "install-1", name: "tool-a", channel: "candidate", epoch: null }],
      fields: FIELDS,
    }),
    "refresh-epoch-0-to-bridge": post({
      context: [ctxEntry(id("tool-a"), 2, "latest/stable", e0)],
      actions: [{ action: "refresh", "instance-key": id("tool-a"), "snap-id": id("tool-a") }],
      fields: FIELDS,
    }),
    "refresh-bridge-to-1": post({
      context: [ctxEntry(id("tool-a"), 3, "latest/stable", { read: [0, 1], write: [1] })],
      actions: [{ action: "refresh", "instance-key": id("tool-a"), "snap-id": id("tool-a") }],
      fields: FIELDS,
    }),
    "refresh-up-to-date": post({
      context: [ctxEntry(id("hello-offline"), 2, "latest/stable", e0)],
      actions: [{ action: "refresh", "instance-key": id("hello-offline"), "snap-id": id("hello-offline") }],
      fields: FIELDS,
    }),
    "refresh-all": post({
      context: [ctxEntry(id("hello-offline"), 1, "latest/stable", e0), ctxEntry(id("core22"), 1, "latest/stable", e0)],
      actions: [
        { action: "refresh", "instance-key": id("hello-offline"), "snap-id": id("hello-offline") },
        { action: "refresh", "instance-key": id("core22"), "snap-id": id("core22") },
      ],
      fields: FIELDS,
    }),
    "install-unknown-name": post({
      context: [],
      actions: [
        { action: "install", "instance-key": "install-1", name: "no-such-snap", channel: "stable", epoch: null },
      ],
      fields: FIELDS,
    }),
    "refresh-unknown-id": post({
      context: [ctxEntry("x".repeat(32), 1, "latest/stable", e0)],
      actions: [{ action: "refresh", "instance-key": "x".repeat(32), "snap-id": "x".repeat(32) }],
      fields: FIELDS,
    }),
    "download-missing-branch": post({
      context: [],
      actions: [
        {
          action: "download",
          "instance-key": "download-1",
          name: "hello-offline",
          channel: "stable/nope",
          epoch: null,
        },
      ],
      fields: FIELDS,
    }),
    "install-wrong-arch": post(
      {
        context: [],
        actions: [
          { action: "install", "instance-key": "install-1", name: "hello-offline", channel: "stable", epoch: null },
        ],
        fields: FIELDS,
      },
      { "snap-device-architecture": "riscv64" },
    ),
    "download-revision-1": post({
      context: [],
      actions: [{ action: "download", "instance-key": "download-1", name: "hello-offline", revision: 1, epoch: null }],
      fields: FIELDS,
    }),
    "fetch-assertions": post({
      context: [],
      actions: [
        {
          action: "fetch-assertions",
          key: "g1",
          assertions: [
            { type: "snap-declaration", "primary-key": ["16", id("hello-offline")] },
            { type: "snap-declaration", "primary-key": ["16", id("tool-a")], "if-newer-than": 0 },
            { type: "validation-set", "sequence-key": ["16", "testrootorg", "offline-set"] },
            { type: "validation-set", "sequence-key": ["16", "testrootorg", "offline-set"], sequence: 1 },
            { type: "snap-declaration", "primary-key": ["16", "y".repeat(32)] },
          ],
        },
        {
          action: "fetch-assertions",
          key: "g2",
          assertions: [
            {
              type: "validation-set",
              "sequence-key": ["16", "testrootorg", "offline-set"],
              "if-sequence-equal-or-newer-than": 2,
              "if-newer-than": 0,
            },
          ],
        },
      ],
      fields: [],
      "assertion-max-formats": { "snap-declaration": 5 },
    }),
    "bad-actions-type": post({ context: [], actions: { action: "install" }, fields: [] }),
  };
  return cases;
}

test("refresh answers match their golden files", async () => {
  const cases = await refreshCases();
  for (const [name, req] of Object.entries(cases)) {
    const res = handleRefresh(req, env);
    assert.equal(res.contentType, "application/json", name);
    // the length the server sends is the body's (summed from the answers, never scanned)
    assert.equal(res.bodyBytes ?? Buffer.byteLength(res.body), Buffer.byteLength(res.body), `${name}: byte length`);
    await assertGolden(
      `refresh/${name}.json`,
      JSON.stringify({ status: res.status, body: JSON.parse(res.body) as unknown }),
    );
  }
});

test("refresh answers given again (from the generation's answer cache) are the same bytes", async () => {
  const cases = Object.entries(await refreshCases());
  const first = new Map(cases.map(([name, req]) => [name, handleRefresh(req, env).body]));
  // the same environment again (cached answers), then a fresh index asked in reverse order: every
  // case's answers come from entries cached by other cases, so a key that confuses two questions fails
  for (const [name, req] of cases) assert.equal(handleRefresh(req, env).body, first.get(name), `${name}, again`);
  const freshIndex = indexCatalogue(readTreeCatalogue(tree, "read the golden tree"));
  const fresh: DynamicEnv = { ...env, index: freshIndex, state: new GenerationState(freshIndex) };
  for (const [name, req] of [...cases].reverse()) {
    assert.equal(handleRefresh(req, fresh).body, first.get(name), `${name}, fresh index, reverse order`);
  }
  // devices that differ only in what the answer depends on get their own answers
  const [, one] = cases.find(([n]) => n === "refresh-all") ?? [];
  assert.ok(one);
  const arm = { ...one, headers: { ...one.headers, "snap-device-architecture": "arm64" } };
  const plain = { ...one, headers: { ...one.headers, "snap-device-capabilities": "" } };
  const other = { ...env, ctx: { baseUrl: "http://other.example:9" } };
  assert.notEqual(handleRefresh(arm, env).body, first.get("refresh-all"), "architecture");
  assert.match(handleRefresh(one, other).body, /other\.example:9/, "base URL");
  assert.equal(handleRefresh(plain, env).status, 200);
  // answers with characters beyond ASCII (an instance key a device chose): lengths in bytes
  const body = JSON.parse(String(one.body)) as {
    context: { "instance-key": string }[];
    actions: { "instance-key": string }[];
  };
  const first0 = body.actions[0];
  const ctx0 = body.context.find((c) => c["instance-key"] === first0?.["instance-key"]);
  assert.ok(first0 && ctx0);
  first0["instance-key"] = ctx0["instance-key"] = "é-ünïcode-☃";
  const wide = handleRefresh({ ...one, body: Buffer.from(JSON.stringify(body)) }, env);
  assert.equal(wide.status, 200);
  assert.ok(wide.body.includes("☃"));
  assert.equal(wide.bodyBytes, Buffer.byteLength(wide.body));
});

test("find answers match their golden files", async () => {
  const get = (q: string): RouteRequest => ({
    method: "GET",
    params: {},
    query: new URLSearchParams(q),
    headers: { "snap-device-architecture": "amd64" },
  });
  for (const [name, q] of Object.entries({
    "q-hello": "q=hello&architecture=amd64",
    featured: "category=featured&architecture=amd64",
    "name-prefix": "name=tool*&architecture=amd64",
    "no-match": "q=zzzz&architecture=amd64",
  })) {
    const res = handleFind(get(q), env);
    await assertGolden(
      `find/${name}.json`,
      JSON.stringify({ status: res.status, body: JSON.parse(res.body) as unknown }),
    );
  }
});
