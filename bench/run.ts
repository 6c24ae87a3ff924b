/**
 * `make bench`: measures what snapshelf promises against what users would
 * otherwise run, on this machine, in this run, and prints one table
 * (figure, snapshelf, baseline, ratio, target, verdict) plus the machine.
 * It never fails on a missed target: the verdict column says so.
 *
 * Settings (env): BENCH_ONLY=import,serving,scale,hostile,cli (parts to run),
 * BENCH_IMPORT_MB (default 512; 2048 for the full size),
 * BENCH_BLOB_MB (256), BENCH_REFRESH_SNAP_MB (1), BENCH_SECONDS (5 per
 * load run), BENCH_SCALE (1000,20000), BENCH_WORKERS (server processes of the serving
 * part, for serve and nginx alike; default: CPUs), BENCH_JSON=FILE (also write the rows).
 * All traffic stays on 127.0.0.1; every load run is bounded in time.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { makeFixtures, tmpWorkDir } from "../test/support/realclient.js";
import { fixtureRoots } from "../test/support/snapshelf.js";
import { benchCliStartup } from "./cli-startup.js";
import type { BenchContext } from "./context.js";
import { benchHostile } from "./hostile.js";
import { benchImport } from "./import-throughput.js";
import { machine, type Row, renderTable } from "./lib/report.js";
import { benchScale } from "./scale.js";
import { benchServing } from "./serving.js";

function num(name: string, dflt: number): number {
  const v = Number(process.env[name] ?? "");
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const parts: Record<string, (ctx: BenchContext) => Promise<Row[]>> = {
  import: benchImport,
  serving: benchServing,
  scale: benchScale,
  hostile: benchHostile,
  cli: benchCliStartup,
};

async function main(): Promise<void> {
  const only = (process.env["BENCH_ONLY"] ?? "import,serving,scale,hostile,cli").split(",").filter((p) => p in parts);
  const work = await tmpWorkDir("bench");
  const log = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };
  log(`machine: ${machine()}`);
  const fixtures = join(work, "fixtures");
  const m = await makeFixtures(fixtures);
  const roots = fixtureRoots(fixtures, m);
  const ctx: BenchContext = {
    work,
    roots,
    storeKey: join(fixtures, m.assertions["store-account-key"] ?? "missing-store-account-key"),
    seconds: num("BENCH_SECONDS", 5),
    importMiB: num("BENCH_IMPORT_MB", 512),
    blobMiB: num("BENCH_BLOB_MB", 256),
    refreshSnapMiB: num("BENCH_REFRESH_SNAP_MB", 1),
    scale: (process.env["BENCH_SCALE"] ?? "1000,20000")
      .split(",")
      .map(Number)
      .filter((n) => n > 0),
    workers: num("BENCH_WORKERS", availableParallelism()),
    log,
  };
  const rows: Row[] = [];
  const started = Date.now();
  for (const p of only) {
    const run = parts[p];
    if (run) rows.push(...(await run(ctx)));
  }
  const out = [
    `snapshelf bench, ${new Date().toISOString().slice(0, 10)}: ${machine()}`,
    "",
    renderTable(rows),
    "",
    `${rows.filter((r) => r.met).length} of ${rows.length} targets met; ${Math.round((Date.now() - started) / 1000)} s`,
  ].join("\n");
  process.stdout.write(`${out}\n`);
  const json = process.env["BENCH_JSON"];
  if (json) await writeFile(json, JSON.stringify({ machine: machine(), rows }, null, 2));
}

await main();
