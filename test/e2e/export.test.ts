/**
 * Export -> bundles -> import -> build -> serve, with the bundles as the
 * only input, against the real snapd client code.
 *
 * The upstream double serves the signed fixture catalogue through the public
 * store API. Its channel map advances one release-history step at a time,
 * and the offline store follows the way an operator's regular updates would:
 * export (with `--since` the store's manifest) -> carry -> import, once per
 * step. That is how the offline side learns release history (which the
 * refresh scenarios need: tool-a's epoch bridge r2 -> r3 -> r4), since a
 * bundle carries the channel map at export time only. Then check.sh runs
 * every scenario against the result.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureDouble } from "../support/fixture-work.js";
import {
  type Manifest,
  probeInstall,
  removeWorkDir,
  runCheck,
  runProbe,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";
import {
  commonIdsOf,
  createdAtOf,
  rootArgs,
  storeMetaOf,
  tarEntries,
  type UpstreamDouble,
} from "../support/upstream-double.js";

let work: string;
/** stderr of each import (fault-point trace on). */
const imports: string[] = [];
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble;
let store: string;
let server: StartedProcess | undefined;
const exports: { step: number; stdout: string; stderr: string; dir: string }[] = [];

const SNAPS = ["hello-offline", "tool-a", "tool-data", "core22", "snapd"];
const CHANNELS = ["stable", "candidate", "edge", "2.x/stable", "latest/stable/hotfix-1"];

before(async () => {
  ({ work, fixtures, manifest, double } = await fixtureDouble("export-roundtrip"));
  // the real store sends an empty snap-yaml for some revisions: export must not stop there
  double.blankSnapYaml("hello-offline", 8);
  store = join(work, "store");
  let have: string | undefined;
  for (let step = 0; step <= double.maxStep; step++) {
    double.setStep(step);
    const dir = join(work, `export-${step}`);
    const res = await snapshelf([
      "export",
      ...SNAPS,
      ...CHANNELS.flatMap((c) => ["--channel", c]),
      ...["amd64", "arm64"].flatMap((a) => ["--arch", a]),
      "--validation-set",
      "testrootorg/offline-set",
      "--upstream",
      double.url,
      "--export-dir",
      dir,
      ...rootArgs(fixtures, manifest),
      ...(have === undefined ? [] : ["--since", have]),
    ]);
    exports.push({ step, stdout: res.stdout, stderr: res.stderr, dir });
    // the offline side: the bundles are the only input
    const imported = await snapshelf(
      ["import", "--dir", store, ...(step === 0 ? rootArgs(fixtures, manifest) : []), dir],
      { SNAPSHELF_FAULT_TRACE: "1" },
    );
    imports.push(imported.stderr);
    have = join(work, `have-${step}.json`);
    await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);
  }
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
});

after(async () => {
  await server?.stop();
  await double?.close();
  await removeWorkDir(work);
});

test("bundle blobs are staged as extracted: hashed once, never copied a second time", () => {
  const count = (text: string, point: string): number =>
    text.split("\n").filter((l) => l.startsWith(`fault-point ${point} `)).length;
  const staged = imports.reduce((n, e) => n + count(e, "import:blob-staged"), 0);
  assert.ok(staged >= 10, `${staged} blobs staged`);
  // blob:chunk is the copy loop of importBlob: an operator's .snap goes through it, a bundle's not
  assert.equal(
    imports.reduce((n, e) => n + count(e, "blob:chunk"), 0),
    0,
  );
});

test("the double's account of every revision agrees with its blob: no store/snap.yaml warning", () => {
  for (const e of exports) assert.doesNotMatch(e.stderr, /the store says/, `step ${e.step}`);
});

test("successive exports carry only what changed", async () => {
  assert.equal(exports.length, double.maxStep + 1);
  // step 0 carries every revision current then; later steps only the new ones
  assert.match(exports[0]!.stdout, /hello-offline\.snapshelf\.tar: revisions 1, 3, 4, 5, 6, 7,/);
  assert.match(exports[1]!.stdout, /hello-offline\.snapshelf\.tar: revisions 2, 8,/);
  assert.match(exports[1]!.stdout, /core22\.snapshelf\.tar: no new revisions, 0 assertions/);
  assert.match(exports[2]!.stdout, /tool-a\.snapshelf\.tar: revisions 3, 1 assertions/);
  assert.match(exports[3]!.stdout, /tool-a\.snapshelf\.tar: revisions 4, 1 assertions/);
  const core22 = await tarEntries(join(exports[3]!.dir, "core22.snapshelf.tar"));
  assert.deepEqual(
    core22.map((e) => e.path),
    ["bundle.json"],
  );
});

