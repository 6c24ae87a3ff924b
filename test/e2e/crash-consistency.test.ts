/**
 * Crash consistency: `snapshelf import` and `snapshelf build` are SIGKILLed at
 * fault points (src/util/fault.ts) spread over the whole change, one run per
 * point. After every kill:
 *
 * - the store directory is consistent (every record names objects that exist
 *   with the right bytes, `current` names a complete tree; `snapshelf verify`
 *   too when it exists);
 * - a server answers exactly the old state or exactly the new one (the
 *   answers to installs on two architectures and two channels), every
 *   download URL and assertion it names answers 200 with the right bytes, and
 *   snapd's own client (the probe) refreshes and verifies every result;
 * - the next change recovers: re-running the interrupted change completes it
 *   and the store then serves exactly the new state.
 *
 * The points are found by a traced run (SNAPSHELF_FAULT_TRACE=1), then each
 * kill uses `SNAPSHELF_FAULT=*:<n>` ("the n-th point reached").
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, test } from "node:test";
import { buildStore } from "../../src/build/build.js";
import { importInputs } from "../../src/ops/import.js";
import { type RunningServer, startServer } from "../../src/serve/server.js";
import { storeLayout } from "../../src/store/layout.js";
import { releaseRevision, setDefaultTrack } from "../../src/store/release.js";
import {
  type Manifest,
  makeFixtures,
  probeRefreshAll,
  type RunResult,
  repoRoot,
  runCommand,
  tmpWorkDir,
} from "../support/realclient.js";
import { cliPath, releaseOrder, snapshelfRaw } from "../support/snapshelf.js";
import { checkStoreConsistency, type Observation, observeStore } from "../support/store-check.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let names: string[];
/** The store before the change (built: generation 1). */
let base: string;
/** The store after the import, not yet built (the input of the build kills). */
let imported: string;
let oldState: Observation;
let newState: Observation;
let importArgs: string[];
/** The same import as `importArgs`, for importInputs. */
let redo: { paths: string[]; asserts: string[] };
let installedFile: string;

/** The change: a new snap (tool-data r1) and a new revision (hello-offline r8), released to latest/edge. */
const DELTA = [
  { name: "tool-data", revision: 1 },
  { name: "hello-offline", revision: 8 },
];
const isDelta = (name: string, revision: number): boolean =>
  DELTA.some((d) => d.name === name && d.revision === revision);

/** How many kills of each kind (the points are spread evenly over the traced run). */
const IMPORT_KILLS = 30;
const BUILD_KILLS = 30;

async function withServer<T>(dir: string, fn: (s: RunningServer) => Promise<T>): Promise<T> {
  const s = await startServer(storeLayout(dir), { host: "127.0.0.1", port: 0 });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runCommand(process.execPath, [cliPath(), ...args], { env, timeoutMs: 60_000 });
}

/** The fault points of a run, in order, from SNAPSHELF_FAULT_TRACE output. */
function tracedPoints(res: RunResult): string[] {
  return res.stderr
    .split("\n")
    .filter((l) => l.startsWith("fault-point "))
    .map((l) => l.slice("fault-point ".length));
}

/** `count` indices in 1..total, evenly spread, always including the first and the last. */
function spread(total: number, count: number): number[] {
  if (total <= count) return Array.from({ length: total }, (_, i) => i + 1);
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(1 + Math.round((i * (total - 1)) / (count - 1)));
  return [...out];
}

async function verifyCli(dir: string): Promise<void> {
  // `snapshelf verify` is another change in flight: use it once it exists
  if (!existsSync(join(repoRoot(), "dist", "src", "cli", "verify.js"))) return;
  const r = await snapshelfRaw(["verify", "--dir", dir]);
  assert.equal(r.code, 0, `snapshelf verify failed:\n${r.stdout}${r.stderr}`);
}

/** snapd's client refreshes everything installed and verifies every blob and its assertions. */
async function refreshAllVerified(url: string, dir: string): Promise<void> {
  const out = await probeRefreshAll(url, installedFile, dir);
  assert.equal(out["ok"], true, `probe refresh-all: ${JSON.stringify(out)}`);
}

function assertOldOrNew(obs: Observation, when: string): "old" | "new" {
  assert.deepEqual(obs.problems, [], `${when}: broken answers`);
  if (obs.fingerprint === oldState.fingerprint) return "old";
  assert.equal(obs.fingerprint, newState.fingerprint, `${when}: neither the old nor the new state`);
  return "new";
}

