/**
 * How a live request selects a static route's file, said so that a web
 * server without snapshelf's code can do it.
 *
 * Each static route carries a `WebSelect`: path regexes with named groups,
 * request values (query parameters, headers) each checked against a regex,
 * and a tree path template. The nginx generator (src/nginx) renders these
 * into locations and maps; `resolveWeb` below interprets them the same way,
 * and the shim's `select` is derived from them (`selectFromWeb`), so a route
 * is described once. What needs the catalogue to decide (an assertion whose
 * newest revision is too new for the client's `max-format`) is listed per
 * generation (`defer`), and a web server passes those requests to the shim,
 * where that route's own `select` decides (the one documented exception).
 */
import { ASSERTION_TYPES, type AssertionTypeInfo, assertionPath } from "../assertions/types.js";
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import type { RouteRequest, WebOutcome, WebRule, WebSelect, WebSource, WebValue } from "./types.js";

/** A regex that matches nothing: a value that must be absent. */
export const NEVER = "(?!)";

const TEMPLATE_VAR = /\{(\/?)([A-Za-z][A-Za-z0-9]*)\}/g;

/** A `WebSource` ready for requests: a query parameter, or a header by its lower-case name. */
interface CompiledSource {
  readonly query: boolean;
  readonly name: string;
}

function compileSource(src: WebSource): CompiledSource {
  return "query" in src ? { query: true, name: src.query } : { query: false, name: src.header.toLowerCase() };
}

function sourceValue(src: CompiledSource, req: RouteRequest): string | undefined {
  if (src.query) return req.query.get(src.name) ?? undefined; // present, even empty: a string
  const h = req.headers[src.name];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === "" ? undefined : v;
}

/** A `WebValue` with its regex compiled. */
interface CompiledValue {
  readonly name: string;
  readonly from: readonly CompiledSource[];
  readonly match: RegExp;
  readonly absent: WebValue["absent"];
}

/**
 * A template piece: literal text, or a variable (`optional`: a `{/name}`
 * segment) taken from the rule's request values (`value`: its position) or,
 * when no value has its name, from the path's named groups.
 */
type TemplatePart = string | { readonly name: string; readonly optional: boolean; readonly value: number };

interface CompiledRule {
  readonly path: RegExp;
  readonly values: readonly CompiledValue[];
  readonly file: readonly TemplatePart[];
}

/** A `WebSelect` with its regexes compiled and its templates split, once per description. */
export interface CompiledWeb {
  readonly rules: readonly CompiledRule[];
  readonly deferQuery: string | undefined;
}

function compileTemplate(file: string, values: readonly CompiledValue[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of file.matchAll(TEMPLATE_VAR)) {
    if (m.index > last) parts.push(file.slice(last, m.index));
    const name = m[2] ?? "";
    parts.push({ name, optional: m[1] === "/", value: values.findIndex((v) => v.name === name) });
    last = m.index + m[0].length;
  }
  if (last < file.length) parts.push(file.slice(last));
  return parts;
}

function compileRule(rule: WebRule): CompiledRule {
  const values = Object.entries(rule.values ?? {}).map(([name, v]) => ({
    name,
    from: v.from.map(compileSource),
    match: new RegExp(`^(?:${v.match})$`),
    absent: v.absent,
  }));
  return { path: new RegExp(rule.path), values, file: compileTemplate(rule.file, values) };
}

const compiled = new WeakMap<WebSelect, CompiledWeb>();

/** `web` compiled (cached per description: route descriptions live as long as the process). */
export function compileWeb(web: WebSelect): CompiledWeb {
  const known = compiled.get(web);
  if (known !== undefined) return known;
  const c: CompiledWeb = { rules: web.rules.map(compileRule), deferQuery: web.defer?.query };
  compiled.set(web, c);
  return c;
}

const NO_DEFERRALS: ReadonlySet<string> = new Set();
const NOT_FOUND: WebOutcome = { kind: "not-found" };
/** `requestValue`'s answer for a value that rules the request out. */
const RULED_OUT = null;

/** A request value: the first present source, else the fallback; undefined when omitted. */
function requestValue(v: CompiledValue, req: RouteRequest): string | undefined | typeof RULED_OUT {
  let value: string | undefined;
  for (const src of v.from) {
    value = sourceValue(src, req);
    if (value !== undefined) break;
  }
  if (value === undefined) {
    if (v.absent === "not-found") return RULED_OUT;
    if (v.absent === "omit") return undefined;
    value = v.absent.value;
  }
  return v.match.test(value) ? value : RULED_OUT;
}

