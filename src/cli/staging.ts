import { type Command, InvalidArgumentError } from "commander";
import { formatChange } from "../catalogue/device-view.js";
import { toJson } from "../ops/format.js";
import { addDirOption, layoutFrom, out } from "./common.js";

function generationArg(v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError("a generation is a positive integer");
  return Number(v);
}

export function registerStaging(program: Command): void {
  addDirOption(
    program
      .command("switch")
      .summary("put a generation in service (after build --no-switch)")
      .description(
        "Put GENERATION in service: the checked, atomic switch `rollback` makes (its tree reads and\n" +
          "every blob it serves is present), for a generation made by `build --no-switch` or any\n" +
          "other. `snapshelf diff GENERATION` first shows what devices would see change.",
      )
      .argument("<generation>", "generation number (see snapshelf generations)", generationArg)
      .addHelpText("after", "\nExamples:\n  snapshelf build --no-switch\n  snapshelf diff\n  snapshelf switch 7\n"),
  ).action(async (generation: number, opts: { dir?: string }) => {
    const layout = layoutFrom(opts);
    const { switchGeneration } = await import("../ops/staging.js");
    const r = await switchGeneration(layout, generation);
    out(
      r.from === r.to
        ? `generation ${r.to} is already in service`
        : `generation ${r.to} in service (was ${r.from ?? "none"})`,
    );
  });

  addDirOption(
    program
      .command("diff")
      .summary("what devices would see change between two generations")
      .description(
        "Per snap, channel and architecture, the revision devices get that changes from generation\n" +
          "FROM to generation TO: a new revision, a channel that opens (new) or closes. Without\n" +
          "arguments: from the generation in service to the newest one (a `build --no-switch`);\n" +
          "with one: from the generation in service to it.",
      )
      .argument("[from]", "generation", generationArg)
      .argument("[to]", "generation", generationArg)
      .option("--json", "machine-readable output"),
  ).action(async (a: number | undefined, b: number | undefined, opts: { dir?: string; json?: boolean }) => {
    const layout = layoutFrom(opts);
    const { diffGenerations } = await import("../ops/staging.js");
    const d = await diffGenerations(layout, a, b);
    if (opts.json) return out(toJson(d));
    out(
      `generation ${d.from} -> ${d.to}: ${d.changes.length} change${d.changes.length === 1 ? "" : "s"} devices would see`,
    );
    for (const c of d.changes) out(`  ${formatChange(c)}`);
  });
}
