/**
 * The nginx configuration, generated from the route table (ROUTES): every
 * static route's `web` description becomes regex locations that serve tree
 * files straight from disk (sendfile, Range, exact content types), its
 * `notFound` answer becomes a JSON `return`, blobs are served from blobs/,
 * and only the dynamic routes (plus the few requests a `defer` list names)
 * are proxied to `snapshelf serve`. Nothing here is written by hand per
 * endpoint, so nginx and the shim cannot drift apart.
 *
 * The configuration names one generation (`root <dir>/trees/<N>`, falling
 * back to `trees/.shared` for the per-revision files every generation
 * shares) and the requests of that generation that need the shim; it is regenerated after
 * every build and nginx reloaded (the systemd units in templates/ do both).
 * Pure: the caller reads the store and writes the result.
 */

import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import { MAX_BODY, RANGE_NOT_SATISFIABLE_BODY, STORE_VERSION } from "../routes/limits.js";
import { BLOBS_PREFIX, ROUTES, SNAP_CONTENT_TYPE } from "../routes/table.js";
import type { WebSource, WebValue } from "../routes/types.js";
import { errorResponse, JSON_TYPE, type Route, type RouteRequest, type StaticRoute } from "../routes/types.js";
import { templateVars } from "../routes/web.js";
import { SHARED_PREFIXES } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";

export interface NginxTls {
  readonly cert: string;
  readonly key: string;
}

export interface NginxOptions {
  /** Absolute path of the store directory. */
  readonly storeDir: string;
  /** The generation in service (its tree is the root). */
  readonly generation: number;
  /** That generation's catalogue (for the per-generation `defer` lists). */
  readonly index: CatalogueIndex;
  /** `listen` argument: `PORT`, `ADDR:PORT` or `[V6]:PORT`. */
  readonly listen: string;
  readonly serverName: string;
  /** Path part of the base URL devices use (`""` or `/prefix`): every location lives below it. */
  readonly pathPrefix: string;
  /** `http://HOST:PORT` of `snapshelf serve`. */
  readonly upstream: string;
  readonly tls?: NginxTls;
  /** A complete nginx.conf (for `nginx -p DIR -c FILE`), not just the http-level block. */
  readonly standalone?: { readonly user?: string };
  /** Prefix of every nginx name this configuration defines (maps, upstream): several stores can share one nginx. */
  readonly id?: string;
  /** The route table (default: ROUTES). */
  readonly routes?: readonly Route[];
}

const SAFE_PARAM = "[A-Za-z0-9._~@+=-]+";
const SENTINEL = (name: string) => `@@snapshelf-param:${name}@@`;

function fail(reason: string): never {
  throw new SnapshelfError("nginx-config", `cannot generate nginx configuration: ${reason}`);
}

/** A double-quoted nginx string. `$` cannot be escaped there, so it is refused (callers pass variables separately). */
export function nginxString(s: string, allowVariables = false): string {
  if (/[\n\r\0]/.test(s)) fail(`${JSON.stringify(s)} contains a line break or NUL`);
  if (!allowVariables && s.includes("$")) fail(`${JSON.stringify(s)} contains "$", which nginx cannot quote`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A double-quoted regex (`$` is an anchor there, not a variable). */
function nginxRegexString(s: string): string {
  return nginxString(s, true);
}

/** Escapes regex syntax (`-` and `/` need none outside character classes, in PCRE or JS). */
function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function ident(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, "_");
}

/** nginx's variable for a request header: lower case, dashes to underscores. */
function headerVar(h: string): string {
  return `http_${h.toLowerCase().replace(/-/g, "_")}`;
}

/** `listen` value checks: a port, or an address and a port. */
export function parseListen(listen: string): { host?: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) fail(`bad listen address ${JSON.stringify(listen)} (want PORT or ADDR:PORT)`);
  return m[1] === undefined ? { port } : { host: m[1], port };
}

function upstreamServer(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail(`bad upstream ${JSON.stringify(url)}: not a URL`);
  }
  if (u.protocol !== "http:" || (u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") {
    fail(`bad upstream ${JSON.stringify(url)}: want http://HOST:PORT of snapshelf serve`);
  }
  return `${u.hostname.includes(":") ? `[${u.hostname.replace(/^\[|\]$/g, "")}]` : u.hostname}:${u.port || "80"}`;
}