before(async () => {
  work = await tmpWorkDir("crash");
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  names = manifest.snaps.map((s) => s.name);
  const deltaSnaps = DELTA.map((d) => {
    const snap = manifest.snaps.find((s) => s.name === d.name);
    const rev = snap?.revisions.find((r) => r.revision === d.revision);
    if (!snap || !rev) throw new Error(`fixture catalogue lacks ${d.name} r${d.revision}`);
    return { snap, rev };
  });
  const deltaAsserts = new Set([
    ...deltaSnaps
      .filter((d) => d.snap.revisions.every((r) => isDelta(d.snap.name, r.revision)))
      .map((d) => d.snap["snap-declaration"]),
    ...deltaSnaps.map((d) => d.rev["snap-revision"]),
  ]);

  // the old state: everything but the delta, built
  base = join(work, "base");
  const layout = storeLayout(base);
  const assertFiles = (await readdir(join(fixtures, manifest["assert-dir"])))
    .map((f) => `${manifest["assert-dir"]}/${f}`)
    .filter((f) => !deltaAsserts.has(f))
    .map((f) => join(fixtures, f));
  const roots = [manifest.assertions["root-account"], manifest.assertions["root-account-key"]].filter(
    (x): x is string => x !== undefined,
  );
  await importInputs(layout, assertFiles, { trustedRoots: roots.map((r) => join(fixtures, r)) });
  const blobs = manifest.snaps.flatMap((s) =>
    s.revisions.filter((r) => !isDelta(s.name, r.revision)).map((r) => join(fixtures, r.file)),
  );
  await importInputs(layout, blobs);
  for (const e of releaseOrder(manifest)) {
    if (isDelta(e.name, e.revision)) continue;
    await releaseRevision(layout, e.name, e.revision, [e.channel], { arch: e.arch });
  }
  for (const s of manifest.snaps) if (s["default-track"]) await setDefaultTrack(layout, s.name, s["default-track"]);
  await buildStore(layout);

  importArgs = [
    "import",
    "--release",
    "latest/edge",
    ...[...deltaAsserts].flatMap((a) => ["--assert", join(fixtures, a)]),
    ...deltaSnaps.map((d) => join(fixtures, d.rev.file)),
  ];
  redo = {
    paths: deltaSnaps.map((d) => join(fixtures, d.rev.file)),
    asserts: [...deltaAsserts].map((a) => join(fixtures, a)),
  };
  imported = join(work, "imported");
  await cp(base, imported, { recursive: true });
  const r = await runCli([...importArgs, "--dir", imported]);
  assert.equal(r.code, 0, r.stderr);
  const built = join(work, "built");
  await cp(imported, built, { recursive: true });
  await buildStore(storeLayout(built));

  oldState = await withServer(base, (s) => observeStore(s.url, names));
  newState = await withServer(built, (s) => observeStore(s.url, names));
  assert.deepEqual(oldState.problems, []);
  assert.deepEqual(newState.problems, []);
  assert.notEqual(oldState.fingerprint, newState.fingerprint, "the change is visible to devices");

  // what a device has installed: the first revision of every snap on amd64 (tool-data too: unknown before)
  installedFile = join(work, "installed.json");
  await writeFile(
    installedFile,
    JSON.stringify(
      manifest.snaps.map((s) => {
        const rev = s.revisions.find((x) => x.architectures.includes("amd64") || x.architectures.includes("all"));
        return {
          name: s.name,
          "snap-id": s["snap-id"],
          revision: rev?.revision ?? 1,
          channel: "latest/edge",
          epoch: rev?.epoch ?? "0",
        };
      }),
    ),
  );
});

