/**
 * The monthly cycle in one command a side, against the upstream double (the signed fixture
 * catalogue through the public store API):
 * - `manifest` records per snap the channels and architectures it was exported with;
 * - `export --since have.json` with no names exports what changed for everything the
 *   offline store holds, with those channels and architectures;
 * - `export --from LIST` (store-admin's `--from-yaml` shape): channels/arches per snap, an
 *   exact revision, `push_channel` released on import;
 * - on a host that cannot reach the store, `export` fails at once, says so, and leaves no
 *   export directory behind.
 */
import assert from "node:assert/strict";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureDouble } from "../support/fixture-work.js";
import { type Manifest, removeWorkDir, runCommand } from "../support/realclient.js";
import { cliPath, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { bundleJson, rootArgs, type UpstreamDouble } from "../support/upstream-double.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble;

before(async () => {
  ({ work, fixtures, manifest, double } = await fixtureDouble("export-cycle"));
});

after(async () => {
  await double?.close();
  await removeWorkDir(work);
});

async function bundlesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".snapshelf.tar")).sort();
}

type MapEntry = { channel: string; arch: string; revision: number };
async function channelMap(bundle: string): Promise<string[]> {
  const doc = await bundleJson(bundle);
  return (doc["channel-map"] as MapEntry[]).map((e) => `${e.channel} ${e.arch} r${e.revision}`);
}

async function manifestOf(store: string): Promise<{ name: string; "exported-with"?: unknown; channels: MapEntry[] }[]> {
  const m = JSON.parse((await snapshelf(["manifest", "--dir", store])).stdout) as {
    snaps: { name: string; "exported-with"?: unknown; channels: MapEntry[] }[];
  };
  return m.snaps;
}

test("manifest records how each snap was exported; --since with no names follows it all", async () => {
  const store = join(work, "store");
  double.setStep(0);
  const first = join(work, "export-1");
  await snapshelf(
    double.exportArgs(
      first,
      "hello-offline",
      "--channel",
      "stable",
      "--channel",
      "edge",
      "--arch",
      "amd64",
      "--arch",
      "arm64",
    ),
  );
  await snapshelf(double.exportArgs(first, "tool-a"));
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), first]);
  const snaps = await manifestOf(store);
  assert.deepEqual(
    snaps.map((s) => [s.name, s["exported-with"]]),
    [
      ["hello-offline", { channels: ["stable", "edge"], arches: ["amd64", "arm64"] }],
      ["tool-a", { channels: ["stable"], arches: ["amd64"] }],
    ],
  );
  const have = join(work, "have.json");
  await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);

  // a month later: one command, no names
  double.setStep(double.maxStep);
  const second = join(work, "export-2");
  const res = await snapshelf(double.exportArgs(second, "--since", have));
  assert.deepEqual(await bundlesIn(second), ["hello-offline.snapshelf.tar", "tool-a.snapshelf.tar"]);
  // the channels and architectures each was exported with, as the store has them now
  assert.deepEqual(await channelMap(join(second, "hello-offline.snapshelf.tar")), [
    "latest/stable amd64 r2",
    "latest/stable arm64 r4",
    "latest/edge amd64 r8",
    "latest/edge arm64 r4",
  ]);
  assert.deepEqual(await channelMap(join(second, "tool-a.snapshelf.tar")), ["latest/stable amd64 r4"]);
  // only what changed is carried
  const tool = await bundleJson(join(second, "tool-a.snapshelf.tar"));
  assert.deepEqual(
    (tool["revisions"] as { revision: number }[]).map((r) => r.revision),
    [4],
  );
  assert.match(res.stdout, /wrote .*tool-a\.snapshelf\.tar: revisions 4,/);
  await snapshelf(["import", "--dir", store, second]);
  const after = await manifestOf(store);
  const tools = after.find((s) => s.name === "tool-a");
  assert.deepEqual(tools?.channels, [{ channel: "latest/stable", arch: "amd64", revision: 4 }]);
  assert.deepEqual(tools?.["exported-with"], { channels: ["stable"], arches: ["amd64"] }, "kept across imports");
});

