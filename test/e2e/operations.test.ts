/**
 * Operating the store (issue 4) end to end, through the CLI, with the real
 * snapd client (the probe) where a device is involved: overrides pin what a
 * refresh returns and deleting them restores the imported release; remove +
 * gc reclaim exactly the removed revisions' space and never what a retained
 * generation serves; retention; verify names each kind of damage; the audit
 * log records every change these tests make.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import {
  buildFixtureStore,
  committedCatalogue,
  committedManifest,
  makeFixtureStore,
} from "../support/fixture-store.js";
import {
  auditOps,
  cli,
  cliJson,
  cliRaw,
  copyStore,
  headOf,
  probeInstall,
  probeRefresh,
  waitForGeneration,
} from "../support/ops-e2e.js";
import { type Manifest, removeWorkDir, tmpWorkDir } from "../support/realclient.js";
import { serve } from "../support/snapshelf.js";
import { listTree } from "../support/tree-hash.js";

let work: string;
let base: string;
let m: Manifest;
let copies = 0;

before(async () => {
  work = await tmpWorkDir("operations");
  m = await committedManifest();
  base = join(work, "base");
  await buildFixtureStore(await makeFixtureStore(base));
});

after(async () => {
  await removeWorkDir(work);
});

async function freshStore(): Promise<{ store: string; logged: number }> {
  const store = await copyStore(base, join(work, `store-${++copies}`));
  return { store, logged: (await auditOps(store)).length };
}

/** The operations logged since `logged` entries. */
async function newOps(store: string, logged: number): Promise<string[]> {
  return (await auditOps(store)).slice(logged).map((e) => e.op);
}

function revisionOf(name: string, revision: number) {
  const r = m.snaps.find((s) => s.name === name)?.revisions.find((x) => x.revision === revision);
  assert.ok(r, `${name} revision ${revision} in the manifest`);
  return r;
}

const sha3 = (b: Buffer) => createHash("sha3-384").update(b).digest("hex");

async function objects(store: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const dir = join(store, "state", "assertions");
  for (const sub of await readdir(dir)) {
    for (const f of await readdir(join(dir, sub)))
      out.set(f.replace(/\.assert$/, ""), await readFile(join(dir, sub, f)));
  }
  return out;
}

test("an override pins what the real client's refresh returns; deleting it restores the imported release", async () => {
  const { store, logged } = await freshStore();
  const head = headOf(m, "hello-offline", "latest/stable"); // imported stable head on amd64
  const old = m.snaps
    .find((s) => s.name === "hello-offline")
    ?.channels.find((c) => c.channel === "latest/stable" && c.arch === "amd64")?.history[0];
  assert.ok(old !== undefined && old !== head, "stable@amd64 has an older release to pin");
  const srv = await serve(store);
  try {
    const url = srv.url ?? assert.fail("serve printed no URL");
    assert.equal(await probeRefresh(url, work, m, "hello-offline", old), head, "imported: refresh to the head");

    // pin stable to the older revision, as an operator pulling back a bad release
    const set = await cli(store, "override", "hello-offline", `stable=${old}`);
    assert.match(set.stdout, new RegExp(`hello-offline latest/stable now serves revision ${old} \\(amd64\\)`));
    const listed = await cliJson<{ channel: string; arch: string; revision: number; imported: number }[]>(
      store,
      "list-overrides",
    );
    assert.deepEqual(
      listed.map((o) => [o.channel, o.arch, o.revision, o.imported]),
      [["latest/stable", "amd64", old, head]],
    );
    await cli(store, "build");
    await waitForGeneration(url, 2);
    assert.equal(await probeRefresh(url, work, m, "hello-offline", head), old, "a device on the head gets the pin");
    assert.equal(await probeRefresh(url, work, m, "hello-offline", old), "no-update", "a device on the pin stays");
    assert.equal(await probeInstall(url, "hello-offline"), old, "install gets the pin");
    assert.equal(
      await probeInstall(url, "hello-offline", { arch: "arm64" }),
      headOf(m, "hello-offline", "latest/stable", "arm64"),
      "other architectures keep the imported release",
    );
    const detail = await cliJson<{
      channels: { channel: string; arch: string; revision: number; history: unknown[] }[];
    }>(store, "list", "hello-offline");
    const stable = detail.channels.find((c) => c.channel === "latest/stable" && c.arch === "amd64");
    assert.equal(stable?.revision, old);
    assert.equal(stable?.history.length, 2, "the imported history is kept");

    await cli(store, "delete-override", "hello-offline", "stable");
    await cli(store, "build");
    await waitForGeneration(url, 3);
    assert.equal(await probeRefresh(url, work, m, "hello-offline", old), head, "deleted: the imported head again");
    assert.deepEqual(
      [...(await listTree(join(store, "trees", "3")))],
      [...(await listTree(join(store, "trees", "1")))],
      "the tree after delete-override is byte-identical to the one before the override",
    );
  } finally {
    await srv.stop();
  }
  const ops = await auditOps(store);
  assert.deepEqual(
    ops.slice(logged).map((e) => e.op),
    ["override", "build", "delete-override", "build"],
  );
  assert.deepEqual(
    { name: ops[logged]?.["name"], channel: ops[logged]?.["channel"], revision: ops[logged]?.["revision"] },
    { name: "hello-offline", channel: "latest/stable", revision: old },
  );
  assert.ok(ops.every((e) => typeof e["time"] === "string" && typeof e["user"] === "string"));
});

