/**
 * The store over HTTPS: a throwaway CA and a server certificate for
 * 127.0.0.1 made with openssl, nginx listening with TLS (`nginx-config
 * --tls-cert --tls-key`) in front of `snapshelf serve`, the tree built for
 * the https:// URL. snapd's real clients then install, download, verify,
 * search and fetch assertions over TLS, trusting the CA the way a device
 * does: the Go clients through SSL_CERT_FILE, and the real snapd daemon
 * through `snap set system store-certs.NAME="$(cat ca.pem)"` (what the README
 * tells device owners). Without the CA, the clients refuse the store.
 *
 * check.sh runs over https as well (our copy's loopback guard admits
 * https://127.*), with the Go clients trusting the CA through SSL_CERT_FILE.
 */

import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { canRunDaemon, runDaemonSteps, snapClient } from "../support/daemon.js";
import { fixtureStore } from "../support/fixture-work.js";
import { type StartedNginx, startNginx } from "../support/nginx.js";
import {
  currentRevision,
  freePort,
  hostArch,
  type Manifest,
  realclientDir,
  removeWorkDir,
  runCheck,
  runChecked,
  runCommand,
  runProbe,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";
import { ensureTool } from "../support/system.js";

let work: string;
let manifest: Manifest;
let shim: StartedProcess | undefined;
let nginx: StartedNginx | undefined;
let ca: string;
let url: string;

async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = await ensureTool("openssl", ["openssl"]);
  const p = (f: string) => join(dir, f);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  // biome-ignore format: option/value pairs
  const caArgs = ["req", "-x509", ...ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=snapshelf throwaway test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
  await runChecked(openssl, caArgs);
  await runChecked(openssl, [
    "req",
    ...ec,
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(
    p("server.ext"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  // biome-ignore format: option/value pairs
  const signArgs = ["x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile", p("server.ext")];
  await runChecked(openssl, signArgs);
  return { ca: p("ca.pem"), cert: p("server.pem"), key: p("server.key") };
}

before(async () => {
  const fx = await fixtureStore("https");
  ({ work, manifest } = fx);
  const { store } = fx;
  const tls = join(work, "tls");
  await mkdir(tls, { recursive: true });
  const certs = await makeCertificates(tls);
  ca = certs.ca;
  const port = await freePort();
  url = `https://127.0.0.1:${port}`;
  await snapshelf(["build", "--dir", store, "--base-url", url]);
  shim = await serve(store, ["--base-url", url]);
  assert.ok(shim.url);
  nginx = await startNginx({
    work,
    store,
    port,
    upstream: shim.url,
    scheme: "https",
    extra: ["--tls-cert", certs.cert, "--tls-key", certs.key],
  });
});

after(async () => {
  await nginx?.stop();
  await shim?.stop();
  await removeWorkDir(work);
});

test("the probe installs and verifies over TLS, trusting the private CA", async () => {
  const arch = hostArch();
  const want = currentRevision(manifest, "hello-offline", "latest/stable", arch);
  assert.ok(want);
  const dl = join(work, "probe-dl");
  await mkdir(dl, { recursive: true });
  const env = { SSL_CERT_FILE: ca };
  const out = await runProbe(
    url,
    ["-arch", arch, "action", "-action", "install", "-name", "hello-offline", "-download", dl],
    { env },
  );
  assert.equal(out["ok"], true, JSON.stringify(out));
  const results = out["results"] as { revision: number; verified: boolean; "download-url": string }[];
  assert.equal(results[0]?.revision, want.revision);
  assert.equal(results[0]?.verified, true, JSON.stringify(results[0]));
  const find = await runProbe(url, ["-arch", arch, "find", "hello"], { env });
  assert.deepEqual((find["names"] as string[])[0], "hello-offline");
  const decl = await runProbe(url, ["assertion", "snap-declaration", "16", manifest.snaps[0]?.["snap-id"] ?? ""], {
    env,
  });
  assert.equal(decl["verified"], true, JSON.stringify(decl));
  const info = await runProbe(url, ["-arch", arch, "info", "hello-offline"], { env });
  assert.equal(info["ok"], true, JSON.stringify(info));
});

test("without the CA, snapd's client refuses the store", async () => {
  const out = await runProbe(url, ["-arch", hostArch(), "info", "hello-offline"], {
    env: { SSL_CERT_FILE: join(work, "tls", "no-such-ca.pem") },
  });
  assert.equal(out["ok"], false);
  assert.match(String(out["error"]), /certificate|x509/i);
});

test("snap download (snap-testkeys) over https: the blob and its assertions", async () => {
  const dir = join(work, "download");
  await mkdir(dir, { recursive: true });
  const want = currentRevision(manifest, "hello-offline", "latest/stable");
  assert.ok(want);
  const res = await runCommand(join(realclientDir(), "snap-testkeys"), ["download", "hello-offline"], {
    cwd: dir,
    env: { SNAPPY_FORCE_API_URL: `${url}/`, SSL_CERT_FILE: ca, UBUNTU_STORE_ARCH: hostArch() },
    timeoutMs: 120_000,
  });
  assert.equal(res.code, 0, `${res.stdout}${res.stderr}`);
  assert.deepEqual((await readdir(dir)).sort(), [
    `hello-offline_${want.revision}.assert`,
    `hello-offline_${want.revision}.snap`,
  ]);
});

test("the real snapd daemon installs over https once the CA is in store-certs", { timeout: 300_000 }, async (t) => {
  if (!(await canRunDaemon())) {
    t.skip("needs root, loop devices and snapd-testkeys (make realclient)");
    return;
  }
  const sb = join(work, "daemon");
  const snap = snapClient();
  const { log } = await runDaemonSteps(
    sb,
    url,
    [
      // not trusted yet: the store is refused
      "install hello-offline",
      // the device side, as the README says: trust the private CA, then use the store
      `!${snap} set system store-certs.snapshelf="$(cat ${ca})"`,
      `!${snap} get system store-certs.snapshelf | head -1`,
      "install hello-offline",
      `!${snap} list >${join(sb, "list.txt")}`,
    ],
    { env: { SSL_CERT_FILE: undefined } },
  );
  const first = log.indexOf("+ snap install hello-offline");
  const refused = log.slice(first, log.indexOf(`+ ${snap} set system`, first));
  assert.match(refused, /x509|certificate/i, `refused before the CA is trusted:\n${log.slice(-3000)}`);
  assert.match(log, /-----BEGIN CERTIFICATE-----/, `store-certs set:\n${log.slice(-3000)}`);
  const list = await readFile(join(sb, "list.txt"), "utf8").catch(() => "");
  const want = currentRevision(manifest, "hello-offline", "latest/stable");
  assert.match(
    list,
    new RegExp(`^hello-offline\\s+\\S+\\s+${want?.revision}\\s`, "m"),
    `snap list:\n${list}\n${log.slice(-3000)}`,
  );
});

test("check.sh: every real-client scenario passes over https", { timeout: 600_000 }, async () => {
  const res = await runCheck(url, join(work, "fixtures", "manifest.json"), { env: { SSL_CERT_FILE: ca } });
  const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
  assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
  const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
  assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
});
