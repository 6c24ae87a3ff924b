import { type Command, InvalidArgumentError } from "commander";
import { formatTable, toJson } from "../ops/format.js";
import { addChangeOptions, addDirOption, layoutFrom, out, waitFrom } from "./common.js";

function generationArg(v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError("a generation is a positive integer");
  return Number(v);
}

export function registerGenerations(program: Command): void {
  addDirOption(
    program
      .command("generations")
      .summary("list the built generations of the tree")
      .description(
        "Every `build` publishes a new generation (trees/N) and puts it in service atomically.\n" +
          "Lists them: number, when built, base URL, counts, and which one is in service (*).",
      )
      .option("--json", "machine-readable output"),
  ).action(async (opts: { dir?: string; json?: boolean }) => {
    const layout = layoutFrom(opts);
    const { listGenerations } = await import("../ops/generations.js");
    const gens = await listGenerations(layout);
    if (opts.json) return out(toJson(gens));
    if (gens.length === 0) return out("no generations (run snapshelf build)");
    const rows = gens.map((g) => [
      `${g.current ? "*" : " "}${g.generation}`,
      g.created,
      g.baseUrl ?? "-",
      g.problem ? `unreadable: ${g.problem}` : `${g.snaps} snaps, ${g.revisions} revisions, ${g.assertions} assertions`,
    ]);
    for (const l of formatTable([[" GEN", "BUILT", "BASE URL", "CONTENTS"], ...rows])) out(l);
  });

  addChangeOptions(
    program
      .command("rollback")
      .summary("put a previous generation back in service")
      .description(
        "Put GENERATION (default: the newest one older than the one in service) back in service\n" +
          "by switching `current` atomically, after checking its tree reads and every blob it\n" +
          "serves is present. A running `serve` switches within a second (or at once on SIGHUP);\n" +
          "requests in flight finish on the generation they started with. The records are not\n" +
          "changed: they still hold what the newer generation was built from, so `status` says so and\n" +
          "`build` refuses to publish them again until they change (remove, override, release) or\n" +
          "--force. Rolling forward to the newest generation ends the rollback.",
      )
      .argument("[generation]", "generation number (see snapshelf generations)", generationArg)
      .addHelpText("after", "\nExamples:\n  snapshelf rollback\n  snapshelf rollback 3\n"),
  ).action(async (generation: number | undefined, opts: { dir?: string; wait?: number | true }) => {
    const layout = layoutFrom(opts);
    const { rollback } = await import("../ops/generations.js");
    const r = await rollback(layout, generation, waitFrom(opts));
    out(
      r.from === r.to
        ? `generation ${r.to} is already in service`
        : `generation ${r.to} in service (was ${r.from ?? "none"})`,
    );
  });
}