test("remove + gc reclaim exactly the removed revisions' blobs and assertions; retained generations keep theirs", async () => {
  const { store, logged } = await freshStore();
  const blobs0 = (await readdir(join(store, "blobs"))).sort();
  const objects0 = await objects(store);
  const removed = [revisionOf("hello-offline", 3), revisionOf("tool-data", 1)];
  const removedBlobs = removed.map((r) => `${r["sha3-384"]}.snap`).sort();

  await cli(store, "remove", "hello-offline", "--revision", "3");
  const rm2 = await cli(store, "remove", "tool-data", "--force"); // tool-a names it as default provider
  assert.match(rm2.stdout, /removed tool-data revision 1/);
  const listed = await cliJson<{ name: string }[]>(store, "list");
  assert.ok(!listed.some((s) => s.name === "tool-data"));

  // generation 1 (in service) still serves the removed revisions: nothing of theirs may go
  const gc1 = await cliJson<{ blobs: unknown[]; generations: unknown[] }>(store, "gc");
  assert.deepEqual([gc1.blobs, gc1.generations], [[], []]);
  assert.deepEqual((await readdir(join(store, "blobs"))).sort(), blobs0);
  await cli(store, "build");
  const gc2 = await cliJson<{ blobs: unknown[]; keptGenerations: number[] }>(store, "gc");
  assert.deepEqual(gc2.blobs, [], "generation 1 is retained (default keep 5), so are its blobs");
  assert.deepEqual(gc2.keptGenerations, [1, 2]);

  // keep only the generation in service: a dry run first, which changes nothing
  const dry = await cliJson<{
    blobs: { path: string; bytes: number; what: string }[];
    generations: { path: string }[];
  }>(store, "gc", "--keep-generations", "0", "--grace", "0", "--dry-run");
  assert.deepEqual(
    dry.blobs.map((b) => b.path),
    removedBlobs.map((b) => `blobs/${b}`),
  );
  assert.deepEqual(
    dry.blobs.map((b) => b.bytes),
    removed.map((r) => r.size),
  );
  assert.deepEqual(
    dry.generations.map((g) => g.path),
    ["trees/1"],
  );
  assert.deepEqual((await readdir(join(store, "blobs"))).sort(), blobs0, "dry run deletes nothing");
  const text = await cli(store, "gc", "--keep-generations", "0", "--grace", "0", "--dry-run");
  assert.match(text.stdout, /would remove blobs\/[0-9a-f]{96}\.snap \(hello-offline revision 3, 20\.0 KiB\)/);

  await cli(store, "gc", "--keep-generations", "0", "--grace", "0");
  assert.deepEqual(
    (await readdir(join(store, "blobs"))).sort(),
    blobs0.filter((b) => !removedBlobs.includes(b)),
    "exactly the removed revisions' blobs are gone",
  );
  const objects1 = await objects(store);
  const goneObjects = [...objects0.keys()].filter((o) => !objects1.has(o));
  assert.deepEqual(
    goneObjects
      .map(
        (o) =>
          objects0
            .get(o)
            ?.toString("utf8")
            .match(/^snap-sha3-384: (.*)$/m)?.[1],
      )
      .sort(),
    removed.map((r) => digestHexToBase64Url(r["sha3-384"])).sort(),
    "exactly their snap-revision assertions are gone",
  );
  for (const [o, bytes] of objects1) assert.equal(sha3(bytes), o);
  assert.deepEqual(
    (await readdir(join(store, "trees"))).filter((n) => n !== ".shared"),
    ["2"],
  );
  await cli(store, "verify");

  const srv = await serve(store);
  try {
    const url = srv.url ?? assert.fail("serve printed no URL");
    assert.equal(
      await probeInstall(url, "hello-offline", { channel: "edge" }),
      headOf(m, "hello-offline", "latest/edge"),
    );
    assert.equal(
      await probeInstall(url, "hello-offline", { channel: "candidate" }),
      headOf(m, "hello-offline", "latest/stable"),
      "candidate lost its only release: falls back to stable",
    );
    assert.equal(await probeInstall(url, "tool-data"), "not-found");
  } finally {
    await srv.stop();
  }
  assert.deepEqual(await newOps(store, logged), ["remove", "remove", "gc", "build", "gc", "gc"]);
});