test("--from LIST: channels and arches per snap, an exact revision released to push_channel on import", async () => {
  const list = join(work, "snaps.yaml");
  await writeFile(
    list,
    "packages:\n" +
      "  - name: hello-offline\n" +
      "    channels: [candidate]\n" +
      "    arches: [arm64]\n" +
      "  - name: core22\n" +
      "    revision: 3\n" +
      "    push_channel: stable\n" +
      "  - name: tool-data\n" +
      "    revision: 1\n",
  );
  double.setStep(double.maxStep);
  const dir = join(work, "export-from");
  await snapshelf(double.exportArgs(dir, "--from", list));
  assert.deepEqual(await bundlesIn(dir), [
    "core22.snapshelf.tar",
    "hello-offline.snapshelf.tar",
    "tool-data.snapshelf.tar",
  ]);
  assert.deepEqual(await channelMap(join(dir, "hello-offline.snapshelf.tar")), ["latest/candidate arm64 r4"]);
  // the exact revision (core22 r3 is in candidate and edge upstream), released to stable on import
  assert.deepEqual(await channelMap(join(dir, "core22.snapshelf.tar")), ["latest/stable amd64 r3"]);
  const core = await bundleJson(join(dir, "core22.snapshelf.tar"));
  assert.deepEqual(
    (core["revisions"] as { revision: number }[]).map((r) => r.revision),
    [3],
  );
  assert.deepEqual(await channelMap(join(dir, "tool-data.snapshelf.tar")), [], "no push_channel: not released");
  const store = join(work, "store-from");
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), dir]);
  const snaps = await manifestOf(store);
  assert.deepEqual(snaps.find((s) => s.name === "core22")?.channels, [
    { channel: "latest/stable", arch: "amd64", revision: 3 },
  ]);
  assert.deepEqual(snaps.find((s) => s.name === "tool-data")?.channels, []);
  // a pinned revision is not followed by --since with no names
  const have = join(work, "have-from.json");
  await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);
  const again = await snapshelf(double.exportArgs(join(work, "export-from-again"), "--since", have));
  assert.match(again.stderr, /core22: exported by revision only; not followed/);
  assert.deepEqual(await bundlesIn(join(work, "export-from-again")), ["hello-offline.snapshelf.tar"]);
});

test("--from: a revision the store does not have fails naming it; a bad list fails before any request", async () => {
  const list = join(work, "missing.yaml");
  await writeFile(list, "packages:\n  - name: core22\n    revision: 99\n");
  const dir = join(work, "export-missing");
  const res = await snapshelfRaw(double.exportArgs(dir, "--from", list));
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /cannot export "core22": revision 99 not found in http:\/\/127\.0\.0\.1:\d+/);
  await assert.rejects(stat(dir), "no export directory left behind");
  const bad = join(work, "bad.yaml");
  await writeFile(bad, "packages:\n  - name: core22\n    channel: stable\n");
  const before = double.log.length;
  const res2 = await snapshelfRaw(double.exportArgs(join(work, "export-bad"), "--from", bad));
  assert.notEqual(res2.code, 0);
  assert.match(res2.stderr, /^error: cannot read export list .*bad\.yaml: packages\[0\]\.channel: unknown field/m);
  assert.equal(double.log.length, before, "no request");
});

test("a host that cannot reach the store: export says so at once and leaves no export directory", {
  // an empty network namespace (unshare --net) needs root
  ...(process.getuid?.() === 0 ? {} : { skip: "needs root (unshare --net)" }),
}, async () => {
  const env = { HTTPS_PROXY: "", https_proxy: "", HTTP_PROXY: "", http_proxy: "" };
  // a network namespace with nothing in it: the name lookup fails, and there is no route
  for (const [upstream, host] of [
    [undefined, "api.snapcraft.io"],
    ["http://192.0.2.1", "192.0.2.1"],
  ] as const) {
    const dir = join(work, `offline-${host}`);
    const res = await runCommand(
      "unshare",
      [
        "--net",
        process.execPath,
        cliPath(),
        "export",
        "hello",
        "--export-dir",
        dir,
        ...(upstream === undefined ? [] : ["--upstream", upstream]),
      ],
      { env, timeoutMs: 60_000 },
    );
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `^error: cannot reach ${host.replace(/\./g, "\\.")}: run export on a connected machine, or give --upstream / HTTPS_PROXY$`,
        "m",
      ),
    );
    assert.doesNotMatch(res.stderr, /retrying/);
    await assert.rejects(stat(dir), `${dir} left behind`);
  }
});
