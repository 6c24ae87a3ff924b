/**
 * Snap components (issue 13 §3) with snapd 2.68.3's real client code, against one store built
 * from compgen's fixtures (`comp-offline`, components `extra` and `docs`):
 * import verifies component blobs and refuses what snapd would refuse; the device probe installs
 * with `resources` and checks every component blob and its snap-resource-revision/-pair as
 * `snap download` does (through serve and nginx); `snap download NAME+COMPONENT` fetches the
 * component and its assertions, and its output imports into another store; `snap known
 * --remote` reads both assertion types; a refresh is an update when only a component's revision
 * changed (snapd's currentSnapMatchesStoreSnap) and not when nothing did; gc keeps component
 * blobs and verify re-hashes them.
 *
 * Last, snapd 2.68.3's daemon (in its private mount namespace) installs NAME+COMPONENT from the
 * store and refreshes the snap to a revision with a newer component.
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type CompManifest,
  type CompProbeResult,
  componentOf,
  compRootArgs,
  compsOf,
  makeComponentFixtures,
  probeCompInstall,
  probeCompRefresh,
  writeInstalledRevision1,
} from "../support/components.js";
import { canRunDaemon, runDaemonSteps } from "../support/daemon.js";
import { type StartedNginx, startNginx } from "../support/nginx.js";
import { freePort, runCommand } from "../support/process.js";
import { makeFixtures, probeInstall, SNAPD_2_68, type StartedProcess, tmpWorkDir } from "../support/realclient.js";
import { serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";

let work: string;
let fx: string;
let m: CompManifest;
let store: string;
let server: StartedProcess;
let nginx: StartedNginx;

const f = (rel: string): string => join(fx, rel);
const b64 = (hex: string): string => Buffer.from(hex, "hex").toString("base64url");

async function build(): Promise<void> {
  await snapshelf(["build", "--dir", store]);
  // serve follows `current` (a stat every second); wait until it serves the new generation
  const want = (await readFile(join(store, "current"), "utf8")).trim();
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${server.url}/_status/check`);
    const text = await res.text();
    if (text.includes(want)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`serve did not switch to generation ${want}`);
}

/** `snapshelf import --release CHANNEL` of comp-offline revision `revision` with the component revisions `comps`. */
async function importRelease(channel: string, revision: number, comps: readonly [string, number][]): Promise<void> {
  const r = m.revisions.find((x) => x.revision === revision);
  await snapshelf([
    "import",
    "--dir",
    store,
    "--release",
    channel,
    f(r?.file ?? ""),
    ...comps.map(([name, rev]) => f(componentOf(m, name, rev).file)),
  ]);
}

before(async () => {
  work = await tmpWorkDir("components");
  fx = join(work, "fixtures");
  m = await makeComponentFixtures(fx);
  store = join(work, "store");
  await snapshelf(["import", "--dir", store, ...compRootArgs(fx, m), f("asserts")]);
  await importRelease("latest/stable", 1, [
    ["extra", 1],
    ["docs", 1],
  ]);
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
  nginx = await startNginx({ work, store, port: await freePort(), upstream: server.url ?? "" });
});

after(async () => {
  await nginx?.stop();
  await server?.stop();
});