test("retention keeps the last N revisions per channel and arch, by gc and at import", async () => {
  const { store, logged } = await freshStore();
  await cli(store, "retention", "1");
  // keep 1: every revision that is not a channel head somewhere goes (never-released ones stay)
  const heads = new Set(m.snaps.flatMap((s) => s.channels.map((c) => `${s.name}=${c.revision}`)));
  const released = new Set(m.snaps.flatMap((s) => s.channels.flatMap((c) => c.history.map((r) => `${s.name}=${r}`))));
  const expected = [...released].filter((k) => !heads.has(k)).sort();
  assert.ok(expected.length >= 3, `the fixture has superseded releases: ${expected.join(" ")}`);
  const dry = await cliJson<{ revisions: { name: string; revision: number }[] }>(store, "gc", "--dry-run");
  assert.deepEqual(dry.revisions.map((r) => `${r.name}=${r.revision}`).sort(), expected);
  await cli(store, "gc");
  const left = await cliJson<{ name: string; revisions: { revision: number }[] }[]>(store, "list");
  const have = new Set(left.flatMap((s) => s.revisions.map((r) => `${s.name}=${r.revision}`)));
  for (const k of expected) assert.ok(!have.has(k), `${k} dropped`);
  for (const k of heads) assert.ok(have.has(k), `${k} kept`);

  // at import: re-importing and releasing a dropped revision drops the one it supersedes
  await cli(store, "retention", "1", "--on-import");
  const stableHead = headOf(m, "hello-offline", "latest/stable");
  const prior = revisionOf("hello-offline", stableHead);
  await cli(store, "remove", "hello-offline", "--revision", String(stableHead));
  const before = await cliJson<{ channels: { channel: string; arch: string; revision: number }[] }>(
    store,
    "list",
    "hello-offline",
  );
  // after remove the stable@amd64 channel is empty (its older release was dropped by retention)
  assert.ok(!before.channels.some((c) => c.channel === "latest/stable" && c.arch === "amd64"));
  const fx = committedCatalogue();
  await cli(store, "import", "--assert", join(fx, prior["snap-revision"]), "--release", "edge", join(fx, prior.file));
  const after = await cliJson<{ revisions: { revision: number }[] }>(store, "list", "hello-offline");
  const edgeHead = headOf(m, "hello-offline", "latest/edge");
  assert.ok(
    after.revisions.some((r) => r.revision === stableHead),
    "imported",
  );
  assert.ok(
    !after.revisions.some((r) => r.revision === edgeHead),
    `edge's previous head r${edgeHead} dropped at import`,
  );
  const ops = await auditOps(store);
  assert.deepEqual(
    ops.slice(logged).map((e) => e.op),
    ["retention", "gc", "retention", "remove", "import"],
  );
  assert.deepEqual(ops.at(-1)?.["retention"], [`hello-offline=${edgeHead}`]);
});

