/**
 * The nginx configuration generator (pure): what it serves from disk, what it
 * proxies, exact content types and JSON error bodies from the route table,
 * TLS, path prefixes, quoting, and refusals.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { AssertionEntry } from "../../src/catalogue/types.js";
import { type NginxOptions, renderNginxConfig } from "../../src/nginx/config.js";
import { DYNAMIC_ROUTES, STATIC_ROUTES } from "../../src/routes/table.js";
import { SnapshelfError } from "../../src/util/errors.js";

const EMPTY = indexCatalogue({ snaps: [], assertions: [], arches: ["amd64", "arm64"] });

function opts(over: Partial<NginxOptions> = {}): NginxOptions {
  return {
    storeDir: "/srv/snaps",
    generation: 7,
    index: EMPTY,
    listen: "8000",
    serverName: "store.internal",
    pathPrefix: "",
    upstream: "http://127.0.0.1:8001",
    ...over,
  };
}

/** The `location ... { ... }` blocks of a configuration, header and body. */
function locations(conf: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  const re = /^\s*location ([^\n{]*)\{\n([\s\S]*?)^\s*\}$/gm;
  for (const m of conf.matchAll(re)) out.push({ head: (m[1] ?? "").trim(), body: m[2] ?? "" });
  return out;
}

test("static files come from the generation's tree, blobs from blobs/, with sendfile and no compression", () => {
  const conf = renderNginxConfig(opts());
  assert.match(conf, /root "\/srv\/snaps\/trees\/7";/);
  assert.match(conf, /root "\/srv\/snaps\/blobs";/);
  assert.match(conf, /names generation 7/);
  assert.match(conf, /^\s*sendfile on;$/m);
  assert.match(conf, /^\s*gzip off;$/m);
  assert.match(conf, /^\s*types \{ \}$/m);
  assert.match(conf, /add_header Snap-Store-Version 60 always;/);
  assert.match(conf, /listen 8000;/);
  assert.match(conf, /server_name store.internal;/);
  assert.doesNotMatch(conf, /^\s*events/m, "an include has no main-context blocks");
});

test("only dynamic routes are proxied; every static location serves files with its route's exact content type", () => {
  const conf = renderNginxConfig(opts());
  const locs = locations(conf);
  for (const r of DYNAMIC_ROUTES) {
    const loc = locs.find((l) => l.head === `= "${r.pattern}"`);
    assert.ok(loc, `location = ${r.pattern}`);
    assert.match(loc.body, /proxy_pass http:\/\/snapshelf_shim;/);
  }
  const proxied = locs.filter((l) => l.body.includes("proxy_pass"));
  assert.equal(proxied.length, DYNAMIC_ROUTES.length + 1, "dynamic routes plus the @shim fallback");
  for (const l of locs.filter((x) => x.body.includes("try_files"))) assert.doesNotMatch(l.body, /proxy_pass/);
  for (const r of STATIC_ROUTES)
    assert.ok(conf.includes(`default_type "${r.contentType}";`), `${r.id}: ${r.contentType}`);
  assert.match(conf, /upstream snapshelf_shim \{\n\s+server 127.0.0.1:8001;/);
});

test("not-found answers are the routes' JSON bodies", () => {
  const conf = renderNginxConfig(opts());
  const nf = locations(conf).find((l) => l.head === "@snapshelf_nf_assertions");
  assert.ok(nf);
  assert.match(nf.body, /default_type "application\/problem\+json";/);
  assert.match(
    nf.body,
    /return 404 "\{\\"error-list\\":\[\{\\"code\\":\\"not-found\\",\\"message\\":\\"not found\\"\}\]\}";/,
  );
  const info = locations(conf).find((l) => l.head === "@snapshelf_nf_info");
  assert.ok(info);
  assert.match(info.body, /No snap named '\$\{snapshelf_c\d+\}' found in series '16'/);
  const dot = locations(conf)[0];
  assert.equal(dot?.head, '~ "(?:^|/)\\."', "dotfiles are refused before any other regex location");
});

test("TLS: listen ssl with the certificate and key", () => {
  const conf = renderNginxConfig(opts({ listen: "443", tls: { cert: "/etc/ssl/s.pem", key: "/etc/ssl/s.key" } }));
  assert.match(conf, /listen 443 ssl;/);
  assert.match(conf, /ssl_certificate "\/etc\/ssl\/s.pem";/);
  assert.match(conf, /ssl_certificate_key "\/etc\/ssl\/s.key";/);
  assert.match(conf, /ssl_protocols TLSv1.2 TLSv1.3;/);
});

test("a base URL path prefix moves every location below it and is stripped before the shim", () => {
  const conf = renderNginxConfig(opts({ pathPrefix: "/snaps" }));
  const locs = locations(conf);
  for (const l of locs.filter((x) => x.head.startsWith("~ ") && !x.head.includes("(?:^|/)"))) {
    assert.match(l.head, /^~ "\^\/snaps(?:\/|\(\?:\/)/, l.head);
  }
  const refresh = locs.find((l) => l.head === '= "/snaps/v2/snaps/refresh"');
  assert.ok(refresh);
  assert.match(refresh.body, /rewrite "\^\/snaps\(\/\.\*\)\$" \$1 break;/);
});

test("standalone: a complete nginx.conf with runtime files relative to the prefix", () => {
  const conf = renderNginxConfig(opts({ standalone: { user: "www-data" } }));
  assert.match(conf, /^user www-data;$/m);
  assert.match(conf, /^pid nginx.pid;$/m);
  assert.match(conf, /^events \{/m);
  assert.match(conf, /^http \{/m);
  assert.match(conf, /client_body_temp_path client_body_temp;/);
  assert.match(conf, /access_log access.log snapshelf;/);
  assert.equal((conf.match(/\{/g) ?? []).length, (conf.match(/\}/g) ?? []).length, "balanced braces");
});

test("assertions a client may need an older format of are deferred to the shim when max-format is sent", () => {
  const a: AssertionEntry = {
    type: "snap-declaration",
    primaryKey: ["16", "abcdefghijklmnopqrstuvwxyz012345"],
    revision: 2,
    format: 3,
    object: "a".repeat(96),
    headers: {},
  };
  const conf = renderNginxConfig(opts({ index: indexCatalogue({ snaps: [], assertions: [a], arches: ["amd64"] }) }));
  assert.match(conf, /"1\/v2\/assertions\/snap-declaration\/16\/abcdefghijklmnopqrstuvwxyz012345\/_.assert" 1;/);
  assert.match(conf, /if \(\$snapshelf_assertions_defer\) \{ return 418; \}/);
  assert.match(conf, /error_page 418 = @snapshelf_shim;/);
  assert.match(conf, /map_hash_bucket_size \d+;/);
  assert.doesNotMatch(renderNginxConfig(opts()), /return 418/, "nothing to defer, no deferral");
});

test("refuses what nginx cannot quote or parse", () => {
  const bad: Partial<NginxOptions>[] = [
    { storeDir: "/srv/$snaps" },
    { storeDir: "/srv/snaps\nroot /" },
    { listen: "localhost" },
    { listen: "127.0.0.1:70000" },
    { upstream: "https://127.0.0.1:8001" },
    { upstream: "http://127.0.0.1:8001/x" },
    { serverName: "a b" },
    { pathPrefix: "/a b" },
    { id: "Bad-Id" },
    { standalone: { user: "root; evil" } },
  ];
  for (const b of bad) {
    assert.throws(
      () => renderNginxConfig(opts(b)),
      (e: unknown) => e instanceof SnapshelfError && /^cannot generate nginx configuration: /.test(e.message),
      JSON.stringify(b),
    );
  }
});

test("quotes paths with spaces and quotes", () => {
  const conf = renderNginxConfig(opts({ storeDir: '/srv/my "snaps"' }));
  assert.ok(conf.includes('root "/srv/my \\"snaps\\"/trees/7";'));
});
