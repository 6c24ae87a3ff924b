/**
 * Generations under a running server: rollback restores exactly the previous
 * answers (the real client's refresh and install, every static response) and
 * tree files; and a server hammered with snapd-shaped refresh requests and
 * blob downloads while builds, rollbacks and gc switch generations answers
 * every request, consistently per generation, and never hands out a URL that
 * 404s. The server follows `current` by itself (no SIGHUP).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildFixtureStore, committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import {
  auditOps,
  cli,
  headOf,
  probeInstall,
  probeRefresh,
  servedGeneration,
  waitForGeneration,
} from "../support/ops-e2e.js";
import { type Manifest, removeWorkDir, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { refreshAllBody, snapdHeaders } from "../support/snapd-request.js";
import { serve } from "../support/snapshelf.js";
import { listTree } from "../support/tree-hash.js";

let work: string;
let store: string;
let m: Manifest;
let srv: StartedProcess;
let url: string;

before(async () => {
  work = await tmpWorkDir("operations-generations");
  m = await committedManifest();
  store = join(work, "store");
  await buildFixtureStore(await makeFixtureStore(store));
  srv = await serve(store);
  url = srv.url ?? assert.fail("serve printed no URL");
});

after(async () => {
  await srv?.stop();
  await removeWorkDir(work);
});

const snapId = (name: string): string => m.snaps.find((s) => s.name === name)?.["snap-id"] ?? assert.fail(name);
const oldest = (name: string, channel: string, arch = "amd64"): number =>
  m.snaps.find((s) => s.name === name)?.channels.find((c) => c.channel === channel && c.arch === arch)?.history[0] ??
  assert.fail(`${name} ${channel}@${arch}`);

/** Everything a device can observe: the real client's answers and the bytes of every static response. */
async function observe(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  out["refresh hello-offline"] = await probeRefresh(
    url,
    work,
    m,
    "hello-offline",
    oldest("hello-offline", "latest/stable"),
  );
  out["refresh tool-a"] = await probeRefresh(url, work, m, "tool-a", 1, { arch: "arm64" });
  out["install hello-offline amd64"] = await probeInstall(url, "hello-offline");
  out["install hello-offline arm64"] = await probeInstall(url, "hello-offline", { arch: "arm64" });
  out["install tool-a"] = await probeInstall(url, "tool-a");
  const gets = [
    "/api/v1/snaps/sections",
    "/api/v1/snaps/names",
    "/v2/snaps/categories",
    ...m.snaps.flatMap((s) => [`/v2/assertions/snap-declaration/16/${s["snap-id"]}`]),
  ];
  for (const s of m.snaps) for (const a of ["amd64", "arm64"]) gets.push(`/v2/snaps/info/${s.name}?architecture=${a}`);
  for (const g of gets) {
    const res = await fetch(url + g, { headers: snapdHeaders("amd64"), signal: AbortSignal.timeout(10_000) });
    const body = Buffer.from(await res.arrayBuffer());
    out[g] = `${res.status} ${createHash("sha256").update(body).digest("hex")}`;
  }
  return out;
}

test("rollback restores exactly the previous refresh answers, responses and tree files", async () => {
  const logged = (await auditOps(store)).length;
  const answers1 = await observe();
  const files1 = await listTree(join(store, "trees", "1"));
  assert.equal(answers1["refresh hello-offline"], headOf(m, "hello-offline", "latest/stable"));

  const pin = oldest("hello-offline", "latest/stable");
  await cli(store, "override", "hello-offline", `stable=${pin}`);
  await cli(store, "override", "tool-a", "stable=2");
  await cli(store, "build");
  await waitForGeneration(url, 2);
  const answers2 = await observe();
  assert.equal(answers2["install hello-offline amd64"], pin);
  assert.equal(answers2["install tool-a"], 2);
  assert.notDeepEqual(answers2, answers1);

  const rb = await cli(store, "rollback");
  assert.match(rb.stdout, /^generation 1 in service \(was 2\)$/m);
  await waitForGeneration(url, 1);
  assert.deepEqual(await observe(), answers1, "generation 1 answers exactly as before");
  assert.deepEqual([...(await listTree(join(store, "trees", "1")))], [...files1], "its files are untouched");

  await cli(store, "rollback", "2");
  await waitForGeneration(url, 2);
  assert.deepEqual(await observe(), answers2, "and forward again");

  const refused = await cli(store, "generations", "--json");
  const gens = JSON.parse(refused.stdout) as { generation: number; current: boolean }[];
  assert.deepEqual(
    gens.map((g) => [g.generation, g.current]),
    [
      [1, false],
      [2, true],
    ],
  );
  const ops = (await auditOps(store)).slice(logged);
  assert.deepEqual(
    ops.map((e) => e.op),
    ["override", "override", "build", "rollback", "rollback"],
  );
  assert.deepEqual(
    ops.slice(3).map((e) => [e["from"], e["to"]]),
    [
      [2, 1],
      [1, 2],
    ],
  );
});

