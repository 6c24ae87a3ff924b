/**
 * `select`, said so that a web server without snapshelf's code can do it.
 *
 * A static route's `select` is TypeScript; nginx cannot run it. So each
 * static route also carries a `WebSelect`: path regexes with named groups,
 * request values (query parameters, headers) each checked against a regex,
 * and a tree path template. The nginx generator (src/nginx) renders these
 * into locations and maps; `resolveWeb` below interprets them the same way,
 * so a unit test can check them against `select` on the same requests. What
 * needs the catalogue to decide (an assertion whose newest revision is too
 * new for the client's `max-format`) is listed per generation (`defer`), and
 * a web server passes those requests to the shim.
 */
import { ASSERTION_TYPES, type AssertionTypeInfo, assertionPath } from "../assertions/types.js";
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import type { RouteRequest, WebOutcome, WebRule, WebSelect, WebSource, WebValue } from "./types.js";

/** A regex that matches nothing: a value that must be absent. */
export const NEVER = "(?!)";

const TEMPLATE_VAR = /\{(\/?)([A-Za-z][A-Za-z0-9]*)\}/g;

function sourceValue(src: WebSource, req: RouteRequest): string | undefined {
  if ("query" in src) return req.query.has(src.query) ? (req.query.get(src.query) ?? "") : undefined;
  const h = req.headers[src.header.toLowerCase()];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Interprets `web` for a request with URL path `path` (decoded, as nginx's
 * `$uri`), the way the generated nginx configuration does.
 */
export function resolveWeb(
  web: WebSelect,
  path: string,
  req: RouteRequest,
  deferred: ReadonlySet<string> = new Set(),
): WebOutcome {
  for (const rule of web.rules) {
    const m = new RegExp(rule.path).exec(path);
    if (!m) continue;
    const vars = new Map<string, string | undefined>(Object.entries(m.groups ?? {}));
    for (const [name, v] of Object.entries(rule.values ?? {})) {
      let value: string | undefined;
      for (const src of v.from) {
        value = sourceValue(src, req);
        if (value !== undefined) break;
      }
      if (value === undefined) {
        if (v.absent === "not-found") return { kind: "not-found" };
        value = v.absent === "omit" ? undefined : v.absent.value;
      }
      if (value !== undefined && !new RegExp(`^(?:${v.match})$`).test(value)) return { kind: "not-found" };
      vars.set(name, value);
    }
    const file = rule.file.replace(TEMPLATE_VAR, (_all, slash: string, name: string) => {
      const value = vars.get(name);
      if (value === undefined) return "";
      return slash + value;
    });
    const deferQuery = web.defer?.query;
    if (deferQuery !== undefined && req.query.has(deferQuery) && deferred.has(file))
      return { kind: "defer", path: file };
    return { kind: "file", path: file };
  }
  return { kind: "not-found" };
}

/** The variable names a template uses, with whether each is an optional `{/name}` segment. */
export function templateVars(file: string): { name: string; optional: boolean }[] {
  return [...file.matchAll(TEMPLATE_VAR)].map((m) => ({ name: m[2] ?? "", optional: m[1] === "/" }));
}

// ---- descriptions shared by several routes ------------------------------------

/** Escapes regex syntax (`-` and `/` need none outside character classes). */
function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One fixed file at one URL path (sections, names, categories, the catalogue page). */
export function fixedFileWeb(urlPath: string, file: string, ...aliases: string[]): WebSelect {
  const paths = [urlPath, ...aliases].map(escapeRegex).join("|");
  return { rules: [{ path: `^(?:${paths})$`, file }] };
}

/** The source of an anchored regex without its `^` and `$`. */
export function unanchored(re: RegExp): string {
  return re.source.replace(/^\^/, "").replace(/\$$/, "");
}

function keyPattern(segment: string, min: number, max: number): string {
  const more = max - 1 === min - 1 ? `{${min - 1}}` : `{${min - 1},${max - 1}}`;
  return min === 1 && max === 1 ? segment : `${segment}(?:/${segment})${more}`;
}

function typeAlternation(types: readonly AssertionTypeInfo[]): string {
  return types.map((t) => escapeRegex(t.name)).join("|");
}

/**
 * The assertions route, for requests below `prefix` (`/v2/assertions/` or the
 * v1 path), from the assertion type table: a key of the type's length (its
 * trailing optional keys may be left out), trailing keys equal to their
 * defaults dropped (`snap-revision/<digest>/global-upload` is the file of
 * `snap-revision/<digest>`), `?sequence=latest|N` for sequence-forming types.
 * `segment` is the route's own regex for one key segment. Requests carrying
 * `max-format` for an assertion whose newest revision has a format above 0
 * go to the shim (it knows which older revision a client can read).
 */
export function assertionsWeb(prefix: string, segmentRe: RegExp): WebSelect {
  const segment = unanchored(segmentRe);
  const p = `^${escapeRegex(prefix)}`;
  const file = "v2/assertions/{type}/{key}/_.assert";
  const rules: WebRule[] = [];
  const byLength = new Map<string, AssertionTypeInfo[]>();
  for (const t of ASSERTION_TYPES.values()) {
    const n = t.primaryKey.length;
    if (n === 0) continue;
    if (t.sequenceForming) {
      const seq = (match: string, absent: WebValue["absent"]): Readonly<Record<string, WebValue>> => ({
        seq: { from: [{ query: "sequence" }], match, absent },
      });
      // the sequence key plus ?sequence=latest|N
      rules.push({
        path: `${p}(?<type>${escapeRegex(t.name)})/(?<key>${keyPattern(segment, n - 1, n - 1)})$`,
        values: seq("latest|[1-9][0-9]*", "not-found"),
        file: "v2/assertions/{type}/{key}/{seq}/_.assert",
      });
      // the full key: ?sequence= would make it one key too long
      rules.push({
        path: `${p}(?<type>${escapeRegex(t.name)})/(?<key>${keyPattern(segment, n, n)})$`,
        values: seq(NEVER, "omit"),
        file: "v2/assertions/{type}/{key}{/seq}/_.assert",
      });
      continue;
    }
    const names = t.primaryKey;
    const optional = names.filter((k) => t.optionalDefaults[k] !== undefined).length;
    // trailing keys equal to their defaults are dropped from the file path
    for (let len = n - optional + 1; len <= n; len++) {
      for (let drop = len - (n - optional); drop >= 1; drop--) {
        const defaults = names.slice(len - drop, len).map((k) => escapeRegex(t.optionalDefaults[k] ?? ""));
        rules.push({
          path: `${p}(?<type>${escapeRegex(t.name)})/(?<key>${keyPattern(segment, len - drop, len - drop)})/${defaults.join("/")}$`,
          file,
        });
      }
    }
    const k = `${n - optional}-${n}`;
    byLength.set(k, [...(byLength.get(k) ?? []), t]);
  }
  for (const [k, types] of [...byLength.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [min, max] = k.split("-").map(Number) as [number, number];
    rules.push({ path: `${p}(?<type>${typeAlternation(types)})/(?<key>${keyPattern(segment, min, max)})$`, file });
  }
  return { rules, defer: { query: "max-format", files: gatedAssertionFiles } };
}

/** Tree files of assertions whose newest revision has a format above 0 (older clients may need an older one). */
export function gatedAssertionFiles(index: CatalogueIndex): string[] {
  const out: string[] = [];
  for (const list of index.assertions.values()) {
    const newest = list[0];
    if (newest === undefined || newest.format === 0) continue;
    out.push(`v2/assertions/${assertionPath(newest.type, newest.primaryKey)}/_.assert`);
  }
  return out.sort();
}
