/**
 * (e) Hostile load: peak RSS of one `snapshelf serve` process (VmHWM, reset
 * before each load) on the largest synthetic catalogue of the scale part,
 * under each load issue 11 observed (test/support/hostile-load.ts: 120
 * refreshes with distinct 3 MiB instance keys; 64 device kinds x 10,000
 * distinct cacheable refreshes; 250 connections stalling nearly full
 * bodies; 200 connections that never read a 5,000-install answer), against the same process's RSS after an ordinary refresh-all in
 * the same run. The target is the memory cap the README states.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { MAX_ACTIONS } from "../src/routes/refresh.js";
import { MAX_BODY } from "../src/serve/bodies.js";
import {
  longInstanceKeys,
  manyDeviceKinds,
  manyInstallsBody,
  resetPeak,
  stalledBodies,
  statusBytes,
  unreadAnswers,
} from "../test/support/hostile-load.js";
import { runChecked } from "../test/support/realclient.js";
import { refreshAllBody, snapdHeaders } from "../test/support/snapd-request.js";
import { cliPath } from "../test/support/snapshelf.js";
import type { BenchContext } from "./context.js";
import type { Row } from "./lib/report.js";
import { startSnapshelf } from "./lib/servers.js";
import { writeSyntheticStore } from "./lib/synthetic-store.js";

const MiB = 1024 * 1024;
/** The cap the README states per serve process (or --workers process), up to 20,000 revisions. */
const CAP_MB = 640;
const BASE_URL = "http://127.0.0.1:8000";

export async function benchHostile(ctx: BenchContext): Promise<Row[]> {
  const revisions = Math.max(...ctx.scale, 1000);
  const dir = join(ctx.work, `hostile-${revisions}`);
  ctx.log(`hostile: writing and building a synthetic store of ${revisions} revisions`);
  const { records } = await writeSyntheticStore(dir, revisions);
  await runChecked(process.execPath, [cliPath(), "build", "--dir", dir, "--base-url", BASE_URL], {
    timeoutMs: 900_000,
  });
  const srv = await startSnapshelf(dir, join(ctx.work, "hostile-serve.log"), BASE_URL);
  const rows: Row[] = [];
  try {
    const pid = srv.child.pid ?? 0;
    const url = new URL(srv.url ?? "");
    const target = { host: url.hostname, port: Number(url.port) };
    const snapIds = [...new Set(records.revisions.map((r) => r.snapId))].slice(0, 20);
    const refreshAll = async (): Promise<void> => {
      const res = await fetch(`${srv.url}/v2/snaps/refresh`, {
        method: "POST",
        headers: snapdHeaders("amd64"),
        body: refreshAllBody(snapIds.map((snapId) => ({ snapId, revision: 1 }))),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    };
    await refreshAll();
    const idle = statusBytes(pid, "VmRSS");
    const loads: [string, () => Promise<void>][] = [
      ["120 x 3 MiB instance keys", async () => void (await longInstanceKeys(target, snapIds[0] ?? "", 120))],
      ["64 device kinds x 10k keys", async () => void (await manyDeviceKinds(target, snapIds, 64, 2))],
      ["250 stalled 4 MiB bodies", async () => void (await stalledBodies(target, MAX_BODY - 1024, refreshAll))],
      [
        `200 unread ${MAX_ACTIONS}-install answers`,
        async () => void (await unreadAnswers(target, manyInstallsBody(snapIds, MAX_ACTIONS), refreshAll)),
      ],
    ];
    for (const [name, load] of loads) {
      ctx.log(`hostile: ${name}`);
      resetPeak(pid);
      await load();
      await refreshAll();
      const peak = statusBytes(pid, "VmHWM");
      rows.push({
        figure: `serve peak RSS MB, ${name}`,
        snapshelf: peak / MiB,
        baseline: idle / MiB,
        baselineName: "idle",
        ratio: peak / idle,
        target: `< ${CAP_MB} MB`,
        met: peak / MiB < CAP_MB,
        note: `${revisions} revisions; one process; idle = after a 20-snap refresh-all`,
      });
    }
  } finally {
    await srv.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
