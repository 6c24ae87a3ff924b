/**
 * Offline search with snapd's real clients: the probe's `find` (snapd's store
 * package: v2 find, narrow scope, exact content type check), the v1 fallback
 * shape, and `snap find` / `snap info` through the real snapd daemon (root
 * only: it runs in a private mount namespace, as check.sh's daemon scenarios).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { canRunDaemon, runDaemonSteps } from "../support/daemon.js";
import { fixtureStore } from "../support/fixture-work.js";
import { hostArch, type Manifest, removeWorkDir, runProbe, type StartedProcess } from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let manifest: Manifest;
let store: string;
let server: StartedProcess | undefined;

before(async () => {
  ({ work, manifest, store } = await fixtureStore("find"));
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
});

after(async () => {
  await server?.stop();
  await removeWorkDir(work);
});

async function probeFind(q: string): Promise<string[]> {
  assert.ok(server?.url);
  const out = await runProbe(server.url, ["-arch", hostArch(), "find", q]);
  assert.equal(out["ok"], true, JSON.stringify(out));
  return out["names"] as string[];
}

test("probe find (snapd's store client): ranked results, exact name first", async () => {
  const hello = await probeFind("hello");
  assert.equal(hello[0], "hello-offline");
  assert.deepEqual(
    await probeFind("hello offline"),
    ["hello-offline"],
    "snaps matching every word, not just `offline`",
  );
  const tools = await probeFind("tool");
  assert.deepEqual(tools.slice(0, 2).sort(), ["tool-a", "tool-data"]);
  const all = await probeFind("");
  assert.deepEqual(
    [...all].sort(),
    manifest.snaps.map((s) => s.name).sort(),
    "no query: every snap with a stable release",
  );
  const none = await runProbe(server?.url ?? "", ["-arch", hostArch(), "find", "zzzz-nothing"]);
  assert.deepEqual(none["names"], []);
});

test("find over HTTP: name prefix, fields, exact content types, v1 fallback", async () => {
  assert.ok(server?.url);
  const res = await fetch(
    `${server.url}/v2/snaps/find?name=tool*&fields=title,version,channel&architecture=${hostArch()}`,
  );
  assert.equal(res.headers.get("content-type"), "application/json");
  const body = (await res.json()) as { results: { name: string; snap: object; revision: object }[] };
  assert.deepEqual(
    body.results.map((r) => r.name),
    ["tool-a", "tool-data"],
  );
  assert.deepEqual(Object.keys(body.results[0]?.revision ?? {}).sort(), ["channel", "version"]);
  const v1 = await fetch(`${server.url}/api/v1/snaps/search?q=hello&scope=wide`, {
    headers: { "X-Ubuntu-Architecture": hostArch() },
  });
  assert.equal(v1.headers.get("content-type"), "application/hal+json");
  const pkgs = ((await v1.json()) as { _embedded: { "clickindex:package": { package_name: string }[] } })._embedded[
    "clickindex:package"
  ];
  assert.equal(pkgs[0]?.package_name, "hello-offline");
  const long = await fetch(`${server.url}/v2/snaps/find?q=${"x".repeat(500)}`);
  assert.equal(long.status, 400);
  assert.equal(long.headers.get("content-type"), "application/json");
});

/** The output of step `snap ARGS` in in-namespace.sh's log, and its exit status. */
function stepOutput(log: string, args: string): { out: string; rc: string } {
  const start = log.indexOf(`+ snap ${args}\n`);
  assert.ok(start >= 0, `step "snap ${args}" ran:\n${log.slice(-2000)}`);
  const rest = log.slice(start + `+ snap ${args}\n`.length);
  const m = /^ {2}rc=(\d+)$/m.exec(rest);
  assert.ok(m, `step "snap ${args}" finished`);
  return { out: rest.slice(0, m.index), rc: m[1] ?? "" };
}

test("snap find and snap info through the real snapd daemon", { timeout: 300_000 }, async (t) => {
  if (!(await canRunDaemon())) {
    t.skip("needs root, unshare and snapd-testkeys (make realclient)");
    return;
  }
  assert.ok(server?.url);
  const { log } = await runDaemonSteps(join(work, "daemon"), server.url, [
    "find hello",
    "find tool",
    "find",
    "find zzzz-nothing",
    "info hello-offline",
  ]);
  const hello = stepOutput(log, "find hello");
  assert.equal(hello.rc, "0", hello.out);
  // the daemon runs with SNAPD_DEBUG=1, which the client echoes: keep the table only
  const rows = hello.out.split("\n").filter((l) => l !== "" && !/^\d{4}\/\d\d\/\d\d \S+ \S+: DEBUG: /.test(l));
  assert.match(rows[0] ?? "", /^Name\s+Version\s+Publisher\s+Notes\s+Summary/);
  assert.match(rows[1] ?? "", /^hello-offline\s/, "exact-ish name first");
  const tool = stepOutput(log, "find tool");
  assert.match(tool.out, /^tool-a\s/m);
  assert.match(tool.out, /^tool-data\s/m);
  const featured = stepOutput(log, "find");
  for (const s of manifest.snaps)
    assert.match(featured.out, new RegExp(`^${s.name}\\s`, "m"), `featured lists ${s.name}`);
  assert.match(stepOutput(log, "find zzzz-nothing").out, /No matching snaps/);
  const info = stepOutput(log, "info hello-offline");
  assert.equal(info.rc, "0", info.out);
  assert.match(info.out, /^channels:/m);
  assert.match(info.out, /latest\/stable:/);
});