/** The tree file `rule` names for a path it matched (`m`), or undefined when a request value rules it out. */
function ruleFile(rule: CompiledRule, m: RegExpExecArray, req: RouteRequest): string | undefined {
  const n = rule.values.length;
  // at most a few values per rule: the common cases need no array
  const v0 = n > 0 ? requestValue(rule.values[0] as CompiledValue, req) : undefined;
  if (v0 === RULED_OUT) return undefined;
  let rest: (string | undefined)[] | undefined;
  if (n > 1) {
    rest = [];
    for (let i = 1; i < n; i++) {
      const v = requestValue(rule.values[i] as CompiledValue, req);
      if (v === RULED_OUT) return undefined;
      rest.push(v);
    }
  }
  let file = "";
  for (const part of rule.file) {
    if (typeof part === "string") {
      file += part;
      continue;
    }
    const value = part.value === 0 ? v0 : part.value > 0 ? rest?.[part.value - 1] : m.groups?.[part.name];
    if (value !== undefined) file += part.optional ? `/${value}` : value;
  }
  return file;
}

/** `resolveWeb` over a compiled description. */
export function resolveCompiled(
  web: CompiledWeb,
  path: string,
  req: RouteRequest,
  deferred: ReadonlySet<string> = NO_DEFERRALS,
): WebOutcome {
  for (const rule of web.rules) {
    const m = rule.path.exec(path);
    if (!m) continue;
    const file = ruleFile(rule, m, req);
    if (file === undefined) return NOT_FOUND;
    if (web.deferQuery !== undefined && req.query.has(web.deferQuery) && deferred.has(file))
      return { kind: "defer", path: file };
    return { kind: "file", path: file };
  }
  return NOT_FOUND;
}

/**
 * Interprets `web` for a request with URL path `path` (decoded, as nginx's
 * `$uri`), the way the generated nginx configuration does.
 */
export function resolveWeb(
  web: WebSelect,
  path: string,
  req: RouteRequest,
  deferred: ReadonlySet<string> = NO_DEFERRALS,
): WebOutcome {
  return resolveCompiled(compileWeb(web), path, req, deferred);
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

// ---- select, derived from the description ------------------------------------

/**
 * A static route's `select` from its web description, as the shim runs it:
 * the URL path is rebuilt from the route's polka `pattern` and the request's
 * (decoded) params, so it is the path nginx sees as `$uri` for that route,
 * and then resolved like nginx does. Compiled once per route: a request costs
 * the rule regexes and the template, no more than a hand-written `select`.
 *
 * Nothing is deferred here: what a web server would pass to the shim (see
 * `WebDefer`) is exactly what a route's own `select` must decide with the
 * catalogue, so such a route (assertions: `max-format`) keeps a hand-written
 * `select`, checked against its description by test/unit/nginx-web.test.ts.
 */
export function selectFromWeb(pattern: string, web: WebSelect): (req: RouteRequest) => string | undefined {
  const c = compileWeb(web);
  // the pattern as literal text and param names, in turn: `/v2/snaps/info/:name` is ["/v2/snaps/info/", "name"]
  const parts: string[] = [];
  let literal = "";
  for (const [i, seg] of pattern.split("/").entries()) {
    if (i > 0) literal += "/";
    if (seg !== "*" && !seg.startsWith(":")) {
      literal += seg;
      continue;
    }
    parts.push(literal, seg === "*" ? "*" : seg.slice(1));
    literal = "";
  }
  parts.push(literal);
  if (parts.length === 1) return (req) => fileOf(c, pattern, req);
  return (req) => {
    let path = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) {
      const name = parts[i] as string;
      path += (name === "*" ? (req.params["*"] ?? req.params["wild"]) : req.params[name]) ?? "";
      path += parts[i + 1] as string;
    }
    return fileOf(c, path, req);
  };
}

/** The file the first matching rule names, or undefined (nothing deferred: the shim decides). */
function fileOf(web: CompiledWeb, path: string, req: RouteRequest): string | undefined {
  for (const rule of web.rules) {
    const m = rule.path.exec(path);
    if (m) return ruleFile(rule, m, req);
  }
  return undefined;
}
