/**
 * Components through the whole cycle (issue 13 §3): `export` against the upstream double serving
 * compgen's `comp-offline` (with `resources`, component blobs and both resource assertion types
 * in the real store's shape) fetches the components of each exported revision, verifies them
 * and bundles them (bundle format 3); `import` of that bundle stores them; the store serves
 * them, and snapd 2.68.3's probe installs the snap with its components from it, verifying every
 * component blob and its snap-resource-revision/-pair. `--component NAME` narrows the set; an
 * unknown one, and a component blob that is not the one announced, are refused with one line
 * and no bundle.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type CompManifest,
  componentOf,
  componentUpstream,
  compsOf,
  makeComponentFixtures,
  probeCompInstall,
  probeCompRefresh,
  writeInstalledRevision1,
} from "../support/components.js";
import { type Manifest, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import {
  bundleJson,
  rootArgs,
  startUpstreamDouble,
  tarEntries,
  type UpstreamDouble,
} from "../support/upstream-double.js";

let work: string;
let fx: string;
let m: CompManifest;
let manifest: Manifest;
let double: UpstreamDouble;
let server: StartedProcess | undefined;

before(async () => {
  work = await tmpWorkDir("components-export");
  fx = join(work, "fixtures");
  m = await makeComponentFixtures(fx);
  const up = componentUpstream(m);
  manifest = up.manifest;
  double = await startUpstreamDouble({ fixtures: fx, manifest, components: up.components });
});

after(async () => {
  await server?.stop();
  await double?.close();
});

interface BundleComponentJson {
  snap: string;
  component: string;
  revision: number;
  file: string;
  "sha3-384": string;
  size: number;
  type?: string;
  "snap-revisions": number[];
}

describe("export with components (snapd 2.68.3)", () => {
  it("exports each revision's components, verified, in a version 3 bundle; import, serve and the probe install them", async () => {
    const dir = join(work, "export-all");
    const res = await snapshelf(
      double.exportArgs(dir, "comp-offline", "--channel", "stable", "--channel", "candidate"),
    );
    assert.match(res.stdout, /components comp-offline\+docs=1, comp-offline\+extra=2, comp-offline\+extra=3/);
    const bundle = join(dir, "comp-offline.snapshelf.tar");
    const doc = await bundleJson(bundle);
    assert.equal(doc["version"], 3);
    const comps = doc["components"] as BundleComponentJson[];
    // per revision the store lists the newest paired component revision: 1 -> docs 1, extra 2; 2 -> docs 1, extra 3
    assert.deepEqual(
      comps.map((c) => [c.snap, c.component, c.revision, c["snap-revisions"]]),
      [
        ["comp-offline", "docs", 1, [1, 2]],
        ["comp-offline", "extra", 2, [1]],
        ["comp-offline", "extra", 3, [2]],
      ],
    );
    for (const c of comps) {
      const want = componentOf(m, c.component, c.revision);
      assert.equal(c["sha3-384"], want["sha3-384"]);
      assert.equal(c.size, want.size);
      assert.equal(c.type, want.type);
      assert.equal(c.file, `blobs/comp-offline+${c.component}_${c.revision}.comp`);
    }
    const entries = (await tarEntries(bundle)).map((e) => e.path);
    for (const c of comps) assert.ok(entries.includes(c.file), c.file);
    const types = (doc["assertions"] as { type: string }[]).map((a) => a.type);
    assert.equal(types.filter((t) => t === "snap-resource-revision").length, 3);
    assert.equal(types.filter((t) => t === "snap-resource-pair").length, 4);
    // every component blob downloaded once, through the store's redirect
    for (const c of comps) assert.equal(double.count(`/cdn/comp-offline+${c.component}_${c.revision}.comp`), 1);
    // no cache left once the bundle holds them
    assert.deepEqual((await readdir(dir)).sort(), ["comp-offline.snapshelf.tar"]);

    // offline side: import, build, serve
    const store = join(work, "store");
    const imp = await snapshelf(["import", "--dir", store, ...rootArgs(fx, manifest), bundle]);
    assert.match(imp.stdout + imp.stderr, /3 component revisions/);
    await snapshelf(["build", "--dir", store]);
    server = await serve(store);
    for (const [channel, revision, want] of [
      ["stable", 1, ["docs=1", "extra=2"]],
      ["candidate", 2, ["docs=1", "extra=3"]],
    ] as const) {
      const dl = join(work, `dl-${channel}`);
      await mkdir(dl, { recursive: true });
      const out = await probeCompInstall(server.url ?? "", channel, dl);
      assert.equal(out.ok, true, JSON.stringify(out));
      assert.equal(out.results[0]?.revision, revision);
      assert.equal(out.results[0]?.verified, true);
      assert.deepEqual(compsOf(out.results[0]), want);
      for (const c of out.results[0]?.resources ?? []) {
        const blob = await readFile(c.file ?? "");
        assert.equal(blob.length, componentOf(m, c.name, c.revision).size);
      }
    }
  });

  it("--since: what the offline store has (revisions, components) is not exported again", async () => {
    const store = join(work, "store");
    const have = join(work, "have.json");
    await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);
    const dir = join(work, "export-since");
    const before = double.log.length;
    const res = await snapshelf(
      double.exportArgs(dir, "comp-offline", "--channel", "stable", "--channel", "candidate", "--since", have),
    );
    assert.match(res.stdout, /comp-offline\.snapshelf\.tar: no new revisions, 0 assertions/);
    const doc = await bundleJson(join(dir, "comp-offline.snapshelf.tar"));
    assert.deepEqual(doc["components"], []);
    assert.ok(
      double.log.slice(before).every((e) => !e.path.startsWith("/cdn/")),
      "nothing downloaded",
    );
  });

  it("--since carries a component-only update (a newer component of a revision the store has); devices then get it", async () => {
    // an offline store with revision 1, extra 1 and docs 1 (and their assertions only)
    const store = join(work, "store-old");
    const extra1 = componentOf(m, "extra", 1);
    const docs1 = componentOf(m, "docs", 1);
    const rev1 = m.revisions.find((r) => r.revision === 1);
    const f = (rel: string): string => join(fx, rel);
    await snapshelf([
      "import",
      "--dir",
      store,
      ...rootArgs(fx, manifest),
      "--release",
      "latest/stable",
      ...m.chain.map(f),
      f(m["snap-declaration"]),
      f(rev1?.["snap-revision"] ?? ""),
      f(extra1["snap-resource-revision"]),
      f(extra1["snap-resource-pairs"][0] ?? ""),
      f(docs1["snap-resource-revision"]),
      f(docs1["snap-resource-pairs"][0] ?? ""),
      f(rev1?.file ?? ""),
      f(extra1.file),
      f(docs1.file),
    ]);
    const have = join(work, "have-old.json");
    await writeFile(have, (await snapshelf(["manifest", "--dir", store])).stdout);
    const dir = join(work, "export-update");
    await snapshelf(double.exportArgs(dir, "comp-offline", "--since", have));
    const bundle = join(dir, "comp-offline.snapshelf.tar");
    const doc = await bundleJson(bundle);
    assert.deepEqual(doc["revisions"], []);
    assert.deepEqual(
      (doc["components"] as BundleComponentJson[]).map((c) => [c.component, c.revision, c["snap-revisions"]]),
      [["extra", 2, [1]]],
    );
    await snapshelf(["import", "--dir", store, bundle]);
    await snapshelf(["build", "--dir", store]);
    const old = await serve(store);
    try {
      const installed = join(work, "installed-old.json");
      await writeInstalledRevision1(installed, m);
      const out = await probeCompRefresh(old.url ?? "", installed);
      assert.equal(out.ok, true, JSON.stringify(out));
      assert.equal(out.results[0]?.revision, 1);
      assert.deepEqual(compsOf(out.results[0]), ["docs=1", "extra=2"]);
    } finally {
      await old.stop();
    }
  });

  it("--component NAME carries only the components named", async () => {
    const dir = join(work, "export-extra");
    await snapshelf(double.exportArgs(dir, "comp-offline", "--channel", "stable", "--component", "extra"));
    const doc = await bundleJson(join(dir, "comp-offline.snapshelf.tar"));
    assert.deepEqual(
      (doc["components"] as BundleComponentJson[]).map((c) => `${c.component}=${c.revision}`),
      ["extra=2"],
    );
    const types = (doc["assertions"] as { type: string; key: string[] }[]).filter((a) =>
      a.type.startsWith("snap-resource"),
    );
    assert.ok(
      types.every((a) => a.key[1] === "extra"),
      JSON.stringify(types),
    );
  });

  it("an unknown --component is refused before any download, with one line", async () => {
    const dir = join(work, "export-unknown");
    const before = double.log.length;
    const res = await snapshelfRaw(double.exportArgs(dir, "comp-offline", "--quiet", "--component", "nope"));
    assert.notEqual(res.code, 0);
    assert.equal(
      res.stderr.trim(),
      'error: cannot export: no exported revision has component "nope" (components: docs, extra)',
    );
    assert.ok(
      double.log.slice(before).every((e) => !e.path.startsWith("/cdn/")),
      "no blob was downloaded",
    );
    assert.equal(
      await readdir(dir).then(
        () => true,
        () => false,
      ),
      false,
      "no export directory left",
    );
  });

  it("a component the store pairs with a revision but has no snap-resource-pair for is refused, and no bundle is written", async () => {
    const dir = join(work, "export-no-pair");
    double.withhold(`snap-resource-pair/${m["snap-id"]}/extra/2/1`);
    try {
      const res = await snapshelfRaw(double.exportArgs(dir, "comp-offline", "--quiet"));
      assert.notEqual(res.code, 0);
      assert.equal(
        res.stderr.trim(),
        `error: cannot export: ${double.url} has no assertion snap-resource-pair/${m["snap-id"]}/extra/2/1`,
      );
      const left = await readdir(dir).catch((): string[] => []);
      assert.ok(!left.some((n) => n.endsWith(".snapshelf.tar")), left.join(" "));
    } finally {
      double.withhold(undefined);
    }
  });

  it("a component blob that is not the one the store announced is refused, and no bundle is written", async () => {
    const dir = join(work, "export-corrupt");
    // (the last test: the double serves it corrupted from now on)
    double.corruptComponent("comp-offline", "extra", 2);
    const res = await snapshelfRaw(double.exportArgs(dir, "comp-offline", "--quiet"));
    assert.notEqual(res.code, 0);
    const lines = res.stderr.trim().split("\n");
    assert.match(
      lines[lines.length - 1] ?? "",
      /^error: cannot download comp-offline\+extra_2\.comp from \S+: sha3-384 mismatch: got [0-9a-f]{96} but expected [0-9a-f]{96}$/,
    );
    const left = await readdir(dir).catch((): string[] => []);
    assert.ok(!left.some((n) => n.endsWith(".snapshelf.tar")), left.join(" "));
  });
});
