/**
 * (d) Scale: synthetic catalogues of (by default) 1,000 and 20,000
 * revisions. Full `snapshelf build`, then the incremental build after one
 * more revision (best of three), then `snapshelf serve` start-up (until it prints its URL)
 * and its RSS after answering a refresh. The incremental target is on the
 * ratio between the largest and the smallest catalogue: cost independent of
 * catalogue size.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { runChecked } from "../test/support/realclient.js";
import { refreshAllBody, snapdHeaders } from "../test/support/snapd-request.js";
import { cliPath } from "../test/support/snapshelf.js";
import type { BenchContext } from "./context.js";
import { fmt, type Row } from "./lib/report.js";
import { rssOf, startSnapshelf } from "./lib/servers.js";
import { addSyntheticRevision, writeSyntheticStore } from "./lib/synthetic-store.js";

const MiB = 1024 * 1024;
const INCREMENTAL_RUNS = 3;
/** The URL the scale trees are built for and served as (no re-rendering at start-up). */
const BASE_URL = "http://127.0.0.1:8000";

interface ScaleResult {
  readonly revisions: number;
  readonly snaps: number;
  readonly files: number;
  readonly fullS: number;
  readonly incrementalS: number;
  readonly startupS: number;
  readonly rss: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e9, v];
}

async function build(dir: string): Promise<[number, number]> {
  const [s, res] = await timed(() =>
    runChecked(process.execPath, [cliPath(), "build", "--dir", dir, "--base-url", BASE_URL], {
      timeoutMs: 900_000,
    }),
  );
  return [s, Number(/: (\d+) files/.exec(res.stdout)?.[1] ?? 0)];
}

async function measure(ctx: BenchContext, revisions: number): Promise<ScaleResult> {
  const dir = join(ctx.work, `scale-${revisions}`);
  ctx.log(`scale: writing a synthetic store of ${revisions} revisions`);
  const { snaps, records } = await writeSyntheticStore(dir, revisions);
  ctx.log(`scale: full build of ${revisions} revisions`);
  const [fullS, files] = await build(dir);
  // best of three builds, each after one more revision (a single run on a shared machine is noise)
  let incrementalS = Number.POSITIVE_INFINITY;
  let now = records;
  for (let i = 1; i <= INCREMENTAL_RUNS; i++) {
    now = await addSyntheticRevision(dir, now);
    ctx.log(`scale: incremental build of ${revisions} + ${i} revisions`);
    const [s] = await build(dir);
    incrementalS = Math.min(incrementalS, s);
  }
  const [startupS, srv] = await timed(() =>
    startSnapshelf(dir, join(ctx.work, `scale-${revisions}-serve.log`), BASE_URL),
  );
  let rss: number;
  try {
    const names = records.revisions.slice(0, 20 * 40).filter((_, i) => i % 40 === 0);
    const res = await fetch(`${srv.url}/v2/snaps/refresh`, {
      method: "POST",
      headers: snapdHeaders("amd64"),
      body: refreshAllBody(names.map((r) => ({ snapId: r.snapId, revision: 1 }))),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    rss = rssOf(srv.child.pid ?? 0);
  } finally {
    await srv.stop();
  }
  await rm(dir, { recursive: true, force: true });
  return { revisions, snaps, files, fullS, incrementalS, startupS, rss };
}

export async function benchScale(ctx: BenchContext): Promise<Row[]> {
  const results: ScaleResult[] = [];
  for (const n of ctx.scale) results.push(await measure(ctx, n));
  const small = results[0];
  const large = results[results.length - 1];
  if (!small || !large) return [];
  const k = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));
  const rows: Row[] = [];
  for (const r of results) {
    rows.push({
      figure: `full build s, ${k(r.revisions)} revisions`,
      snapshelf: r.fullS,
      target: r === large ? "< 30 s" : "-",
      met: r === large ? r.fullS < 30 : true,
      note: `${r.snaps} snaps, ${r.files} tree files`,
    });
  }
  rows.push({
    figure: `incremental build s, ${k(large.revisions)} vs ${k(small.revisions)}`,
    snapshelf: large.incrementalS,
    baseline: small.incrementalS,
    baselineName: `${k(small.revisions)}`,
    ratio: large.incrementalS / small.incrementalS,
    target: "<= 1.5x",
    met: large.incrementalS / small.incrementalS <= 1.5,
    note: `best of three builds, each after one more revision released; CLI process time included (full builds: ${results.map((r) => `${fmt(r.fullS)} s`).join(", ")})`,
  });
  rows.push({
    figure: `serve start-up s, ${k(large.revisions)} revisions`,
    snapshelf: large.startupS,
    baseline: small.startupS,
    baselineName: k(small.revisions),
    target: "< 2 s",
    met: large.startupS < 2,
  });
  rows.push({
    figure: `serve RSS MB, ${k(large.revisions)} revisions`,
    snapshelf: large.rss / MiB,
    baseline: small.rss / MiB,
    baselineName: k(small.revisions),
    target: "< 200 MB",
    met: large.rss / MiB < 200,
    note: "after answering a 20-snap refresh-all; synthetic records written directly (no signature verification: build and serve never check signatures)",
  });
  return rows;
}