test("verify names a flipped byte in a blob, truncated assertion files and a missing response file", async () => {
  const { store, logged } = await freshStore();
  const ok = await cli(store, "verify");
  assert.match(ok.stdout, /no problems found/);

  // a flipped byte in the blob of hello-offline's stable head
  const blob = join(
    store,
    "blobs",
    `${revisionOf("hello-offline", headOf(m, "hello-offline", "latest/stable"))["sha3-384"]}.snap`,
  );
  const bytes = await readFile(blob);
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
  await writeFile(blob, bytes);
  // a truncated stored assertion: the publisher's account
  const all = await objects(store);
  const account = [...all].find(
    ([, b]) =>
      b.toString("utf8").startsWith("type: account\n") && b.includes(`account-id: ${m.publisher["account-id"]}\n`),
  );
  assert.ok(account, "publisher account object");
  const accountFile = `state/assertions/${account[0].slice(0, 2)}/${account[0]}.assert`;
  await truncate(join(store, accountFile), 100);
  // a truncated assertion file (shared by every generation) and a missing response file in the tree in service
  const tree = await listTree(join(store, "trees", "1"));
  const shared = await listTree(join(store, "trees", ".shared"));
  const treeAssertion = [...shared.keys()].find(
    (k) => k.startsWith("v2/assertions/snap-declaration/") && k.endsWith("/_.assert"),
  );
  assert.ok(treeAssertion);
  await truncate(join(store, "trees", ".shared", treeAssertion), 10);
  const info = "v2/snaps/info/hello-offline.amd64.json";
  assert.ok(tree.has(info));
  await rm(join(store, "trees", "1", info));

  const res = await cliRaw(store, "verify", "--json");
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /error: cannot verify .*: \d+ problems found/);
  const report = JSON.parse(res.stdout) as { problems: { file: string; reason: string }[] };
  const byFile = new Map(report.problems.map((p) => [p.file, p.reason]));
  const blobRel = `blobs/${blob.split("/").pop()}`;
  assert.match(byFile.get(blobRel) ?? "", /sha3-384 is [0-9a-f]{96}, expected .*hello-offline revision/);
  assert.match(byFile.get(accountFile) ?? "", /damaged: content \(100 bytes\) does not match its sha3-384 name/);
  assert.match(byFile.get(`trees/.shared/${treeAssertion}`) ?? "", /differs from assertion object/);
  assert.match(byFile.get(`trees/1/${info}`) ?? "", /missing: the catalogue renders it/);
  // anything else reported is an assertion whose chain needed the damaged account
  for (const p of report.problems) {
    if ([blobRel, accountFile, `trees/.shared/${treeAssertion}`, `trees/1/${info}`].includes(p.file)) continue;
    assert.match(p.file, /^state\/assertions\//, `${p.file}: ${p.reason}`);
    assert.match(p.reason, /^cannot verify /, `${p.file}: ${p.reason}`);
  }
  // the text form: one `FILE: REASON` line per problem
  const textRes = await cliRaw(store, "verify");
  assert.equal(textRes.code, 1);
  for (const p of report.problems) assert.ok(textRes.stdout.includes(`${p.file}: ${p.reason}`), p.file);
  const status = await cli(store, "status");
  assert.match(status.stdout, /in service: {3}generation 1/);
  assert.deepEqual(await newOps(store, logged), [], "verify and status change nothing");
});

test("status, generations and log describe the store", async () => {
  const { store } = await freshStore();
  await cli(store, "build");
  const st = await cliJson<{
    generation: number;
    counts: { snaps: number; revisions: number; generations: number };
    trustedRoots: { account: string; builtIn: boolean }[];
    lastImport?: { time: string };
    problems: string[];
    buildPending: boolean;
  }>(store, "status");
  assert.equal(st.generation, 2);
  assert.deepEqual(st.counts.snaps, m.snaps.length);
  assert.deepEqual(
    st.counts.revisions,
    m.snaps.reduce((n, s) => n + s.revisions.length, 0),
  );
  assert.equal(st.counts.generations, 2);
  assert.deepEqual(
    st.trustedRoots.map((r) => [r.account, r.builtIn]),
    [
      ["canonical", true],
      [m["authority-id"], false],
    ],
  );
  assert.ok(st.lastImport);
  assert.deepEqual(st.problems, []);
  assert.equal(st.buildPending, false);
  const gens = await cliJson<{ generation: number; current: boolean; snaps: number }[]>(store, "generations");
  assert.deepEqual(
    gens.map((g) => [g.generation, g.current, g.snaps]),
    [
      [1, false, m.snaps.length],
      [2, true, m.snaps.length],
    ],
  );
  const builds = await cliJson<{ op: string }[]>(store, "log", "--op", "build");
  assert.deepEqual(
    builds.map((e) => e.op),
    ["build", "build"],
  );
  const recent = await cliJson<{ op: string }[]>(store, "log", "--since", "2000-01-01");
  assert.equal(recent.length, (await auditOps(store)).length);
  const none = await cliJson<unknown[]>(store, "log", "--since", "2999-01-01");
  assert.deepEqual(none, []);
  const bad = await cliRaw(store, "log", "--since", "yesterday");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: cannot use --since "yesterday": /);
});
