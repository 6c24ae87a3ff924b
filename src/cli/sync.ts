import { resolve } from "node:path";
import type { Command } from "commander";
import { storeLayout } from "../store/layout.js";
import { addChangeOptions, collect, layoutFrom, note, out, waitFrom } from "./common.js";

export function registerSync(program: Command): void {
  addChangeOptions(
    program
      .command("sync")
      .summary("make and update replicas of the store for more servers")
      .description(
        "Copy what serving needs (blobs, shared assertion files, the generation in service and\n" +
          "`current`) to each replica, incrementally. Two phases across all replicas: every object the\n" +
          "new generation names reaches every replica before any replica switches, so a device that got\n" +
          "an answer from one replica never gets a 404 from another. Then what the source no longer has\n" +
          "is removed (--no-prune keeps it), except the generation each replica served before.\n\n" +
          "A replica is a store directory that `serve` and `nginx-config` use as usual; every change\n" +
          "(import, release, build, gc, ...) refuses it, naming the source. A replica directory must be\n" +
          "new, empty, or a replica of this source. `serve` on a replica follows each sync by itself.\n\n" +
          "Example: snapshelf sync --dir /srv/snaps --to /mnt/site-b/snaps --to /mnt/site-c/snaps",
      )
      .requiredOption("--to <dir>", "replica directory (repeatable)", collect)
      .option("--no-prune", "keep what the source no longer has on the replicas"),
  ).action(async (opts: { dir?: string; to: string[]; prune: boolean; wait?: number | true }) => {
    const src = layoutFrom(opts);
    const { syncReplicas } = await import("../ops/sync.js");
    const report = await syncReplicas(
      src,
      opts.to.map((d) => storeLayout(resolve(d))),
      { prune: opts.prune, log: note, ...waitFrom(opts) },
    );
    for (const r of report.replicas) {
      out(`${r.dir}: generation ${report.generation} (was ${r.previous ?? "none"}), ${r.blobs} blobs copied`);
    }
  });
}
