/**
 * (a) Import throughput: `snapshelf import` of large signed synthetic snaps
 * (the whole path: verify assertions, hash while copying into staging,
 * fsync, read snap.yaml, cross-check, rename, write records), against
 * `openssl dgst -sha3-384` over the same files (this machine's hashing
 * limit). Both read from a warm page cache; best of three runs each, interleaved.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { runChecked } from "../test/support/realclient.js";
import { cliPath } from "../test/support/snapshelf.js";
import type { BenchContext } from "./context.js";
import { writeBundles } from "./lib/bundles.js";
import type { Row } from "./lib/report.js";
import { makeSignedSnaps } from "./lib/snaps.js";

const MiB = 1024 * 1024;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function benchImport(ctx: BenchContext): Promise<Row[]> {
  const totalMiB = ctx.importMiB;
  const count = Math.max(1, Math.round(totalMiB / 64));
  const each = Math.floor((totalMiB * MiB) / count);
  const dir = join(ctx.work, "import");
  ctx.log(`import: packing and signing ${count} snaps of ${Math.round(each / MiB)} MiB`);
  const snaps = await makeSignedSnaps(
    dir,
    Array.from({ length: count }, (_, i) => ({ name: `bench-big-${i}`, revision: 1, payloadBytes: each })),
  );
  const files = snaps.map((s) => s.file);
  ctx.log("import: writing one bundle per snap");
  const bundles = await writeBundles(join(dir, "bundles"), snaps);
  const bytes = snaps.reduce((n, s) => n + s.size, 0);
  // warm the page cache for both (output to /dev/null: never through this process)
  await runChecked("sh", ["-c", 'cat "$@" >/dev/null', "sh", ...files], { timeoutMs: 600_000 });

  // a fresh store that trusts the test store key, then the timed import of `inputs` into it
  const timedImport = async (run: number, inputs: readonly string[]): Promise<number> => {
    const store = join(ctx.work, `import-store-${run}`);
    const cli = (args: readonly string[]) =>
      runChecked(process.execPath, [cliPath(), "import", "--dir", store, ...args], { timeoutMs: 600_000 });
    await runChecked(process.execPath, [cliPath(), "init", "--dir", store, "--base-url", "http://127.0.0.1:8000"], {
      timeoutMs: 600_000,
    });
    await cli([...ctx.roots.flatMap((r) => ["--trusted-root", r]), ctx.storeKey]);
    const s = await timed(() => cli(inputs));
    await rm(store, { recursive: true, force: true });
    return s;
  };
  let ssl = Number.POSITIVE_INFINITY;
  let imp = Number.POSITIVE_INFINITY;
  let fromBundles = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    ssl = Math.min(
      ssl,
      await timed(() => runChecked("openssl", ["dgst", "-sha3-384", ...files], { timeoutMs: 600_000 })),
    );
    imp = Math.min(imp, await timedImport(run, files));
    // the operator's path: bundles from `snapshelf export`, each blob hashed as it is unpacked
    fromBundles = Math.min(fromBundles, await timedImport(run, bundles));
  }
  await rm(dir, { recursive: true, force: true });
  const impRate = bytes / MiB / imp;
  const sslRate = bytes / MiB / ssl;
  return [
    {
      figure: `import MB/s (${count} x ${Math.round(each / MiB)} MiB snaps)`,
      snapshelf: impRate,
      baseline: sslRate,
      baselineName: "openssl sha3-384",
      ratio: impRate / sslRate,
      target: ">= 0.9x",
      met: impRate / sslRate >= 0.9,
      note: "signed synthetic snaps (snapd's test store key), full CLI import incl. verification, copy, fsync and records; MiB/s, warm page cache, best of 3, interleaved with openssl",
    },
    {
      figure: `import MB/s from bundles (${count} x ${Math.round(each / MiB)} MiB)`,
      snapshelf: bytes / MiB / fromBundles,
      baseline: sslRate,
      baselineName: "openssl sha3-384",
      ratio: ssl / fromBundles,
      target: "-",
      met: true,
      note: "the same snaps as one bundle each (snapshelf's bundle writer): unpacked, hashed while unpacked (one pass per tar, so one CPU per bundle at a time), staged without a second copy",
    },
  ];
}