test("check.sh: every real-client scenario passes against a store made only from bundles", {
  timeout: 600_000,
}, async () => {
  assert.ok(server?.url, "serve printed its URL");
  const res = await runCheck(server.url, join(fixtures, "manifest.json"));
  const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
  assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
  const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
  assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
  if (process.getuid?.() === 0) assert.ok(daemon, "as root, the real daemon scenarios must run");
});

test("snap info on a device shows the exported metadata and channel map", async () => {
  assert.ok(server?.url);
  const probe = await runProbe(server.url, ["-arch", "amd64", "info", "hello-offline"]);
  assert.equal(probe["ok"], true, JSON.stringify(probe));
  assert.equal(probe["snap-id"], manifest.snaps.find((s) => s.name === "hello-offline")?.["snap-id"]);
  const channels = probe["channels"] as Record<string, { revision: number; version: string }>;
  assert.deepEqual(Object.fromEntries(Object.entries(channels).map(([k, v]) => [k, `${v.revision} ${v.version}`])), {
    "latest/stable": "2 1.1",
    "latest/candidate": "3 1.2",
    "latest/edge": "8 1.3-dev",
    "2.x/stable": "5 2.0",
  });
  assert.deepEqual(probe["tracks"], ["latest", "2.x"]);

  // the publisher as snapd's store client reports it for an install
  const action = await probeInstall(server.url, "hello-offline");
  const results = action["results"] as { publisher?: string }[];
  assert.equal(results[0]?.publisher, manifest.publisher.username, JSON.stringify(action));

  // the info document snapd reads: the store listing, not snap.yaml's
  const res = await fetch(`${server.url}/v2/snaps/info/hello-offline?architecture=amd64`, {
    headers: { "Snap-Device-Series": "16" },
  });
  const info = (await res.json()) as {
    snap: Record<string, unknown>;
    "channel-map": { channel: { name: string; "released-at": string }; revision: number }[];
  };
  const want = storeMetaOf(manifest.snaps.find((s) => s.name === "hello-offline")!);
  assert.equal(info.snap["summary"], want.summary);
  assert.equal(info.snap["title"], want.title);
  assert.equal(info.snap["description"], want.description);
  assert.equal(info.snap["license"], want.license);
  assert.equal(info.snap["website"], want.website);
  assert.deepEqual(info.snap["media"], want.media);
  // what the real store says beyond snap.yaml reaches the device as it said it
  assert.deepEqual(info.snap["links"], want.links);
  assert.deepEqual(info.snap["categories"], want.categories);
  assert.equal(info.snap["contact"], want.contact);
  assert.deepEqual(info.snap["prices"], {});
  assert.equal(info.snap["private"], false);
  assert.deepEqual(info.snap["publisher"], {
    id: manifest.publisher["account-id"],
    username: manifest.publisher.username,
    "display-name": manifest.publisher["display-name"],
    validation: "verified",
  });
  // release times are the upstream's, not the import's
  const stable = info["channel-map"].find((e) => e.channel.name === "stable");
  assert.equal(stable?.revision, 2);
  assert.equal(stable?.channel["released-at"], "2024-01-08T12:00:00.000Z");
  const hello = manifest.snaps.find((s) => s.name === "hello-offline")!;
  for (const e of info["channel-map"] as unknown as Record<string, unknown>[]) {
    // created-at is the store's (no blob or assertion carries it), common-ids too
    assert.equal(e["created-at"], createdAtOf(e["revision"] as number), `revision ${String(e["revision"])}`);
    assert.deepEqual(e["common-ids"], commonIdsOf(hello));
  }
  // the revision whose snap-yaml the store sent empty was exported, and serves its blob's snap.yaml
  const edge = info["channel-map"].find((e) => e.channel.name === "edge");
  assert.equal(edge?.revision, 8);
  const r8 = await fetch(`${server.url}/v2/snaps/refresh`, {
    method: "POST",
    headers: { "Snap-Device-Series": "16", "Snap-Device-Architecture": "amd64", "Content-Type": "application/json" },
    body: JSON.stringify({
      context: [],
      actions: [{ action: "download", "instance-key": "d", name: "hello-offline", revision: 8, epoch: null }],
      fields: ["snap-yaml"],
    }),
  });
  const snap8 = ((await r8.json()) as { results: { snap: Record<string, unknown> }[] }).results[0]?.snap;
  assert.match(String(snap8?.["snap-yaml"]), /^name: hello-offline\n/);
  assert.equal(snap8?.["created-at"], createdAtOf(8));
});
