/**
 * More than one server: `snapshelf sync` keeps three replicas of a store,
 * each served by its own `snapshelf serve`, behind Debian's nginx as a
 * round-robin load balancer on loopback (no retries: `proxy_next_upstream
 * off`, so a replica's failure would reach the device). A load of real
 * install, refresh-all and download requests, and snapd's own client (the
 * probe), run through the balancer while the operator releases, builds and
 * syncs: zero requests fail, and every replica ends on the source's
 * generation. An interrupted sync leaves every replica serving a complete
 * generation, never one that names a missing object; a replica refuses
 * every change, naming its source.
 */

import assert from "node:assert/strict";
import { readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startDeviceLoad, type WireResult } from "../support/device-load.js";
import { fixtureStore } from "../support/fixture-work.js";
import { ensureNginx } from "../support/nginx.js";
import { servedGeneration, waitForGeneration } from "../support/ops-e2e.js";
import { freePort, runCommand, startProcess, waitForHttp } from "../support/process.js";
import { type Manifest, probeRefreshAll, type StartedProcess } from "../support/realclient.js";
import { installBody, snapdHeaders, writeInstalledOldest } from "../support/snapd-request.js";
import { serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { writeSignedSnap } from "../support/synthetic-snap.js";

const REPLICAS = 3;
const CHANGES = 3;
const WORKERS = 4;

let work: string;
let fixtures: string;
let manifest: Manifest;
let source: string;
let replicas: string[];
const serves: StartedProcess[] = [];
let balancer: StartedProcess | undefined;
let base: string;
let installedFile: string;

function sync(...extra: string[]) {
  return snapshelf(["sync", "--dir", source, ...replicas.flatMap((r) => ["--to", r]), ...extra]);
}

async function current(dir: string): Promise<number> {
  return Number((await readFile(join(dir, "current"), "utf8").catch(() => "0")).trim());
}

before(async () => {
  ({ work, fixtures, manifest, store: source } = await fixtureStore("replicas", "source"));
  replicas = Array.from({ length: REPLICAS }, (_, i) => join(work, `replica-${i + 1}`));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await snapshelf(["build", "--dir", source, "--base-url", base]);
  await sync();
  for (const r of replicas) {
    serves.push(await serve(r, ["--base-url", base]));
  }
  const nginx = await ensureNginx();
  const prefix = join(work, "balancer");
  const conf = join(work, "balancer.conf");
  await runCommand("mkdir", ["-p", join(prefix, "tmp")]);
  await writeFile(
    conf,
    [
      "worker_processes 1;",
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/error.log;`,
      ...(process.getuid?.() === 0 ? ["user root;"] : []),
      "events { worker_connections 1024; }",
      "http {",
      `  access_log ${prefix}/access.log;`,
      `  client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy;`,
      `  fastcgi_temp_path ${prefix}/tmp/fcgi; uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;`,
      `  upstream replicas { ${serves.map((s) => `server ${new URL(s.url ?? "").host};`).join(" ")} }`,
      "  server {",
      `    listen 127.0.0.1:${port};`,
      "    client_max_body_size 8m;",
      "    location / {",
      "      proxy_pass http://replicas;",
      "      proxy_next_upstream off;",
      "      proxy_http_version 1.1;",
      '      proxy_set_header Connection "";',
      "      proxy_set_header Host $http_host;",
      "    }",
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  balancer = await startProcess(nginx, ["-p", `${prefix}/`, "-c", conf, "-e", "stderr", "-g", "daemon off;"], {
    ready: null,
    logFile: join(prefix, "nginx.out"),
  });
  await waitForHttp(`${base}/`, { proc: balancer });
  installedFile = join(work, "installed.json");
  await writeInstalledOldest(installedFile, manifest);
});

after(async () => {
  await balancer?.stop();
  for (const s of serves) await s.stop();
});

describe("replicas (snapshelf sync)", () => {
  it("copies what serving needs, and each replica serves the source's generation", async () => {
    const gen = await current(source);
    assert.ok(gen > 0);
    for (const [i, r] of replicas.entries()) {
      assert.equal(await current(r), gen, `${r} current`);
      assert.equal(await servedGeneration(serves[i]?.url ?? ""), gen);
      const settings = JSON.parse(await readFile(join(r, "snapshelf.json"), "utf8")) as { replicaOf?: string };
      assert.equal(settings.replicaOf, await realpath(source));
    }
    // status says what it is; nginx-config serves it like any store
    const st = await snapshelf(["status", "--dir", replicas[0] ?? ""]);
    assert.match(st.stdout, new RegExp(`replica of: +${await realpath(source)}`));
    assert.doesNotMatch(st.stdout, /build pending/);
    await snapshelf(["nginx-config", "--dir", replicas[0] ?? "", "--standalone", "--listen", "127.0.0.1:1"]);
    // a second sync with nothing new copies nothing
    const again = await sync();
    assert.match(again.stderr, /0 blobs \(0 bytes\), 0 shared files, generation \d+: 0 files copied, 0 linked/);
  });

  it("a replica refuses every change, naming its source", async () => {
    const src = await realpath(source);
    for (const args of [
      ["import", "--dir", replicas[0] ?? "", join(fixtures, manifest["assert-dir"])],
      ["release", "--dir", replicas[0] ?? "", "hello-offline", "1", "stable"],
      ["build", "--dir", replicas[0] ?? ""],
      ["gc", "--dir", replicas[0] ?? ""],
    ]) {
      const before = await current(replicas[0] ?? "");
      const r = await snapshelfRaw(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, new RegExp(`is a replica of ${src.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`), r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(await current(replicas[0] ?? ""), before);
    }
  });

  it("refuses a directory that is a store of its own, or another source's replica", async () => {
    const other = join(work, "other");
    await snapshelf(["import", "--dir", other, join(fixtures, manifest["assert-dir"])]).catch(() => undefined);
    const r = await snapshelfRaw(["sync", "--dir", source, "--to", other]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot sync to .*other: (it is a store of its own|the directory is not empty)/);
    const r2 = await snapshelfRaw(["sync", "--dir", other, "--to", replicas[0] ?? ""]);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /cannot sync|no generation in service/);
  });

  it("a rolling update (release, build, sync) under load through the balancer: zero failed requests", {
    timeout: 400_000,
  }, async (t) => {
    const newNames = Array.from({ length: CHANGES }, (_, i) => `replica-snap-${i}`);
    const load = startDeviceLoad({
      url: base,
      manifest,
      workers: WORKERS,
      installNames: ["hello-offline", ...newNames],
      infoName: "hello-offline",
    });
    const { failures, stats } = load;
    let probes = 0;
    const generations: number[] = [];
    const started = Date.now();
    try {
      const hello = manifest.snaps.find((s) => s.name === "hello-offline");
      const amd64Revs = hello?.revisions.filter((r) => r.architectures.includes("amd64")).map((r) => r.revision) ?? [];
      for (let i = 0; i < CHANGES; i++) {
        const name = newNames[i] ?? "x";
        const { file } = await writeSignedSnap(work, { name, version: `1.${i}`, architectures: ["amd64"] });
        await snapshelf(["import", "--dir", source, "--release", "stable", file]);
        const rev = amd64Revs[i % amd64Revs.length] ?? 1;
        await snapshelf(["release", "--dir", source, "--arch", "amd64", "hello-offline", String(rev), "stable"]);
        await snapshelf(["build", "--dir", source]);
        const gen = await current(source);
        generations.push(gen);
        await sync();
        for (const s of serves) await waitForGeneration(s.url ?? "", gen);
        const probe = await probeRefreshAll(base, installedFile, join(work, `probe-${i}`));
        probes++;
        if (probe["ok"] !== true) failures.push(`probe refresh-all after change ${i}: ${JSON.stringify(probe)}`);
      }
      const last = await load.post("install", installBody([newNames[CHANGES - 1] ?? ""]), "amd64");
      assert.equal(last[0]?.snap?.name, newNames[CHANGES - 1], JSON.stringify(last));
    } finally {
      await load.stop();
    }
    t.diagnostic(
      `${CHANGES} rolling updates (generations ${generations.join(", ")}) over ${REPLICAS} replicas in ` +
        `${Date.now() - started} ms: ${stats.refreshes} refresh-alls, ${stats.installs} installs, ` +
        `${stats.downloads} downloads, ${probes} probe refresh-alls through the balancer`,
    );
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failed requests`);
    assert.ok(stats.refreshes > CHANGES && stats.downloads > 0, "the load ran throughout");
    const gen = await current(source);
    for (const [i, r] of replicas.entries()) {
      assert.equal(await current(r), gen, r);
      assert.equal(await servedGeneration(serves[i]?.url ?? ""), gen);
    }
  });

  it("an interrupted sync never switches a replica before every replica has the objects", async () => {
    const { file } = await writeSignedSnap(work, { name: "replica-late", version: "1", architectures: ["amd64"] });
    await snapshelf(["import", "--dir", source, "--release", "stable", file]);
    await snapshelf(["build", "--dir", source]);
    const gen = await current(source);
    const before = await Promise.all(replicas.map(current));
    // killed after the second replica's objects: nobody has switched yet
    const killed = await snapshelfRaw(["sync", "--dir", source, ...replicas.flatMap((r) => ["--to", r])], {
      SNAPSHELF_FAULT: "sync-objects:2",
    });
    assert.notEqual(killed.code, 0);
    assert.deepEqual(await Promise.all(replicas.map(current)), before);
    // killed after the first switch: the others have every object already
    const killed2 = await snapshelfRaw(["sync", "--dir", source, ...replicas.flatMap((r) => ["--to", r])], {
      SNAPSHELF_FAULT: "sync-switch:1",
    });
    assert.notEqual(killed2.code, 0);
    assert.equal(await current(replicas[0] ?? ""), gen);
    for (const r of replicas.slice(1)) {
      assert.equal(await current(r), before[1]);
      const tree = await readFile(join(r, "trees", String(gen), ".snapshelf-tree.json"), "utf8");
      assert.ok(tree.length > 0, `${r} holds generation ${gen} complete before switching`);
    }
    // the device sees the new snap from the switched replica; its blob is on every replica
    await waitForGeneration(serves[0]?.url ?? "", gen);
    const res = await fetch(`${serves[0]?.url}/v2/snaps/refresh`, {
      method: "POST",
      headers: snapdHeaders("amd64"),
      body: installBody(["replica-late"]),
    });
    const v = (await res.json()) as { results: WireResult[] };
    const url = new URL(v.results[0]?.snap?.download.url ?? assert.fail(JSON.stringify(v)));
    for (const s of serves) {
      const r = await fetch(`${s.url}${url.pathname}`, { method: "HEAD" });
      assert.equal(r.status, 200, `${s.url}${url.pathname}`);
    }
    // a second run completes the work
    await sync();
    for (const [i, r] of replicas.entries()) {
      assert.equal(await current(r), gen);
      await waitForGeneration(serves[i]?.url ?? "", gen);
    }
  });
});
