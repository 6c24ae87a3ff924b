/**
 * The serve unit's sandbox, applied by hand (no systemd runs here): the store is read-only as
 * `ProtectSystem=strict` makes it, except what the unit's `ReadWritePaths=` names, after its
 * `ExecStartPre=` ran. serve must answer and still count downloads for `status` (issue 12: the
 * shipped unit made the counts directory read-only, so nothing was counted).
 */
import assert from "node:assert/strict";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildFixtureStore, committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import { cliJson } from "../support/ops-e2e.js";
import {
  type Manifest,
  removeWorkDir,
  runChecked,
  type StartedProcess,
  startProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { cliPath, snapshelfBare } from "../support/snapshelf.js";

let work: string;
let store: string;
let m: Manifest;

const root = process.getuid?.() === 0;

before(async () => {
  work = await tmpWorkDir("service-sandbox");
  m = await committedManifest();
  store = join(work, "store");
  await buildFixtureStore(await makeFixtureStore(store));
});

after(async () => {
  await removeWorkDir(work);
});

/** The value of `key=` in a unit, exactly one line of it. */
function setting(unit: string, key: string): string {
  const lines = [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((x) => x[1] ?? "");
  assert.equal(lines.length, 1, `one ${key}= line`);
  return lines[0] ?? "";
}

test("under the serve unit's read-only sandbox, serve answers and counts downloads", {
  timeout: 120_000,
  ...(root ? {} : { skip: "needs root (unshare -m, bind mounts)" }),
}, async () => {
  const prefix = join(work, "root");
  const res = await snapshelfBare(["install-service", "--dir", store, "--prefix", prefix]);
  assert.equal(res.code, 0, res.stderr);
  const unit = await readFile(join(prefix, "etc/systemd/system/snapshelf-serve.service"), "utf8");
  assert.match(setting(unit, "ProtectSystem"), /^strict$/);

  // a store from before the directory existed: ExecStartPre makes it (`+`: outside the sandbox)
  await rm(join(store, "state", "downloads"), { recursive: true, force: true });
  const pre = setting(unit, "ExecStartPre").replace(/^\+/, "").split(" ");
  await runChecked(pre[0] ?? "", pre.slice(1), { timeoutMs: 10_000 });

  // ReadWritePaths="-PATH": one quoted word, `-` = may be missing
  const rw = /^"-(.*)"$/.exec(setting(unit, "ReadWritePaths"))?.[1]?.replace(/%%/g, "%") ?? assert.fail("quoted");
  assert.equal(rw, join(store, "state", "downloads"));
  assert.ok((await stat(rw)).isDirectory(), "ExecStartPre made it");

  // the store read-only, the one path writable again, then serve (as the unit's ExecStart does)
  const script = [
    "set -e",
    'mount --bind "$1" "$1"',
    'mount -o remount,bind,ro "$1"',
    'mount --bind "$2" "$2"',
    'mount -o remount,bind,rw "$2"', // a bind mount copies the read-only flag of the mount it is in
    'touch "$1/state/probe" 2>/dev/null && { echo "store is writable" >&2; exit 3; }',
    'exec "$3" "$4" serve --dir "$1" --host 127.0.0.1 --port 0',
  ].join("\n");
  let srv: StartedProcess | undefined;
  try {
    srv = await startProcess("unshare", [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      store,
      rw,
      process.execPath,
      cliPath(),
    ]);
    const url = srv.url ?? assert.fail("no URL");
    const rev = m.snaps.find((s) => s.name === "hello-offline")?.revisions.find((r) => r.revision === 2);
    assert.ok(rev);
    const blob = await fetch(`${url}/blobs/${rev["sha3-384"]}.snap`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(blob.status, 200);
    await blob.arrayBuffer();
    let total = 0;
    for (let i = 0; i < 40 && total < 1; i++) {
      const d = (
        await cliJson<{ downloads: { counts: { downloads: number }[] } }>(store, "status")
      ).downloads.counts.reduce((n, c) => n + c.downloads, 0);
      total = d;
      if (total < 1) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(total, 1, `the download was counted from inside the sandbox: ${srv.output()}`);
  } finally {
    await srv?.stop();
  }
});