class Writer {
  private readonly lines: string[] = [];
  private depth = 0;
  line(s = ""): this {
    this.lines.push(s === "" ? "" : "    ".repeat(this.depth) + s);
    return this;
  }
  open(s: string): this {
    this.line(`${s} {`);
    this.depth++;
    return this;
  }
  close(): this {
    this.depth--;
    return this.line("}");
  }
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

interface Names {
  readonly id: string;
  query(name: string): string;
  header(name: string): string;
  /** A regex capture name (PCRE2 allows 32 characters), the same for the same key. */
  capture(key: string): string;
}

/** Maps that expose query parameters and headers as `""` (absent) or `=VALUE` (present). */
function sourceMaps(w: Writer, n: Names, sources: Iterable<WebSource>): void {
  const queries = new Set<string>();
  const headers = new Set<string>();
  for (const s of sources) {
    if ("query" in s) queries.add(s.query);
    else headers.add(s.header.toLowerCase());
  }
  for (const q of [...queries].sort()) {
    const cap = n.capture(`query ${q}`);
    // $arg_NAME cannot name parameters with a dash (max-format): match $args instead; the first occurrence wins, as URLSearchParams.get
    w.open(`map $args $${n.query(q)}`);
    w.line(`${nginxRegexString(`~(?:^|&)${escapeRegex(q)}=(?<${cap}>[^&]*)`)} "=$${cap}";`);
    w.line(`${nginxRegexString(`~(?:^|&)${escapeRegex(q)}(?:&|$)`)} "=";`);
    w.line(`default "";`);
    w.close();
  }
  for (const h of [...headers].sort()) {
    w.open(`map $${headerVar(h)} $${n.header(h)}`);
    w.line(`"" "";`);
    w.line(`default "=$${headerVar(h)}";`);
    w.close();
  }
}

function sourceVar(n: Names, s: WebSource): string {
  return "query" in s ? n.query(s.query) : n.header(s.header);
}

/**
 * The maps computing one value of a rule: the first present source, checked
 * against its regex. The result is the value, the fallback, nothing (an
 * omitted optional segment) or `.invalid`: no tree path has a segment starting
 * with a dot, so a template holding it names no file and the request is not found.
 */
function valueMaps(w: Writer, n: Names, varName: string, v: WebValue, optional: boolean): void {
  if (v.from.length === 0) fail(`value ${varName} has no source`);
  const pre = optional ? "/" : "";
  // chain_i = source i if present, else chain_{i+1}; a single source needs no chain
  let first = `$${sourceVar(n, v.from[0] as WebSource)}`;
  if (v.from.length > 1) {
    const chain = v.from.map((_s, i) => `${varName}_s${i}`);
    for (let i = v.from.length - 1; i >= 0; i--) {
      const own = `$${sourceVar(n, v.from[i] as WebSource)}`;
      const next = i + 1 < v.from.length ? `$${chain[i + 1]}` : '""';
      w.open(`map ${own} $${chain[i]}`);
      w.line(`"" ${next};`);
      w.line(`default ${own};`);
      w.close();
    }
    first = `$${chain[0]}`;
  }
  let absent: string;
  if (v.absent === "not-found") absent = `${pre}.invalid`;
  else if (v.absent === "omit") absent = "";
  else absent = new RegExp(`^(?:${v.match})$`).test(v.absent.value) ? pre + v.absent.value : `${pre}.invalid`;
  const cap = n.capture(`value ${varName}`);
  w.open(`map ${first} $${varName}`);
  w.line(`"" ${nginxString(absent)};`);
  w.line(`${nginxRegexString(`~^=(?<${cap}>(?:${v.match}))$`)} "${pre}$${cap}";`);
  w.line(`default ${nginxString(`${pre}.invalid`)};`);
  w.close();
}

/** A route pattern (`/v2/snaps/info/:name`, `/v2/assertions/:type/*`) as a regex with named groups. */
function patternRegex(pattern: string, group: (param: string) => string): string {
  const parts = pattern.split("/").map((seg) => {
    if (seg === "*") return ".*";
    if (seg.startsWith(":")) return `(?<${group(seg.slice(1))}>${SAFE_PARAM})`;
    return escapeRegex(seg);
  });
  return `^${parts.join("/")}$`;
}

/** Renames named groups `(?<x>` to nginx variable names and anchors the regex below the path prefix. */
function nginxRegex(source: string, prefix: string, group: (name: string) => string): string {
  if (!source.startsWith("^")) fail(`route path regex ${source} is not anchored`);
  return `^${escapeRegex(prefix)}${source.slice(1).replace(/\(\?<([A-Za-z][A-Za-z0-9]*)>/g, (_m, g: string) => `(?<${group(g)}>`)}`;
}

/** The not-found answer of a route as an nginx `return`, with path parameters as nginx variables. */
function notFoundReturn(route: StaticRoute, params: readonly string[], paramVar: (p: string) => string): string[] {
  const req: RouteRequest = {
    method: "GET",
    params: Object.fromEntries(params.map((p) => [p, SENTINEL(p)])),
    query: new URLSearchParams(),
    headers: {},
  };
  const res = route.notFound(req);
  let body = nginxString(res.body);
  for (const p of params) body = body.split(SENTINEL(p)).join(`\${${paramVar(p)}}`);
  if (body.includes("@@snapshelf-param:"))
    fail(`route ${route.id}: its not-found answer uses a parameter nginx does not capture`);
  return [`default_type ${nginxString(res.contentType)};`, `return ${res.status} ${body};`];
}

/** Error pages: name, the statuses sent there, the status, code and message answered. */
const ERROR_PAGES: readonly (readonly [string, string, number, string, string])[] = [
  ["e400", "400", 400, "bad-request", "bad request"],
  ["e403", "403", 404, "not-found", "not found"],
  ["e404", "404", 404, "not-found", "not found"],
  ["e405", "405", 405, "method-not-allowed", "method not allowed"],
  ["e413", "413", 413, "too-large", `cannot read request: body larger than ${MAX_BODY} bytes`],
  ["e414", "414", 414, "bad-request", "request URI too long"],
  ["e416", "416", 416, "range-not-satisfiable", "requested range not satisfiable"],
  ["e502", "500 502 503 504", 502, "store-unavailable", "store temporarily unavailable"],
];

function errorUri(id: string, name: string): string {
  return `/_${id}_${name}`;
}

function errorReturn(status: number, code: string, message: string): string[] {
  const r = errorResponse(status, code, message);
  return [`default_type ${nginxString(r.contentType)};`, `return ${status} ${nginxString(r.body)};`];
}

/** What the whole configuration is rendered from, checked once. */
interface Setup {
  readonly id: string;
  /** The path prefix, without trailing slashes ("" for none). */
  readonly prefix: string;
  /** Roots: the generation's tree, the blobs, the trees' shared directory. */
  readonly tree: string;
  readonly blobs: string;
  readonly shared: string;
  readonly statics: readonly StaticRoute[];
  readonly dynamics: readonly Route[];
  readonly n: Names;
}

function checkSetup(opts: NginxOptions): Setup {
  const id = opts.id ?? "snapshelf";
  if (!/^[a-z][a-z0-9_]{0,15}$/.test(id)) fail(`bad id ${JSON.stringify(id)} (up to 16 lower case letters, digits, _)`);
  const prefix = opts.pathPrefix.replace(/\/+$/, "");
  if (prefix !== "" && !/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) fail(`bad path prefix ${JSON.stringify(prefix)}`);
  parseListen(opts.listen);
  const routes = opts.routes ?? ROUTES;
  const store = opts.storeDir.replace(/\/+$/, "");
  const captures = new Map<string, string>();
  const n: Names = {
    id,
    query: (q) => `${id}_q_${ident(q)}`,
    header: (h) => `${id}_h_${ident(h)}`,
    capture: (key) => {
      let c = captures.get(key);
      if (c === undefined) {
        c = `${id}_c${captures.size}`;
        captures.set(key, c);
      }
      return c;
    },
  };
  const statics = routes.filter((r): r is StaticRoute => r.kind === "static");
  const dynamics = routes.filter((r) => r.kind === "dynamic");
  for (const r of statics) if (!r.web) fail(`static route ${r.id} has no web description (src/routes/web.ts)`);
  return {
    id,
    prefix,
    tree: `${store}/trees/${opts.generation}`,
    blobs: `${store}/blobs`,
    shared: `${store}/trees/.shared`,
    statics,
    dynamics,
    n,
  };
}

/** The nginx variables of the static routes' rules: one per distinct value description (the v2 and v1 assertion routes share theirs). */
class RouteVars {
  private readonly valueVars = new Map<string, string>();

  constructor(
    private readonly id: string,
    private readonly n: Names,
  ) {}

  private valueKey(r: StaticRoute, i: number, name: string): string {
    const rule = r.web?.rules[i];
    const optional = templateVars(rule?.file ?? "").find((t) => t.name === name)?.optional ?? false;
    return JSON.stringify({ v: rule?.values?.[name], optional });
  }

  /** Whether the value's variable exists already (its maps are written). */
  has(r: StaticRoute, i: number, name: string): boolean {
    return this.valueVars.has(this.valueKey(r, i, name));
  }

  rule(r: StaticRoute, i: number, name: string): string {
    const key = this.valueKey(r, i, name);
    let v = this.valueVars.get(key);
    if (v === undefined) {
      v = `${this.id}_v${this.valueVars.size}`;
      this.valueVars.set(key, v);
    }
    return v;
  }

  group(r: StaticRoute, g: string): string {
    return this.n.capture(`group ${r.id} ${g}`);
  }

  file(r: StaticRoute): string {
    return `${this.id}_${ident(r.id)}_file`;
  }

  defer(r: StaticRoute): string {
    return `${this.id}_${ident(r.id)}_defer`;
  }
}

/** Renders the configuration. */
export function renderNginxConfig(opts: NginxOptions): string {
  const s = checkSetup(opts);
  const w = new Writer();
  const standalone = opts.standalone !== undefined;
  writePreamble(w, opts, s.id);

  // ---- http-level: maps and the upstream ------------------------------------
  // the files each route leaves to the shim when its defer query is present, by route id
  const defers = new Map<string, string[]>();
  for (const r of s.statics) {
    const d = r.web?.defer;
    if (d) defers.set(r.id, [...new Set(d.files(opts.index))].sort());
  }
  const vars = new RouteVars(s.id, s.n);
  writeMaps(w, opts, s, defers, vars);

  // ---- the server ---------------------------------------------------------------
  w.open("server");
  writeServerSettings(w, opts, s.id);
  writeStaticLocations(w, s, defers, vars);
  writeBlobLocation(w, s);
  writeShimLocations(w, s);
  writeErrorLocations(w, s.id);
  w.close(); // server
  if (standalone) w.close(); // http
  return w.text();
}

/** The header comment; standalone, the main context and the http block's opening. */
function writePreamble(w: Writer, opts: NginxOptions, id: string): void {
  w.line(`# Generated by \`snapshelf nginx-config\` from snapshelf's route table. Do not edit:`);
  w.line(
    `# regenerate after every \`snapshelf build\` and reload nginx (this file names generation ${opts.generation}).`,
  );
  w.line(`# Store: ${opts.storeDir.replace(/[\r\n]/g, " ")}`);
  if (opts.standalone === undefined) return;
  // a complete nginx.conf for `nginx -p PREFIX/ -c FILE -e stderr`: every runtime path is relative to PREFIX
  if (opts.standalone.user !== undefined) {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.standalone.user)) fail(`bad user ${JSON.stringify(opts.standalone.user)}`);
    w.line(`user ${opts.standalone.user};`);
  }
  w.line("worker_processes auto;");
  w.line("pid nginx.pid;");
  w.line("error_log stderr notice;");
  w.open("events").line("worker_connections 1024;").close();
  w.open("http");
  // upstream= says which requests reached snapshelf serve ("-": answered by nginx alone)
  w.line(
    `log_format ${id} '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" upstream=$upstream_addr';`,
  );
  w.line(`access_log access.log ${id};`);
  for (const t of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) w.line(`${t}_temp_path ${t}_temp;`);
  w.line("keepalive_timeout 65;");
}

