/**
 * `snapshelf install-service` through the CLI, into a scratch root: the
 * units land in etc/systemd/system/ and systemd itself accepts them
 * (`systemd-analyze verify`: directives, Exec paths, dependencies), with and
 * without nginx.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildFixtureStore, makeFixtureStore } from "../support/fixture-store.js";
import { removeWorkDir, runCommand, tmpWorkDir } from "../support/realclient.js";
import { snapshelf } from "../support/snapshelf.js";
import { which } from "../support/system.js";

let work: string;
let store: string;

before(async () => {
  work = await tmpWorkDir("nginx-service");
  store = join(work, "store");
  await buildFixtureStore(await makeFixtureStore(store));
});

after(async () => {
  await removeWorkDir(work);
});

async function verify(dir: string, files: string[]): Promise<void> {
  const analyze = await which("systemd-analyze");
  if (analyze === undefined) return; // systemd is part of Debian; a container without it can still check the text
  const res = await runCommand(analyze, ["verify", "--man=no", ...files.map((f) => join(dir, f))], {
    cwd: dir,
    timeoutMs: 60_000,
  });
  assert.equal(res.code, 0, `systemd-analyze verify: ${res.stdout}${res.stderr}`);
  assert.equal(`${res.stdout}${res.stderr}`.trim(), "", "no warnings");
}

test("the shim alone: serve unit and reload path, accepted by systemd", async () => {
  const root = join(work, "root-plain");
  const res = await snapshelf(["install-service", "--dir", store, "--prefix", root]);
  const dir = join(root, "etc", "systemd", "system");
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ["snapshelf-reload.path", "snapshelf-reload.service", "snapshelf-serve.service"]);
  assert.match(res.stdout, /wrote .*snapshelf-serve.service/);
  assert.match(
    res.stderr,
    /next: systemctl daemon-reload && systemctl enable --now snapshelf-serve.service snapshelf-reload.path/,
  );
  const serve = await readFile(join(dir, "snapshelf-serve.service"), "utf8");
  // the fixture store was built for http://store.test:8000: the shim listens there
  assert.match(serve, new RegExp(`serve --dir ${store} --host 0\\.0\\.0\\.0 --port 8000$`, "m"));
  await verify(dir, files);
});

test("with nginx and TLS: four units, accepted by systemd", async () => {
  const root = join(work, "root-nginx");
  await snapshelf([
    "install-service",
    "--dir",
    store,
    "--prefix",
    root,
    "--name",
    "fleet-store",
    "--nginx",
    "--user",
    "root",
    "--listen",
    "443",
    "--tls-cert",
    "/etc/ssl/certs/store.pem",
    "--tls-key",
    "/etc/ssl/private/store.key",
  ]);
  const dir = join(root, "etc", "systemd", "system");
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, [
    "fleet-store-nginx.service",
    "fleet-store-reload.path",
    "fleet-store-reload.service",
    "fleet-store-serve.service",
  ]);
  const nginx = await readFile(join(dir, "fleet-store-nginx.service"), "utf8");
  assert.match(nginx, /--tls-cert \/etc\/ssl\/certs\/store.pem --tls-key \/etc\/ssl\/private\/store.key$/m);
  assert.match(await readFile(join(dir, "fleet-store-serve.service"), "utf8"), /--host 127.0.0.1 --port 8001$/m);
  await verify(dir, files);
});