interface Result {
  name?: string;
  snap?: { name: string; revision: number; download: { url: string; size: number } };
  error?: { code: string };
}

test("under load, generations switching by build, rollback and gc never cause an error or a 404", async (t) => {
  const logged = (await auditOps(store)).length;
  // what each kind of request answers in each state of the records; generation -> state
  const stateOf = new Map<number, "pinned" | "imported">([
    [1, "imported"],
    [2, "pinned"],
  ]);
  const current = await servedGeneration(url);
  assert.equal(current, 2);

  const installed = [
    { snapId: snapId("hello-offline"), revision: oldest("hello-offline", "latest/stable") },
    { snapId: snapId("tool-a"), revision: 1 },
    { snapId: snapId("core22"), revision: headOf(m, "core22", "latest/stable") },
  ];
  const kinds = [
    { kind: "refresh-all amd64", arch: "amd64", body: refreshAllBody(installed) },
    {
      kind: "install arm64",
      arch: "arm64",
      body: JSON.stringify({
        context: [],
        actions: ["hello-offline", "tool-a"].map((name, i) => ({
          action: "install",
          "instance-key": `i${i}`,
          name,
          channel: "stable",
        })),
        fields: ["download", "revision", "snap-id", "name"],
      }),
    },
  ] as const;

  let done = false;
  const errors: string[] = [];
  const notFound: string[] = [];
  /** generation -> kind -> distinct answers */
  const seen = new Map<number, Map<string, Set<string>>>();
  let requests = 0;
  const record = (gen: number, kind: string, answer: string) => {
    const byKind = seen.get(gen) ?? new Map<string, Set<string>>();
    const set = byKind.get(kind) ?? new Set<string>();
    set.add(answer);
    byKind.set(kind, set);
    seen.set(gen, byKind);
  };
  const get = async (u: string, headers: Record<string, string> = {}) => {
    requests++;
    const res = await fetch(u, { headers, signal: AbortSignal.timeout(20_000) });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body, gen: Number(res.headers.get("snapshelf-generation")) };
  };

  const worker = async (w: number) => {
    for (let i = 0; i < 50_000 && !done; i++) {
      const k = kinds[(i + w) % kinds.length] ?? kinds[0];
      try {
        requests++;
        const res = await fetch(`${url}/v2/snaps/refresh`, {
          method: "POST",
          headers: snapdHeaders(k.arch),
          body: k.body,
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        const gen = Number(res.headers.get("snapshelf-generation"));
        if (res.status !== 200) {
          errors.push(`${k.kind}: status ${res.status} ${text.slice(0, 200)}`);
          continue;
        }
        const results = (JSON.parse(text) as { results: Result[] }).results;
        record(
          gen,
          k.kind,
          results
            .map((r) => `${r.snap?.name ?? r.name}=${r.snap?.revision ?? r.error?.code}`)
            .sort()
            .join(" "),
        );
        for (const r of results) {
          if (!r.snap) continue;
          const b = await get(r.snap.download.url);
          if (b.status === 404) notFound.push(r.snap.download.url);
          else if (b.status !== 200 || b.body.length !== r.snap.download.size) {
            errors.push(`${r.snap.download.url}: status ${b.status}, ${b.body.length} bytes`);
          }
        }
        const info = await get(`${url}/v2/snaps/info/hello-offline?architecture=${k.arch}`, snapdHeaders(k.arch));
        if (info.status !== 200) errors.push(`info: status ${info.status}`);
        else record(info.gen, `info ${k.arch}`, createHash("sha256").update(info.body).digest("hex"));
      } catch (err) {
        errors.push(`${k.kind}: ${(err as Error).message}`);
      }
    }
  };

  // the real client too, throughout: its refresh is always one of the two states' answers
  const head = headOf(m, "hello-offline", "latest/stable");
  const pinned = oldest("hello-offline", "latest/stable");
  const probeWants = { pinned, imported: "no-update" } as const;
  const probeAnswers = new Set<number | string>();
  let probeRuns = 0;
  const prober = async () => {
    for (let i = 0; i < 500 && !done; i++) {
      probeAnswers.add(await probeRefresh(url, work, m, "hello-offline", head));
      probeRuns++;
    }
  };
  /** Once `gen` serves: the hammer has had answers from it, and the real client gets its state's answer. */
  const exercised = async (gen: number) => {
    await waitForGeneration(url, gen);
    for (let i = 0; i < 1000 && (seen.get(gen)?.size ?? 0) < kinds.length; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok((seen.get(gen)?.size ?? 0) >= kinds.length, `the hammer got answers from generation ${gen}`);
    const state = stateOf.get(gen) ?? assert.fail(`generation ${gen}`);
    assert.equal(await probeRefresh(url, work, m, "hello-offline", head), probeWants[state], `generation ${gen}`);
  };

  const switcher = async () => {
    try {
      let state: "pinned" | "imported" = "pinned";
      for (let cycle = 0; cycle < 3; cycle++) {
        // change the records and build: a new generation in service
        if (state === "pinned") await cli(store, "delete-override", "hello-offline", "stable");
        else await cli(store, "override", "hello-offline", `stable=${oldest("hello-offline", "latest/stable")}`);
        state = state === "pinned" ? "imported" : "pinned";
        const built = await cli(store, "build");
        const gen = Number(/generation (\d+) in service/.exec(built.stdout)?.[1]);
        stateOf.set(gen, state);
        await exercised(gen);
        // back and forth
        await cli(store, "rollback");
        await exercised(gen - 1);
        await cli(store, "rollback", String(gen));
        await exercised(gen);
        // gc with a small count: generations served moments ago are kept (grace), nothing served goes
        await cli(store, "gc", "--keep-generations", "1");
      }
    } finally {
      done = true;
    }
  };

  await Promise.all([switcher(), prober(), ...[0, 1, 2, 3].map(worker)]);

  assert.deepEqual(errors, [], "no request failed");
  assert.deepEqual(notFound, [], "no download URL 404ed");
  assert.deepEqual([...seen.keys()].sort(), [2, 3, 4, 5], "every generation put in service was hammered");
  // one answer per generation and request, and the same answer for every generation of a state
  const byState = new Map<string, Map<string, string>>();
  for (const [gen, byKind] of seen) {
    const state = stateOf.get(gen) ?? assert.fail(`answered from unknown generation ${gen}`);
    for (const [kind, answers] of byKind) {
      assert.equal(answers.size, 1, `generation ${gen} ${kind}: ${[...answers].join(" | ")}`);
      if (kind.startsWith("info")) continue; // carries the override's time: differs between generations
      const answer = [...answers][0] ?? "";
      const want = byState.get(state)?.get(kind);
      if (want === undefined) byState.set(state, new Map([...(byState.get(state) ?? []), [kind, answer]]));
      else assert.equal(answer, want, `generation ${gen} (${state}) ${kind}`);
    }
  }
  assert.match(byState.get("pinned")?.get("refresh-all amd64") ?? "", new RegExp(`hello-offline=${pinned}\\b`));
  assert.match(byState.get("imported")?.get("refresh-all amd64") ?? "", new RegExp(`hello-offline=${head}\\b`));
  for (const a of probeAnswers) assert.ok(a === pinned || a === "no-update", `the real client got ${a}`);
  assert.ok(requests > 100, `${requests} requests`);
  t.diagnostic(
    `${requests} requests over ${seen.size} generations, ${probeRuns} real-client refreshes: no error, no 404`,
  );

  const ops = (await auditOps(store)).slice(logged).map((e) => e.op);
  assert.deepEqual(
    ops,
    Array.from({ length: 3 }, (_, i) => [
      i % 2 === 0 ? "delete-override" : "override",
      "build",
      "rollback",
      "rollback",
      "gc",
    ]).flat(),
  );
});