/** The http-level maps (query and header sources, rule values, defers, the tree ETag) and the shim's upstream. */
function writeMaps(
  w: Writer,
  opts: NginxOptions,
  s: Setup,
  defers: ReadonlyMap<string, readonly string[]>,
  vars: RouteVars,
): void {
  const { id, n, statics } = s;
  const longest = Math.max(0, ...[...defers.values()].flat().map((f) => f.length + s.prefix.length + 8));
  const entries = [...defers.values()].reduce((a, l) => a + l.length, 0);
  if (entries > 0) {
    // long exact keys (assertion paths) need larger hash buckets than the default
    w.line(`map_hash_bucket_size ${Math.max(128, 2 ** Math.ceil(Math.log2(longest + 16)))};`);
    w.line(`map_hash_max_size ${Math.max(2048, 2 ** Math.ceil(Math.log2(entries * 2)))};`);
  }
  const sources: WebSource[] = [];
  for (const r of statics) {
    for (const rule of r.web?.rules ?? []) for (const v of Object.values(rule.values ?? {})) sources.push(...v.from);
    const dq = r.web?.defer?.query;
    if (dq !== undefined) sources.push({ query: dq });
  }
  sourceMaps(w, n, sources);

  for (const r of statics) {
    const rules = r.web?.rules ?? [];
    rules.forEach((rule, i) => {
      const optional = new Map(templateVars(rule.file).map((t) => [t.name, t.optional]));
      for (const [name, v] of Object.entries(rule.values ?? {})) {
        const known = vars.has(r, i, name);
        const varName = vars.rule(r, i, name);
        if (!known) valueMaps(w, n, varName, v, optional.get(name) ?? false);
      }
    });
    const files = defers.get(r.id) ?? [];
    if (files.length > 0) {
      const dq = r.web?.defer?.query ?? "";
      w.open(`map $${n.query(dq)} $${id}_${ident(r.id)}_has_${ident(dq)}`)
        .line(`"" 0;`)
        .line("default 1;")
        .close();
      w.open(`map "$${id}_${ident(r.id)}_has_${ident(dq)}$${vars.file(r)}" $${vars.defer(r)}`);
      w.line("default 0;");
      for (const f of files) w.line(`${nginxString(`1/${f}`)} 1;`);
      w.close();
    }
  }
  // tree files: the ETag names the generation too, so it changes with the content even when a
  // rebuild writes a file of the same size in the same second (nginx's own is mtime-size)
  const etagCap = n.capture("etag");
  w.open(`map $sent_http_etag $${id}_tree_etag`)
    .line(`${nginxRegexString(`~^"(?<${etagCap}>.*)"$`)} "\\"${opts.generation}-$${etagCap}\\"";`)
    .line(`default "";`)
    .close();
  w.open(`upstream ${id}_shim`)
    .line(`server ${upstreamServer(opts.upstream)};`)
    .line("keepalive 16;")
    .close();
}

