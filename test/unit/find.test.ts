/**
 * Offline search: ranking (exact name first, then name prefixes, then more
 * matched words, then where they match), filters (name, category, channel,
 * architecture, confinement), fields, the v1 fallback, bounds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { ChannelReleases, RevisionEntry, SnapEntry } from "../../src/catalogue/types.js";
import type { SnapMeta } from "../../src/model/types.js";
import { handleFind } from "../../src/routes/find.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import { buildSearchIndex, handleSearchV1, MAX_RESULTS, rankByQuery, searchIndexOf } from "../../src/routes/search.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";

interface Spec {
  name: string;
  meta?: SnapMeta;
  publisher?: string;
  /** channel@arch, default latest/stable@amd64 */
  releases?: string[];
  confinement?: string;
  archs?: string[];
  version?: string;
}

function entry(s: Spec): SnapEntry {
  const rev: RevisionEntry = {
    revision: 1,
    version: s.version ?? "1.0",
    type: "app",
    base: "core22",
    confinement: s.confinement ?? "strict",
    grade: "stable",
    architectures: s.archs ?? ["amd64"],
    epoch: { read: [0], write: [0] },
    sha3_384: "a".repeat(96),
    size: 4096,
    createdAt: "2026-01-01T00:00:00Z",
    snapYaml: `name: ${s.name}\n`,
    summary: s.meta?.summary ?? "",
    description: s.meta?.description ?? "",
    apps: [],
    defaultProviders: [],
  };
  const channels: ChannelReleases[] = (s.releases ?? ["latest/stable@amd64"]).map((r, i) => {
    const [ch = "", arch = "amd64"] = r.split("@");
    const [track = "latest", risk = "stable"] = ch.split("/");
    return { track, risk, arch, history: [{ revision: 1, releasedAt: "2026-01-02T00:00:00Z", seq: i + 1 }] };
  });
  const pub = s.publisher ?? "pub";
  return {
    name: s.name,
    snapId: `${s.name.replace(/-/g, "").padEnd(32, "x").slice(0, 32)}`,
    publisher: { id: `${pub}-id`, username: pub, displayName: pub.toUpperCase(), validation: "unproven" },
    meta: s.meta ?? {},
    revisions: [rev],
    channels,
  };
}

function envOf(specs: Spec[]): DynamicEnv {
  const snaps = specs.map(entry).sort((a, b) => (a.name < b.name ? -1 : 1));
  const index = indexCatalogue({ snaps, assertions: [], arches: ["amd64", "arm64"] });
  return {
    index,
    state: new GenerationState(index),
    ctx: { baseUrl: "http://store.test:8000" },
    token: () => "t",
  };
}

function req(q: string, headers: Record<string, string> = {}): RouteRequest {
  return { method: "GET", params: {}, query: new URLSearchParams(q), headers };
}

interface FindBody {
  results: { name: string; snap: Record<string, unknown>; revision: Record<string, unknown> }[];
}

function find(env: DynamicEnv, q: string): string[] {
  const res = handleFind(req(q), env);
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as FindBody).results.map((r) => r.name);
}

const CATALOGUE: Spec[] = [
  { name: "hello", meta: { summary: "The classic greeting" } },
  { name: "hello-world", meta: { summary: "Prints a greeting" } },
  { name: "say-hello", meta: { summary: "Says things" } },
  { name: "greeter", meta: { summary: "Says hello politely" } },
  { name: "docs-viewer", meta: { description: "Mentions hello once, deep in its description." } },
  {
    name: "photo-tool",
    meta: { title: "Photo Tool", summary: "Edit pictures", categories: ["photo-and-video"] },
    publisher: "pixels",
  },
  { name: "gimpish", meta: { title: "Gimpish photo editor", categories: ["photo-and-video", "art-and-design"] } },
  { name: "cafe-menu", meta: { title: "Café Menu", summary: "Menus" } },
  { name: "arm-only", archs: ["arm64"], releases: ["latest/stable@arm64"], meta: { summary: "hello on arm" } },
  { name: "edge-only", releases: ["latest/edge@amd64"], meta: { summary: "hello at the edge" } },
  { name: "classic-tool", confinement: "classic", meta: { summary: "hello classic" } },
  {
    name: "tracked",
    releases: ["latest/stable@amd64", "2.x/stable@amd64"],
    meta: { defaultTrack: "2.x", summary: "has a default track" },
  },
];

test("the exact name comes first, then names starting with the query, then other matches by weight", () => {
  const env = envOf(CATALOGUE);
  const got = find(env, "q=hello&architecture=amd64");
  assert.deepEqual(got.slice(0, 3), ["hello", "hello-world", "say-hello"]);
  assert.ok(got.indexOf("greeter") > got.indexOf("say-hello"), "a name word beats a summary word");
  assert.equal(got.at(-1), "docs-viewer", "a description match comes last");
  assert.ok(got.includes("classic-tool"), "no confinement asked: classic snaps too");
  // a query that is a name with its dash as a space still finds that name first
  assert.equal(find(env, "q=hello world")[0], "hello-world");
});

test("only snaps matching the most query words; titles, publishers, categories, accents and word prefixes match", () => {
  const env = envOf(CATALOGUE);
  assert.deepEqual(find(env, "q=photo editor"), ["gimpish"], "both words beat one");
  assert.deepEqual(
    find(env, "q=photo nothing"),
    ["photo-tool", "gimpish"],
    "no snap has both: the best partial matches",
  );
  assert.deepEqual(find(env, "q=pixels"), ["photo-tool"], "publisher");
  assert.deepEqual(find(env, "q=design"), ["gimpish"], "category");
  assert.deepEqual(find(env, "q=cafe"), ["cafe-menu"], "accents are folded");
  assert.deepEqual(find(env, "q=CAFÉ"), ["cafe-menu"], "case and accents");
  assert.ok(find(env, "q=edi").includes("gimpish"), "word prefix (editor)");
  assert.deepEqual(find(env, "q=nothing-matches-this"), []);
});

