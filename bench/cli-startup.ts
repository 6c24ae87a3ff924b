/**
 * (e) Command-line start-up: `snapshelf --help` and a verb refused before it
 * works (`status` of a missing store), against a bare `node -e 0` (the
 * floor every Node command pays). Operators run the CLI from scripts and
 * cron, and the e2e suite calls it thousands of times, so what it loads
 * before the verb runs counts. Median of 15 interleaved runs each.
 */
import { join } from "node:path";
import { runCommand } from "../test/support/process.js";
import { cliPath } from "../test/support/snapshelf.js";
import type { BenchContext } from "./context.js";
import type { Row } from "./lib/report.js";

const RUNS = 15;

async function seconds(args: readonly string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runCommand(process.execPath, args, { timeoutMs: 60_000 });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export async function benchCliStartup(ctx: BenchContext): Promise<Row[]> {
  ctx.log(`cli: ${RUNS} runs each of node -e 0, snapshelf --help, snapshelf status (no store)`);
  const runs = {
    node: [] as number[],
    help: [] as number[],
    refused: [] as number[],
  };
  for (let i = 0; i < RUNS; i++) {
    runs.node.push(await seconds(["-e", "0"]));
    runs.help.push(await seconds([cliPath(), "--help"]));
    runs.refused.push(await seconds([cliPath(), "status", "--dir", join(ctx.work, "no-store")]));
  }
  const node = median(runs.node);
  const row = (figure: string, s: number): Row => ({
    figure,
    snapshelf: s * 1000,
    baseline: node * 1000,
    baselineName: "node -e 0",
    ratio: s / node,
    target: "<= 2x",
    met: s / node <= 2,
    note: "median wall time in ms; the ratio is snapshelf's over a bare node start-up",
  });
  return [
    row("cli start-up: --help (ms)", median(runs.help)),
    row("cli start-up: verb refused (ms)", median(runs.refused)),
  ];
}
