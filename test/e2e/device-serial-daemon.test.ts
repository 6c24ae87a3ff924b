/**
 * A daemon that already holds a serial (issue 13 §4, last sentence). The real
 * snapd daemon (2.57.6 and 2.68.3), in its private mount namespace, is given
 * the device identity fixturegen wrote (device/): a first run seeds and
 * `snap ack`s the test store's key, the brand account and its key, the model
 * and the serial (the daemon verifies the chain to the test root); with the
 * daemon stopped, test/realclient/local/devseed.sh puts the device key into
 * its keypair manager and sets state.json's data.auth.device (brand, model,
 * serial, key-id); a second run installs and refreshes a snap from `serve`.
 * The daemon gets a nonce, posts its signed device-session-request, keeps the
 * session in state.json and sends it with every refresh request
 * (`Snap-Device-Authorization`) and blob download (`X-Device-Authorization`).
 * Without devseed the daemon is the generic-classic fallback and asks for no
 * session (the test fails).
 */
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { canRunDaemon, runDaemonSteps } from "../support/daemon.js";
import { fixtureStore } from "../support/fixture-work.js";
import { runChecked } from "../support/process.js";
import {
  CLIENT_SETS,
  type ClientSet,
  currentRevision,
  ensureRealclient,
  harnessDir,
  type Manifest,
  modernRealclientDir,
  SNAPD_2_68,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let server: StartedProcess | undefined;
let accessLog: string;

before(async () => {
  const fx = await fixtureStore("device-serial-daemon");
  ({ work, fixtures, manifest } = fx);
  await snapshelf(["build", "--dir", fx.store]);
  accessLog = join(work, "access.log");
  server = await serve(fx.store, ["--access-log", accessLog]);
});

after(async () => {
  await server?.stop();
});

/** Runs `clients`' daemon in its namespace on `sandbox` through `steps` (the log also in `<sandbox>/<name>.log`). */
async function daemonRun(clients: ClientSet, sandbox: string, steps: readonly string[], name: string): Promise<string> {
  return (await runDaemonSteps(sandbox, `${server?.url}/`, steps, { clients, logName: `${name}.log` })).log;
}

describe("a daemon holding a serial", () => {
  for (const clients of CLIENT_SETS) {
    it(`snapd ${clients.snapd}'s daemon, given a serial, installs and refreshes with its device session`, async (t) => {
      const daemon = join(clients.dir(), "snapd-testkeys");
      if (!(await canRunDaemon()) || !(await stat(daemon).catch(() => undefined))) {
        t.skip(`needs root, loop devices, unshare and ${clients.snapd}'s daemon`);
        return;
      }
      const d = manifest.device ?? assert.fail("fixturegen wrote no device");
      const dev = join(fixtures, d.dir);
      const sandbox = join(work, `daemon-${clients.snapd}`);
      const acked = await daemonRun(
        clients,
        sandbox,
        [
          `ack ${join(fixtures, manifest.assertions["store-account-key"] ?? "")}`,
          ...[...d.chain, d["model-file"], d["serial-file"]].map((f) => `ack ${join(dev, f)}`),
          "known serial",
        ],
        "ack",
      );
      // the daemon itself verifies the chain: store key, brand account and key, model, serial
      assert.doesNotMatch(acked, /rc=[1-9]/, acked);
      assert.match(acked, new RegExp(`^serial: ${d.serial}$`, "m"), acked);
      await ensureRealclient(SNAPD_2_68); // devseed builds with 2.68.3's tree (its key format is 2.57.6's too)
      await runChecked("bash", [join(harnessDir(), "local", "devseed.sh"), join(sandbox, "varlib"), dev], {
        env: { REALCLIENT_MODERN_DIR: modernRealclientDir() },
        timeoutMs: 900_000,
      });
      const log = await daemonRun(
        clients,
        sandbox,
        ["model --serial", "install hello-offline", "refresh hello-offline --channel=latest/candidate", "list"],
        "run",
      );
      const steps = log.split(/^\+ /m);
      const step = (prefix: string): string => steps.find((x) => x.startsWith(prefix)) ?? "";
      // the daemon is the device fixturegen made, not the generic-classic fallback
      assert.match(step("snap model --serial"), new RegExp(`serial:\\s+${d.serial}\\n[\\s\\S]*rc=0`), log);
      assert.match(step("snap install hello-offline"), /rc=0/, log);
      assert.match(step("snap refresh hello-offline"), /rc=0/, log);
      const want = currentRevision(manifest, "hello-offline", "latest/candidate")?.revision;
      assert.match(step("snap list"), new RegExp(`^hello-offline\\s+\\S+\\s+${want}\\s+latest/candidate\\s`, "m"), log);

      // snapshelf's side: one nonce, one session, both answered, before the first refresh request
      const lines = (await readFile(accessLog, "utf8")).split("\n").filter((l) => l.includes(`snapd/${clients.snapd}`));
      const at = (re: RegExp): number[] => lines.flatMap((l, i) => (re.test(l) ? [i] : []));
      const nonces = at(/"POST \/api\/v1\/snaps\/auth\/nonces HTTP\/1\.1" 200 /);
      const sessions = at(/"POST \/api\/v1\/snaps\/auth\/sessions HTTP\/1\.1" 200 /);
      const refreshes = at(/"POST \/v2\/snaps\/refresh HTTP\/1\.1" 200 /);
      assert.equal(nonces.length, 1, lines.join("\n"));
      assert.equal(sessions.length, 1, lines.join("\n"));
      assert.ok(refreshes.length >= 2, lines.join("\n"));
      assert.ok(
        (nonces[0] ?? -1) < (sessions[0] ?? -1) && (sessions[0] ?? -1) < (refreshes[0] ?? -1),
        lines.join("\n"),
      );

      // the daemon's side (SNAPD_DEBUG_HTTP): the session it keeps in state.json goes on every
      // refresh request as Snap-Device-Authorization and on every blob download as X-Device-Authorization
      const st = JSON.parse(await readFile(join(sandbox, "varlib", "state.json"), "utf8")) as {
        data: { auth: { device: Record<string, string> } };
      };
      const dev0 = st.data.auth.device;
      assert.deepEqual([dev0["brand"], dev0["model"], dev0["serial"]], [d["brand-id"], d.model, d.serial]);
      const macaroon = dev0["session-macaroon"] ?? assert.fail("the daemon kept no device session");
      const sent = (await readFile(join(sandbox, "snapd.log"), "utf8"))
        .split("\n")
        .filter((l) => l.includes('DEBUG: > "'))
        .map((l) => l.slice(l.indexOf('> "') + 3));
      const refreshReqs = sent.filter((r) => r.startsWith("POST /v2/snaps/refresh "));
      const blobReqs = sent.filter((r) => r.startsWith("GET /blobs/"));
      assert.ok(refreshReqs.length >= 2 && blobReqs.length >= 2, sent.join("\n"));
      for (const r of refreshReqs)
        assert.ok(r.includes(`Snap-Device-Authorization: Macaroon root=\\"${macaroon}\\"`), r);
      for (const r of blobReqs) assert.ok(r.includes(`X-Device-Authorization: Macaroon root=\\"${macaroon}\\"`), r);
    });
  }
});