test("name= finds one name exactly, name=foo* every name starting with foo", () => {
  const env = envOf(CATALOGUE);
  assert.deepEqual(find(env, "name=hello"), ["hello"]);
  assert.deepEqual(find(env, "name=hello*"), ["hello", "hello-world"]);
  assert.deepEqual(find(env, "name=hel"), []);
});

test("category (section) filters; featured is every snap", () => {
  const env = envOf(CATALOGUE);
  assert.deepEqual(find(env, "category=photo-and-video"), ["gimpish", "photo-tool"]);
  assert.deepEqual(find(env, "category=photo-and-video&q=pictures"), ["photo-tool"]);
  const featured = find(env, "category=featured&architecture=amd64");
  assert.ok(featured.length >= 10);
  assert.deepEqual(featured, [...featured].sort(), "no query: by name");
  assert.deepEqual(find(env, "category=no-such-category"), []);
});

test("architecture, channel (narrow scope) and confinement filter what a device can install", () => {
  const env = envOf(CATALOGUE);
  assert.ok(!find(env, "q=hello&architecture=amd64").includes("arm-only"));
  assert.ok(find(env, "q=hello&architecture=arm64").includes("arm-only"));
  assert.ok(find(env, "q=hello").includes("edge-only"), "wide scope: every risk");
  assert.ok(!find(env, "q=hello&channel=stable").includes("edge-only"), "narrow scope: stable only");
  assert.ok(!find(env, "q=hello&confinement=strict").includes("classic-tool"));
  assert.ok(find(env, "q=hello&confinement=strict,classic").includes("classic-tool"));
  // the architecture comes from the headers when the query has none
  const res = handleFind(req("q=hello", { "snap-device-architecture": "arm64" }), env);
  assert.ok((JSON.parse(res.body) as FindBody).results.some((r) => r.name === "arm-only"));
});

test("the shown revision is the default track's stable; fields are honoured; exact content type", () => {
  const env = envOf(CATALOGUE);
  const res = handleFind(req("q=tracked&fields=title,version,channel,publisher"), env);
  assert.equal(res.contentType, "application/json");
  const r = (JSON.parse(res.body) as FindBody).results[0];
  assert.ok(r);
  assert.equal(r.revision["channel"], "2.x/stable");
  assert.deepEqual(Object.keys(r.snap).sort(), ["publisher", "title"]);
  assert.deepEqual(Object.keys(r.revision).sort(), ["channel", "version"]);
  const all = (JSON.parse(handleFind(req("q=hello"), env).body) as FindBody).results[0];
  assert.deepEqual(all?.revision["download"], { size: 4096 }, "only the size of the download");
  assert.equal(all?.revision["channel"], "stable");
});

test("bounded: long queries and odd architectures are refused with snapd's error-list", () => {
  const env = envOf(CATALOGUE);
  for (const q of [`q=${"a".repeat(201)}`, `name=${"a".repeat(201)}`, "q=x&architecture=../x"]) {
    const res = handleFind(req(q), env);
    assert.equal(res.status, 400, q);
    assert.equal(res.contentType, "application/json");
    assert.match(res.body, /"error-list":\[\{"code":"bad-query","message":"cannot search: /);
  }
  const many = envOf(
    Array.from({ length: MAX_RESULTS + 20 }, (_v, i) => ({ name: `snap-${String(i).padStart(4, "0")}` })),
  );
  assert.equal(find(many, "category=featured").length, MAX_RESULTS);
});

test("the v1 fallback answers hal+json in snapd's v1 shape; its default scope is stable", () => {
  const env = envOf(CATALOGUE);
  const res = handleSearchV1(req("q=hello&scope=wide", { "x-ubuntu-architecture": "amd64" }), env);
  assert.equal(res.contentType, "application/hal+json");
  const body = JSON.parse(res.body) as { _embedded: { "clickindex:package": Record<string, unknown>[] } };
  const pkgs = body._embedded["clickindex:package"];
  assert.equal(pkgs[0]?.["package_name"], "hello");
  assert.equal(pkgs[0]?.["download_url"], `http://store.test:8000/blobs/${"a".repeat(96)}.snap`);
  assert.equal(pkgs[0]?.["origin"], "pub");
  assert.ok(
    pkgs.some((p) => p["package_name"] === "edge-only"),
    "scope=wide: every risk",
  );
  const narrow = JSON.parse(handleSearchV1(req("q=hello"), env).body) as typeof body;
  assert.ok(!narrow._embedded["clickindex:package"].some((p) => p["package_name"] === "edge-only"));
  const section = JSON.parse(handleSearchV1(req("section=art-and-design"), env).body) as typeof body;
  assert.deepEqual(
    section._embedded["clickindex:package"].map((p) => p["package_name"]),
    ["gimpish"],
  );
});

test("the index is built once per loaded catalogue", () => {
  const env = envOf(CATALOGUE);
  assert.equal(searchIndexOf(env.state), searchIndexOf(env.state));
  const idx = buildSearchIndex(env.index.catalogue);
  assert.ok(idx.postings.has("hello") && idx.postings.has("greeting"));
  assert.equal(rankByQuery(idx, "").length, CATALOGUE.length);
});

test("the search index belongs to the generation's state, not to the catalogue", () => {
  const env = envOf(CATALOGUE);
  const other = new GenerationState(env.index);
  assert.notEqual(searchIndexOf(other), searchIndexOf(env.state));
  assert.equal(searchIndexOf(other), searchIndexOf(other));
});