/** The server's own settings: listen, TLS, headers, error pages, proxying; then the dotfile location. */
function writeServerSettings(w: Writer, opts: NginxOptions, id: string): void {
  const listen = parseListen(opts.listen);
  const listenArg = listen.host === undefined ? String(listen.port) : `${listen.host}:${listen.port}`;
  w.line(`listen ${listenArg}${opts.tls ? " ssl" : ""};`);
  if (!/^[A-Za-z0-9.*_-]+$/.test(opts.serverName)) fail(`bad server name ${JSON.stringify(opts.serverName)}`);
  w.line(`server_name ${opts.serverName};`);
  if (opts.tls) {
    w.line(`ssl_certificate ${nginxString(opts.tls.cert)};`);
    w.line(`ssl_certificate_key ${nginxString(opts.tls.key)};`);
    // snapd speaks HTTP/1.1 over TLS 1.2+ (store-protocol.md §1.4)
    w.line("ssl_protocols TLSv1.2 TLSv1.3;");
    w.line(`ssl_session_cache shared:${id}_tls:10m;`);
    w.line("ssl_session_timeout 1h;");
  }
  w.line("server_tokens off;");
  w.line("charset off;");
  // exact bytes and Content-Length: never compress (snapd hashes blobs; its JSON content types are compared exactly)
  w.line("gzip off;");
  w.line("sendfile on;");
  w.line("tcp_nopush on;");
  // content types come from the route table (default_type per location), never from file extensions
  w.line("types { }");
  w.line(`add_header Snap-Store-Version ${STORE_VERSION} always;`);
  w.line("add_header X-Content-Type-Options nosniff always;");
  w.line(`client_max_body_size ${MAX_BODY};`);
  w.line("recursive_error_pages on;");
  w.line(`error_page 418 = @${id}_shim;`);
  // errors go to internal URIs, not named locations: a request whose URI nginx refused (`/../x`,
  // `%00`) has none, and a redirect to a named location then fails (500, then a redirect cycle)
  for (const [name, status] of ERROR_PAGES) w.line(`error_page ${status} = ${errorUri(id, name)};`);
  // ranges: one per request (several get the whole file, as serve answers them: src/serve/files.ts)
  w.line("max_ranges 1;");
  // nothing below the roots is served through a symbolic link (verify reports any)
  w.line("disable_symlinks on from=$document_root;");
  w.line("proxy_http_version 1.1;");
  w.line('proxy_set_header Connection "";');
  w.line("proxy_set_header Host $http_host;");
  w.line("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
  w.line("proxy_set_header X-Forwarded-Proto $scheme;");
  w.line("proxy_hide_header Snap-Store-Version;");
  w.line("proxy_connect_timeout 5s;");
  w.line("proxy_read_timeout 60s;");
  w.line();

  w.line("# dotfiles (.catalogue.json, .snapshelf-tree.json, temporaries) are never served");
  w.open(`location ~ "(?:^|/)\\."`);
  for (const l of errorReturn(404, "not-found", "not found")) w.line(l);
  w.close();
}

/** Per static route: a location per rule onto the tree (then the shared directory), and its not-found answers. */
function writeStaticLocations(
  w: Writer,
  s: Setup,
  defers: ReadonlyMap<string, readonly string[]>,
  vars: RouteVars,
): void {
  const { id, prefix } = s;
  // a tree path holds other content in other generations: a date (one second) is no validator there,
  // so no Last-Modified (and If-Range dates never match); add_header here replaces the server's
  const treeHeaders = [
    `add_header ETag $${id}_tree_etag;`,
    `add_header Last-Modified "";`,
    `add_header Snap-Store-Version ${STORE_VERSION} always;`,
    "add_header X-Content-Type-Options nosniff always;",
  ];
  const sharing = (r: StaticRoute): boolean => SHARED_PREFIXES.some((p) => p.startsWith(r.treePrefix));
  for (const r of s.statics) {
    const web = r.web;
    if (!web) continue;
    w.line();
    w.line(`# ${r.id}: ${r.pattern} -> tree files (${r.contentType})`);
    const rules = web.rules;
    rules.forEach((rule, i) => {
      const file = rule.file.replace(/\{(\/?)([A-Za-z][A-Za-z0-9]*)\}/g, (_m, _slash: string, name: string) => {
        if (rule.values?.[name]) return `\${${vars.rule(r, i, name)}}`;
        return `\${${vars.group(r, name)}}`;
      });
      w.open(`location ~ ${nginxRegexString(nginxRegex(rule.path, prefix, (g) => vars.group(r, g)))}`);
      w.line(`root ${nginxString(s.tree)};`);
      w.line(`default_type ${nginxString(r.contentType)};`);
      for (const l of treeHeaders) w.line(l);
      w.line(`set $${vars.file(r)} ${nginxString(`/${file}`, true)};`);
      if ((defers.get(r.id) ?? []).length > 0) w.line(`if ($${vars.defer(r)}) { return 418; }`);
      w.line(`try_files $${vars.file(r)} @${id}_${sharing(r) ? "sh" : "nf"}_${ident(r.id)};`);
      w.close();
    });
    if (sharing(r)) {
      // files of the shared directory (same relative paths), for the paths this route can name
      w.open(`location @${id}_sh_${ident(r.id)}`);
      w.line(`root ${nginxString(s.shared)};`);
      w.line(`default_type ${nginxString(r.contentType)};`);
      for (const l of treeHeaders) w.line(l);
      w.line(`try_files $${vars.file(r)} @${id}_nf_${ident(r.id)};`);
      w.close();
    }
    // what the rules do not match but the route's pattern does: the route's own not-found answer
    const params = [...r.pattern.matchAll(/:([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1] ?? "");
    w.open(
      `location ~ ${nginxRegexString(
        nginxRegex(
          patternRegex(r.pattern, (p) => p),
          prefix,
          (g) => vars.group(r, g),
        ),
      )}`,
    );
    for (const l of notFoundReturn(r, params, (p) => vars.group(r, p))) w.line(l);
    w.close();
    w.open(`location @${id}_nf_${ident(r.id)}`);
    for (const l of notFoundReturn(r, params, (p) => vars.group(r, p))) w.line(l);
    w.close();
  }
}

/** Blobs, content-addressed: sendfile, Range (206), ETag. */
function writeBlobLocation(w: Writer, s: Setup): void {
  const { id, n } = s;
  w.line();
  w.line("# blobs, content-addressed: sendfile, Range (206), ETag");
  w.open(
    `location ~ ${nginxRegexString(`^${escapeRegex(s.prefix + BLOBS_PREFIX)}(?<${n.capture("blob")}>[0-9a-f]{96}\\.snap)$`)}`,
  );
  w.line(`root ${nginxString(s.blobs)};`);
  w.line(`default_type ${nginxString(SNAP_CONTENT_TYPE)};`);
  w.line("sendfile_max_chunk 2m;");
  w.line(`try_files /$${n.capture("blob")} @${id}_nf_blob;`);
  w.close();
  w.open(`location @${id}_nf_blob`);
  for (const l of errorReturn(404, "not-found", "not found")) w.line(l);
  w.close();
}

/** The dynamic routes, and what the static ones defer: proxied to snapshelf serve. */
function writeShimLocations(w: Writer, s: Setup): void {
  const { id, n, prefix } = s;
  const rewrite = prefix === "" ? [] : [`rewrite ${nginxRegexString(`^${escapeRegex(prefix)}(/.*)$`)} $1 break;`];
  w.line();
  w.line("# dynamic routes: snapshelf serve");
  for (const r of s.dynamics) {
    if (/[:*]/.test(r.pattern)) {
      w.open(
        `location ~ ${nginxRegexString(
          nginxRegex(
            patternRegex(r.pattern, (p) => n.capture(`group ${r.id} ${p}`)),
            prefix,
            (g) => g,
          ),
        )}`,
      );
    } else {
      w.open(`location = ${nginxString(prefix + r.pattern)}`);
    }
    for (const l of rewrite) w.line(l);
    w.line(`proxy_pass http://${id}_shim;`);
    w.close();
  }
  w.open(`location @${id}_shim`);
  for (const l of rewrite) w.line(l);
  w.line(`proxy_pass http://${id}_shim;`);
  w.close();
}

/** Everything else, and the internal error pages: snapd reads JSON error bodies only. */
function writeErrorLocations(w: Writer, id: string): void {
  w.line();
  w.line("# everything else: snapd reads JSON error bodies only");
  w.open("location /");
  for (const l of errorReturn(404, "not-found", "not found")) w.line(l);
  w.close();
  for (const [name, , status, code, message] of ERROR_PAGES) {
    w.open(`location = ${errorUri(id, name)}`);
    w.line("internal;");
    if (status === 416) {
      // nginx's range filter set Content-Range: bytes */SIZE; the body is serve's (src/serve/files.ts)
      w.line(`default_type ${nginxString(JSON_TYPE)};`);
      w.line(`return 416 ${nginxString(RANGE_NOT_SATISFIABLE_BODY)};`);
    } else for (const l of errorReturn(status, code, message)) w.line(l);
    w.close();
  }
}