test("import killed at every stage leaves a consistent store, serving old or new, and recovers", {
  // 30 kills of 4-5 s each on a loaded two-CPU machine; every change now also passes the lock's points
  timeout: 300_000,
}, async (t) => {
  const trace = await (async () => {
    const dir = join(work, "trace-import");
    await cp(base, dir, { recursive: true });
    const r = await runCli([...importArgs, "--dir", dir], { SNAPSHELF_FAULT_TRACE: "1" });
    assert.equal(r.code, 0, r.stderr);
    await rm(dir, { recursive: true, force: true });
    return tracedPoints(r);
  })();
  t.diagnostic(
    `import passes ${trace.length} fault points: ${[...new Set(trace.map((p) => p.split(" ")[0]))].join(", ")}`,
  );
  assert.ok(trace.length >= 10, "import has fault points");
  let states = { old: 0, new: 0 };
  const kills = spread(trace.length, IMPORT_KILLS);
  for (const n of kills) {
    await t.test(`kill at ${n}: ${trace[n - 1]}`, async () => {
      const dir = join(work, `import-kill-${n}`);
      await cp(base, dir, { recursive: true });
      const r = await runCli([...importArgs, "--dir", dir], { SNAPSHELF_FAULT: `*:${n}` });
      assert.equal(r.signal, "SIGKILL", `the import was killed (exit ${r.code}): ${r.stderr}`);
      assert.deepEqual(await checkStoreConsistency(dir), []);
      await verifyCli(dir);
      await withServer(dir, async (s) => {
        // import never touches what is served
        assert.equal(assertOldOrNew(await observeStore(s.url, names), "after the kill"), "old");
        // the next build takes over the dead lock and renders whatever was committed
        await buildStore(storeLayout(dir));
        s.reload();
        const state = assertOldOrNew(await observeStore(s.url, names), "after a build");
        states = { ...states, [state]: states[state] + 1 };
        await refreshAllVerified(s.url, join(dir, "probe"));
        // re-running the interrupted import (in-process: the same use-case the CLI calls) completes it
        await importInputs(storeLayout(dir), redo.paths, { asserts: redo.asserts, release: ["latest/edge"] });
        await buildStore(storeLayout(dir));
        s.reload();
        assert.equal(assertOldOrNew(await observeStore(s.url, names), "after recovery"), "new");
      });
      assert.deepEqual(await checkStoreConsistency(dir), []);
      await rm(dir, { recursive: true, force: true });
    });
  }
  t.diagnostic(`after a build following the kill: ${states.old} runs served the old state, ${states.new} the new`);
  assert.ok(states.old > 0 && states.new > 0, "kills landed both before and after the commit point");
});

test("build killed at every stage never puts a partial tree in service, and recovers", {
  timeout: 150_000,
}, async (t) => {
  const trace = await (async () => {
    const dir = join(work, "trace-build");
    await cp(imported, dir, { recursive: true });
    const r = await runCli(["build", "--dir", dir], { SNAPSHELF_FAULT_TRACE: "1" });
    assert.equal(r.code, 0, r.stderr);
    await rm(dir, { recursive: true, force: true });
    return tracedPoints(r);
  })();
  t.diagnostic(`build passes ${trace.length} fault points`);
  // every distinct point, plus tree files spread over the build
  const distinct = new Set<number>();
  trace.forEach((p, i) => {
    if (!p.startsWith("build:tree-file")) distinct.add(i + 1);
  });
  for (const n of spread(trace.length, BUILD_KILLS - distinct.size)) distinct.add(n);
  let states = { old: 0, new: 0 };
  for (const n of [...distinct].sort((a, b) => a - b)) {
    await t.test(`kill at ${n}: ${trace[n - 1]}`, async () => {
      const dir = join(work, `build-kill-${n}`);
      await cp(imported, dir, { recursive: true });
      await withServer(dir, async (s) => {
        assert.equal(assertOldOrNew(await observeStore(s.url, names), "before"), "old");
        const r = await runCli(["build", "--dir", dir], { SNAPSHELF_FAULT: `*:${n}` });
        assert.equal(r.signal, "SIGKILL", `the build was killed (exit ${r.code}): ${r.stderr}`);
        assert.deepEqual(await checkStoreConsistency(dir), []);
        await verifyCli(dir);
        // the running server keeps serving (it may already follow `current`); reloaded (SIGHUP)
        // it serves whatever `current` names
        // (it may switch between two of the questions: each answer must be old or new on its own)
        const during = await observeStore(s.url, names);
        assert.deepEqual(during.problems, [], "after the kill: broken answers");
        const known = new Set([...oldState.fingerprint.split("\n"), ...newState.fingerprint.split("\n")]);
        for (const line of during.fingerprint.split("\n")) assert.ok(known.has(line), `after the kill: ${line}`);
        s.reload();
        const state = assertOldOrNew(await observeStore(s.url, names), "after a reload");
        states = { ...states, [state]: states[state] + 1 };
        await withServer(dir, async (fresh) => {
          assert.equal(assertOldOrNew(await observeStore(fresh.url, names), "a fresh server"), state);
          await refreshAllVerified(fresh.url, join(dir, "probe"));
        });
        // the next build cleans up and puts the new state in service
        await buildStore(storeLayout(dir));
        s.reload();
        assert.equal(assertOldOrNew(await observeStore(s.url, names), "after recovery"), "new");
      });
      assert.deepEqual(await checkStoreConsistency(dir), []);
      await rm(dir, { recursive: true, force: true });
    });
  }
  t.diagnostic(`after the kill: ${states.old} runs served the old state, ${states.new} the new`);
  assert.ok(states.old > 0 && states.new > 0, "kills landed both before and after the switch");
});
