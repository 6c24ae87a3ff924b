/**
 * Devices that already hold a serial. Canonical's offline proxy documents
 * that such a device cannot use it (it cannot authenticate devices offline).
 * snapshelf answers the device nonce and session endpoints: snapd's own store
 * code, acting as a device with a model and a serial signed by a brand key
 * chained to the test root (the probe with -device), asks for a nonce, signs
 * a device-session-request with its device key, gets a session, and then
 * refreshes, installs and downloads with it (its requests carry
 * `Snap-Device-Authorization: Macaroon root="..."`), through `serve` and
 * through nginx, with snapd 2.57.6's and 2.68.3's store code.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fixtureStore } from "../support/fixture-work.js";
import { type StartedNginx, startNginx } from "../support/nginx.js";
import { freePort } from "../support/process.js";
import { CLIENT_SETS, type Manifest, runProbe, type StartedProcess } from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let server: StartedProcess;
let nginx: StartedNginx;
let installed: string;

before(async () => {
  const fx = await fixtureStore("device-serial");
  ({ work, fixtures, manifest } = fx);
  const { store } = fx;
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
  nginx = await startNginx({ work, store, port: await freePort(), upstream: server.url ?? "" });
  const hello = manifest.snaps.find((s) => s.name === "hello-offline");
  installed = join(work, "installed.json");
  await writeFile(
    installed,
    JSON.stringify([
      { name: "hello-offline", "snap-id": hello?.["snap-id"], revision: 1, channel: "latest/stable", epoch: "0" },
    ]),
  );
});

after(async () => {
  await nginx?.stop();
  await server?.stop();
});

interface DeviceOut {
  serial: string;
  "session-requests": number;
  sessions: number;
  "has-session": boolean;
}

describe("a device holding a serial", () => {
  for (const clients of CLIENT_SETS) {
    for (const via of ["serve", "nginx"] as const) {
      it(`gets a device session and refreshes, installs and downloads with it (snapd ${clients.snapd}, ${via})`, async () => {
        const url = via === "serve" ? (server.url ?? "") : nginx.url;
        const device = join(fixtures, manifest.device?.dir ?? assert.fail("fixturegen wrote no device"));
        for (const [action, extra] of [
          ["refresh", ["-installed", installed, "-name", "hello-offline"]],
          ["install", ["-name", "tool-a"]],
        ] as const) {
          const out = await runProbe(
            url,
            [
              "-arch",
              "amd64",
              "-device",
              device,
              "action",
              "-action",
              action,
              ...extra,
              "-download",
              join(work, `${clients.snapd}-${via}-${action}`),
            ],
            { clients },
          );
          assert.equal(out["ok"], true, JSON.stringify(out));
          const d = out["device"] as DeviceOut;
          assert.equal(d.serial, manifest.device?.serial);
          // one nonce, one signed session request, one session, before the first store request
          assert.equal(d["session-requests"], 1, JSON.stringify(d));
          assert.equal(d.sessions, 1);
          assert.equal(d["has-session"], true);
          const results = out["results"] as { verified: boolean; name: string }[];
          assert.equal(results.length, 1, JSON.stringify(out));
          assert.equal(results[0]?.verified, true, JSON.stringify(results[0]));
        }
      });
    }
  }
});
