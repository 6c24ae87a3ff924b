import { type Command, InvalidArgumentError } from "commander";
import { formatBytes, toJson } from "../ops/format.js";
import type { GcItem } from "../ops/gc.js";
import { addChangeOptions, layoutFrom, out, waitFrom } from "./common.js";

function count(v: string): number {
  if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError("a count is a non-negative integer");
  return Number(v);
}

function keepArg(v: string): number | "off" {
  if (v === "off") return v;
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError("retention is a positive integer or off");
  return Number(v);
}

export function registerGc(program: Command): void {
  addChangeOptions(
    program
      .command("gc")
      .summary("reclaim space: old generations, unreferenced blobs and assertions")
      .description(
        "Apply the retention policy (`snapshelf retention`, or --keep-revisions once), prune\n" +
          "generations beyond --keep-generations (default 5) besides the one in service, then\n" +
          "delete blobs and assertion objects that neither the records nor any retained\n" +
          "generation references, and leftovers of interrupted changes. A blob a retained\n" +
          "generation serves always survives, so `rollback` never hands out a URL that 404s.\n" +
          "Generations in service during the last --grace seconds are retained too (running\n" +
          "servers switch within a second; requests in flight finish where they started).\n" +
          "--dry-run lists what would go, with sizes, and changes nothing.",
      )
      .option("--dry-run", "only list what would be deleted")
      .option("--keep-revisions <n>", "keep the last N revisions per channel and arch (this run)", count)
      .option("--keep-generations <n>", "generations to keep besides the one in service", count)
      .option("--grace <seconds>", "also keep generations in service during the last N seconds (default 60)", count)
      .option("--json", "machine-readable output")
      .addHelpText(
        "after",
        "\nExamples:\n  snapshelf gc --dry-run\n  snapshelf gc --keep-generations 1\n  snapshelf gc --keep-generations 0 --grace 0   # only what is in service, now\n",
      ),
  ).action(runGc);

  addChangeOptions(
    program
      .command("retention")
      .summary("show or set the retention policy gc applies")
      .description(
        "Keep the last N revisions per channel and architecture; older released revisions are\n" +
          "removed by the next `gc` (and at every import with --on-import). Never released\n" +
          "revisions and revisions an override pins are always kept. `off` keeps everything.\n" +
          "Without an argument, shows the policy.",
      )
      .argument("[n]", "revisions to keep per channel and arch, or off", keepArg)
      .option("--on-import", "also apply it at every import"),
  ).action(async (n: number | "off" | undefined, opts: { dir?: string; onImport?: boolean; wait?: number | true }) => {
    const layout = layoutFrom(opts);
    const [{ readSettings }, { setRetention }] = await Promise.all([
      import("../store/state.js"),
      import("../ops/retention.js"),
    ]);
    let s = await readSettings(layout);
    if (n !== undefined)
      s = await setRetention(layout, n === "off" ? undefined : n, opts.onImport === true, waitFrom(opts));
    out(
      s.keepRevisions === undefined
        ? "retention: keep every revision"
        : `retention: keep the last ${s.keepRevisions} revisions per channel and arch${s.retainOnImport ? ", also at import" : " (applied by gc)"}`,
    );
  });
}

interface GcOpts {
  dir?: string;
  dryRun?: boolean;
  keepRevisions?: number;
  keepGenerations?: number;
  grace?: number;
  json?: boolean;
  wait?: number | true;
}

async function runGc(opts: GcOpts): Promise<void> {
  const layout = layoutFrom(opts);
  const { gc } = await import("../ops/gc.js");
  const r = await gc(layout, {
    dryRun: opts.dryRun === true,
    ...(opts.keepRevisions !== undefined ? { keepRevisions: opts.keepRevisions } : {}),
    ...(opts.keepGenerations !== undefined ? { keepGenerations: opts.keepGenerations } : {}),
    ...(opts.grace !== undefined ? { graceSeconds: opts.grace } : {}),
    ...waitFrom(opts),
  });
  if (opts.json) return out(toJson(r));
  const verb = r.dryRun ? "would remove" : "removed";
  for (const rev of r.revisions) out(`${verb} ${rev.name} revision ${rev.revision} (retention)`);
  const items: GcItem[] = [...r.generations, ...r.blobs, ...r.assertions, ...r.leftovers];
  for (const i of items) out(`${verb} ${i.path} (${i.what}, ${formatBytes(i.bytes)})`);
  out(
    `${r.dryRun ? "would reclaim" : "reclaimed"} ${formatBytes(r.bytes)}: ${r.generations.length} generations, ${r.blobs.length} blobs, ${r.assertions.length} assertions, ${r.leftovers.length} leftovers; kept generations ${r.keptGenerations.join(", ") || "none"}`,
  );
}