describe("components (snapd 2.68.3)", () => {
  it("import refuses a component paired with no revision the store holds, and one no snap-resource-revision names", async () => {
    const before = await readFile(join(store, "state", "records.json"), "utf8");
    const extra3 = componentOf(m, "extra", 3);
    let res = await snapshelfRaw(["import", "--dir", store, f(extra3.file)]);
    assert.notEqual(res.code, 0);
    assert.equal(
      res.stderr.trim(),
      `error: cannot import ${f(extra3.file)}: no snap-resource-pair assertion pairs comp-offline+extra revision 3 with a revision of comp-offline the store holds`,
    );
    const tampered = join(work, "tampered.comp");
    const bytes = await readFile(f(componentOf(m, "extra", 2).file));
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await writeFile(tampered, bytes);
    res = await snapshelfRaw(["import", "--dir", store, tampered]);
    assert.notEqual(res.code, 0);
    assert.match(
      res.stderr.trim(),
      /^error: cannot import \S+tampered\.comp: no snap-resource-revision assertion for resource-sha3-384 [\w-]{64} /,
    );
    assert.equal(await readFile(join(store, "state", "records.json"), "utf8"), before, "nothing changed");
  });

  for (const via of ["serve", "nginx"] as const) {
    it(`the probe installs with resources and verifies every component and its assertions (${via})`, async () => {
      const dl = join(work, `dl-${via}`);
      await mkdir(dl, { recursive: true });
      const out = await probeCompInstall(via === "serve" ? (server.url ?? "") : nginx.url, "stable", dl);
      assert.equal(out.ok, true, JSON.stringify(out));
      const r = out.results[0];
      assert.equal(r?.revision, 1);
      assert.equal(r?.verified, true);
      assert.deepEqual(compsOf(r), ["docs=1", "extra=1"]);
      for (const c of r?.resources ?? []) {
        const want = componentOf(m, c.name, c.revision);
        assert.equal(c.type, want.type);
        assert.equal(c["sha3-384"], want["sha3-384"]);
        assert.equal((await stat(c.file ?? "")).size, want.size);
        // the blob is a static file of the store, also where nginx serves it itself
        const blob = await fetch(`${via === "serve" ? server.url : nginx.url}/blobs/${want["sha3-384"]}.snap`);
        assert.equal(blob.status, 200);
        assert.equal((await blob.arrayBuffer()).byteLength, want.size);
      }
    });
  }

  it("snapd 2.57.6, which knows no components, installs and verifies the snap of such a store", async () => {
    const dl = join(work, "dl-2.57.6");
    await mkdir(dl, { recursive: true });
    const installed = await probeInstall(server.url ?? "", "comp-offline", { channel: "stable", download: dl });
    const out = installed as unknown as { ok: boolean; results: CompProbeResult[] };
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.results[0]?.revision, 1);
    assert.equal(out.results[0]?.verified, true);
  });

  it("snap download NAME+COMPONENT fetches the component and its assertions, and its output imports", async () => {
    const dir = join(work, "snap-download");
    await mkdir(dir, { recursive: true });
    const res = await runCommand(join(SNAPD_2_68.dir(), "snap-testkeys"), ["download", "comp-offline+extra"], {
      cwd: dir,
      env: { SNAPPY_FORCE_API_URL: `${server.url}/`, UBUNTU_STORE_ARCH: "amd64" },
      timeoutMs: 120_000,
    });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ["comp-offline+extra_1.comp", "comp-offline_1.assert", "comp-offline_1.snap"]);
    const asserts = await readFile(join(dir, "comp-offline_1.assert"), "utf8");
    assert.match(asserts, /^type: snap-resource-revision$/m);
    assert.match(asserts, /^type: snap-resource-pair$/m);
    assert.match(asserts, new RegExp(`^resource-sha3-384: ${b64(componentOf(m, "extra", 1)["sha3-384"])}$`, "m"));
    // what snap download wrote is an import input as it is
    const other = join(work, "store-from-download");
    const imp = await snapshelf(["import", "--dir", other, ...compRootArgs(fx, m), dir]);
    assert.match(imp.stdout + imp.stderr, /verified comp-offline\+extra_1\.comp: comp-offline\+extra revision 1/);
    assert.match(imp.stdout + imp.stderr, /1 component revision/);
  });

  it("snap known --remote reads snap-resource-revision and snap-resource-pair", async () => {
    const extra = componentOf(m, "extra", 1);
    const known = (args: string[]) =>
      runCommand(join(SNAPD_2_68.dir(), "snap-testkeys"), ["known", "--remote", ...args], {
        env: { SNAPPY_FORCE_API_URL: `${server.url}/` },
        timeoutMs: 60_000,
      });
    let res = await known([
      "snap-resource-revision",
      `snap-id=${m["snap-id"]}`,
      "resource-name=extra",
      `resource-sha3-384=${b64(extra["sha3-384"])}`,
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^type: snap-resource-revision$/m);
    assert.match(res.stdout, new RegExp(`^resource-size: ${extra.size}$`, "m"));
    res = await known([
      "snap-resource-pair",
      `snap-id=${m["snap-id"]}`,
      "resource-name=extra",
      "resource-revision=1",
      "snap-revision=1",
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^type: snap-resource-pair$/m);
    assert.match(res.stdout, /^snap-revision: 1$/m);
  });

  it("a refresh is an update when only a component's revision changed, and not when nothing did", async () => {
    const installed = join(work, "installed.json");
    await writeInstalledRevision1(installed, m);
    const refresh = () => probeCompRefresh(server.url ?? "", installed);
    let out = await refresh();
    assert.equal(out.ok, false);
    assert.equal(out.error, "snap has no updates available");
    // extra revision 2 is paired with snap revision 1: a component-only update
    await copyFile(f(componentOf(m, "extra", 2).file), join(work, "extra-2.comp"));
    const imp = await snapshelf(["import", "--dir", store, join(work, "extra-2.comp")]);
    assert.match(imp.stdout + imp.stderr, /1 component revision/);
    await build();
    out = await refresh();
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.results[0]?.revision, 1);
    assert.deepEqual(compsOf(out.results[0]), ["docs=1", "extra=2"]);
  });

  it("a new snap revision brings its own components; gc keeps component blobs, verify re-hashes them, sync copies them", async () => {
    await importRelease("latest/candidate", 2, [["extra", 3]]);
    await build();
    const out = await probeCompInstall(server.url ?? "", "candidate");
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.results[0]?.revision, 2);
    assert.deepEqual(compsOf(out.results[0]), ["docs=1", "extra=3"]);
    await snapshelf(["gc", "--dir", store]);
    for (const c of m.components) await stat(join(store, "blobs", `${c["sha3-384"]}.snap`));
    const v = await snapshelf(["verify", "--dir", store]);
    assert.match(v.stdout + v.stderr, /verifying \d+ blobs/);
    // a replica gets the component blobs its generation serves
    const replica = join(work, "replica");
    await snapshelf(["sync", "--dir", store, "--to", replica]);
    for (const c of m.components.filter((x) => x.name !== "extra" || x.revision > 1))
      assert.equal((await stat(join(replica, "blobs", `${c["sha3-384"]}.snap`))).size, c.size);
  });

  it("snapd 2.68.3's daemon installs NAME+COMPONENT and refreshes to a revision with a newer component", async (t) => {
    const daemon = join(SNAPD_2_68.dir(), "snapd-testkeys");
    if (!(await canRunDaemon()) || !(await stat(daemon).catch(() => undefined))) {
      t.skip("needs root, loop devices, unshare and 2.68.3's daemon");
      return;
    }
    // the prerequisites snapd installs first: the harness's snapd and core22 stand-ins
    const main = join(work, "main-fixtures");
    const mm = await makeFixtures(main);
    const inputs: string[] = [];
    for (const s of mm.snaps.filter((x) => x.name === "snapd" || x.name === "core22")) {
      const r = s.revisions.find(
        (x) => x.architectures.includes("amd64") && x.channels.includes("latest/stable@amd64"),
      );
      inputs.push(join(main, s["snap-declaration"]), join(main, r?.["snap-revision"] ?? ""), join(main, r?.file ?? ""));
    }
    await snapshelf(["import", "--dir", store, "--release", "latest/stable", ...inputs]);
    await build();
    const { log } = await runDaemonSteps(
      join(work, "daemon"),
      `${server.url}/`,
      [
        "install comp-offline+extra",
        "components comp-offline",
        "refresh comp-offline --candidate",
        "components comp-offline",
        "!ls /var/lib/snapd/snaps",
      ],
      { clients: SNAPD_2_68 },
    );
    const steps = log.split(/^\+ /m);
    const step = (prefix: string, n = 0): string => steps.filter((x) => x.startsWith(prefix))[n] ?? "";
    assert.match(step("snap install comp-offline+extra"), /rc=0/, log);
    // stable: snap revision 1 with extra 2 (its newest paired component)
    assert.match(step("snap components comp-offline"), /comp-offline\+extra\s+installed\s+standard/, log);
    assert.match(step("snap components comp-offline"), /comp-offline\+docs\s+available\s+standard/, log);
    assert.match(step("snap refresh comp-offline --candidate"), /rc=0/, log);
    const files = step("ls /var/lib/snapd/snaps");
    assert.match(files, /^comp-offline\+extra_2\.comp$/m, log);
    assert.match(files, /^comp-offline\+extra_3\.comp$/m, log);
    assert.match(files, /^comp-offline_2\.snap$/m, log);
  });
});
