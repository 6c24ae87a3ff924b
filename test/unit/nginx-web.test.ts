/**
 * The web descriptions of the static routes (what nginx is generated from)
 * agree with the routes' own `select` on the committed fixture catalogue:
 * for every request of a corpus (every tree file's URLs, query and header
 * variants, v1 paths, sequences, max-format, junk), nginx's interpretation
 * serves the same file, or nothing when `select` serves nothing, or defers to
 * the shim exactly where the catalogue must decide.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CatalogueIndex, indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { AssertionEntry } from "../../src/catalogue/types.js";
import { assertionUrlPath } from "../../src/routes/assertions.js";
import { STATIC_ROUTES } from "../../src/routes/table.js";
import type { RouteRequest, StaticRoute } from "../../src/routes/types.js";
import { resolveWeb } from "../../src/routes/web.js";
import { readTreeCatalogue } from "../../src/store/tree-files.js";
import { buildFixtureStore, FIXTURE_BASE_URL, makeFixtureStore } from "../support/fixture-store.js";
import { removeWorkDir, tmpWorkDir } from "../support/work-dir.js";

let work: string;
let index: CatalogueIndex;
let files: Set<string>;
let gated: AssertionEntry;

before(async () => {
  work = await tmpWorkDir("nginx-web");
  const layout = await makeFixtureStore(join(work, "store"));
  const built = await buildFixtureStore(layout);
  const catalogue = readTreeCatalogue(built.path, "read the fixture tree");
  // one assertion whose newest revision is format 1, as a newer snapd would need: older clients get revision 1
  const base = catalogue.assertions.find((a) => a.type === "snap-declaration");
  assert.ok(base, "fixture has a snap-declaration");
  gated = { ...base, revision: base.revision + 1, format: 1, object: "f".repeat(96) };
  index = indexCatalogue({ ...catalogue, assertions: [...catalogue.assertions, gated] });
  files = new Set<string>();
  for (const r of STATIC_ROUTES) for (const f of r.files(index, { baseUrl: FIXTURE_BASE_URL })) files.add(f.path);
});

after(async () => {
  await removeWorkDir(work);
});

/** polka's matching of a route pattern (`:name` one segment, `*` the rest). */
function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const keys: string[] = [];
  const re = pattern
    .split("/")
    .map((seg) => {
      if (seg === "*") {
        keys.push("*");
        return "(.*)";
      }
      if (seg.startsWith(":")) {
        keys.push(seg.slice(1));
        return "([^/]+?)";
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  const m = new RegExp(`^${re}/?$`, "i").exec(path);
  if (!m) return undefined;
  return Object.fromEntries(keys.map((k, i) => [k, m[i + 1] ?? ""]));
}

interface Req {
  path: string;
  query?: string;
  headers?: Record<string, string>;
}

type Outcome = { file: string } | "not-found" | "defer" | "no-route";

function request(r: Req, params: Record<string, string>): RouteRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  return { method: "GET", params, query: new URLSearchParams(r.query ?? ""), headers };
}

function viaSelect(r: Req): Outcome {
  for (const route of STATIC_ROUTES) {
    const params = matchPattern(route.pattern, r.path);
    if (!params) continue;
    const p = route.select(request(r, params), index);
    return p !== undefined && files.has(p) ? { file: p } : "not-found";
  }
  return "no-route";
}

function viaWeb(r: Req, deferred: ReadonlyMap<StaticRoute, ReadonlySet<string>>): Outcome {
  for (const route of STATIC_ROUTES) {
    const web = route.web;
    assert.ok(web, `route ${route.id} has a web description`);
    if (!web.rules.some((rule) => new RegExp(rule.path).test(r.path))) continue;
    const o = resolveWeb(web, r.path, request(r, {}), deferred.get(route));
    if (o.kind === "defer") return "defer";
    return o.kind === "file" && files.has(o.path) ? { file: o.path } : "not-found";
  }
  // nginx: the route's own pattern (or the catch-all) answers not found
  return STATIC_ROUTES.some((route) => matchPattern(route.pattern, r.path)) ? "not-found" : "no-route";
}

function corpus(): Req[] {
  const out: Req[] = [];
  for (const snap of index.catalogue.snaps) {
    for (const arch of [...index.catalogue.arches, "nosuch", "A-B", ""]) {
      out.push({ path: `/v2/snaps/info/${snap.name}`, query: `architecture=${arch}&fields=channel-map` });
      // nginx cannot tell an empty header from a missing one (snapd never sends an empty architecture)
      if (arch === "") continue;
      out.push({ path: `/v2/snaps/info/${snap.name}`, headers: { "Snap-Device-Architecture": arch } });
      out.push({ path: `/v2/snaps/info/${snap.name}`, headers: { "X-Ubuntu-Architecture": arch } });
    }
    out.push({ path: `/v2/snaps/info/${snap.name}` });
    out.push({
      path: `/v2/snaps/info/${snap.name}`,
      query: "architecture=arm64",
      headers: { "X-Ubuntu-Architecture": "s390x" },
    });
  }
  for (const name of ["no-such-snap", "UPPER", "a--b", "-x", "a.b"]) out.push({ path: `/v2/snaps/info/${name}` });
  for (const list of index.assertions.values()) {
    const a = list[0];
    if (!a) continue;
    const v2 = assertionUrlPath(a.type, a.primaryKey);
    const paths = [v2, v2.replace("/v2/assertions/", "/api/v1/snaps/assertions/")];
    if (a.primaryKey[a.primaryKey.length - 1] === "global-upload") paths.push(`${v2}/global-upload`, `${v2}/other`);
    if (a.type === "validation-set") {
      const seqKey = v2.split("/").slice(0, -1).join("/");
      for (const q of [
        "sequence=latest",
        `sequence=${a.primaryKey.at(-1)}`,
        "sequence=0",
        "sequence=x",
        "sequence=",
        "",
        "sequence=latest&max-format=0",
      ]) {
        out.push({ path: seqKey, query: q });
      }
      out.push({ path: v2, query: "sequence=latest" });
    }
    for (const p of paths) {
      for (const q of [
        "",
        "max-format=0",
        "max-format=1",
        "max-format=5",
        "max-format=x",
        "max-format=0&max-format=9",
      ]) {
        out.push({ path: p, query: q });
      }
    }
  }
  for (const p of [
    "/v2/assertions/account",
    "/v2/assertions/account/",
    "/v2/assertions/no-such-type/x",
    "/v2/assertions/account/a/b",
    "/v2/assertions/serial-request/x",
    "/v2/assertions/.hidden/x",
    "/api/v1/snaps/sections",
    "/api/v1/snaps/names",
    "/v2/snaps/categories",
    "/v2/snaps/categoriesx",
    "/",
    "/index.html",
    "/index",
    "/nothing",
  ]) {
    out.push({ path: p });
  }
  return out;
}

test("every static route has a web description (nginx is generated from it)", () => {
  for (const r of STATIC_ROUTES) assert.ok(r.web && r.web.rules.length > 0, `route ${r.id}`);
});

test("web descriptions serve what select serves, on every request of the corpus", () => {
  const deferred = new Map<StaticRoute, ReadonlySet<string>>();
  for (const r of STATIC_ROUTES) if (r.web?.defer) deferred.set(r, new Set(r.web.defer.files(index)));
  const reqs = corpus();
  assert.ok(reqs.length > 200, `corpus has ${reqs.length} requests`);
  let served = 0;
  let deferrals = 0;
  for (const r of reqs) {
    const what = `${r.path}?${r.query ?? ""} ${JSON.stringify(r.headers ?? {})}`;
    const s = viaSelect(r);
    const w = viaWeb(r, deferred);
    if (w === "defer") {
      deferrals++;
      assert.ok(new URLSearchParams(r.query ?? "").has("max-format"), `${what}: deferred without max-format`);
      continue;
    }
    assert.deepEqual(w, s, what);
    if (typeof s === "object") served++;
  }
  assert.ok(served > 100, `${served} requests served a file`);
  assert.ok(deferrals > 0, "the gated assertion was deferred to the shim");
});

test("only assertions whose newest revision has a format above 0 are deferred", () => {
  const route = STATIC_ROUTES.find((r) => r.id === "assertions");
  const list = [...(route?.web?.defer?.files(index) ?? [])];
  assert.deepEqual(list, [`v2/assertions/${gated.type}/${gated.primaryKey.join("/")}/_.assert`]);
  // and the shim really chooses differently there: format 0 for max-format=0
  const path = assertionUrlPath(gated.type, gated.primaryKey);
  const params = matchPattern(route?.pattern ?? "", path) ?? {};
  const chosen = route?.select(
    { method: "GET", params, query: new URLSearchParams("max-format=0"), headers: {} },
    index,
  );
  assert.match(chosen ?? "", /_\.format-0\.assert$/);
});

/** The hand-written `select`s the routes had before theirs was derived from `web` (kept to compare against). */
const PREVIOUS_SELECT: Readonly<Record<string, (req: RouteRequest) => string | undefined>> = {
  info: (req) => {
    const name = req.params["name"] ?? "";
    const h = (n: string): string | undefined => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const arch =
      req.query.get("architecture") ?? h("snap-device-architecture") ?? h("x-ubuntu-architecture") ?? "amd64";
    if (!/^[a-z0-9](?:-?[a-z0-9])*$/.test(name) || !/^[a-z0-9]+$/.test(arch)) return undefined;
    return `v2/snaps/info/${name}.${arch}.json`;
  },
  sections: () => "api/v1/snaps/sections.json",
  names: () => "api/v1/snaps/names.json",
  categories: () => "v2/snaps/categories.json",
  "catalogue-page": () => "index.html",
};

test("select derived from web equals the previous hand-written select on every request of the corpus", () => {
  const reqs: Req[] = [
    ...corpus(),
    // as polka matches them: any case, a trailing slash, encoded characters (params arrive decoded)
    { path: "/V2/SNAPS/INFO/hello", query: "architecture=arm64" },
    { path: "/v2/snaps/info/hello/" },
    { path: "/v2/snaps/info/hello%2Fx" },
    { path: "/API/v1/snaps/names/" },
    { path: "/v2/snaps/categories/" },
    { path: "/v2/snaps/info/hello", query: "architecture=arm64&architecture=s390x" },
    { path: "/v2/snaps/info/hello", headers: { "Snap-Device-Architecture": "armhf", "X-Ubuntu-Architecture": "" } },
    // an empty architecture header is no architecture to serve (nginx, which cannot tell it from a
    // missing one, answers for amd64: the one request the two are known to answer differently)
    { path: "/v2/snaps/info/hello", headers: { "Snap-Device-Architecture": "" } },
    { path: "/v2/snaps/info/hello", headers: { "Snap-Device-Architecture": "", "X-Ubuntu-Architecture": "arm64" } },
    { path: "/v2/snaps/info/hello", headers: { "X-Ubuntu-Architecture": "" } },
    { path: "/v2/snaps/info/hello", query: "architecture=arm64", headers: { "Snap-Device-Architecture": "" } },
  ];
  let compared = 0;
  const ids = new Set<string>();
  for (const r of reqs) {
    for (const route of STATIC_ROUTES) {
      const params = matchPattern(route.pattern, r.path);
      if (!params) continue;
      const previous = PREVIOUS_SELECT[route.id];
      if (previous !== undefined) {
        const decoded = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, decodeURIComponent(v)]));
        const req = request(r, decoded);
        assert.equal(route.select(req, index), previous(req), `${route.id}: ${r.path}?${r.query ?? ""}`);
        compared++;
        ids.add(route.id);
      }
      break;
    }
  }
  assert.deepEqual([...ids].sort(), Object.keys(PREVIOUS_SELECT).sort(), "every derived select was compared");
  assert.ok(compared > 100, `${compared} requests compared`);
});
