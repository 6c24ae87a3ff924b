import { type Command, InvalidArgumentError } from "commander";
import { formatBytes } from "../ops/format.js";
import { addChangeOptions, layoutFrom, out, waitFrom } from "./common.js";

function revisions(v: string, previous: number[] = []): number[] {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError("a revision is a positive integer");
  return [...previous, Number(v)];
}

export function registerRemove(program: Command): void {
  addChangeOptions(
    program
      .command("remove")
      .summary("remove a snap or some of its revisions")
      .description(
        "Remove NAME (every revision), or only the revisions given with --revision, from the\n" +
          "store: the revisions, their release events, overrides pinning them and their\n" +
          "snap-revision assertions. Channels they headed fall back to their previous release.\n" +
          "Blobs stay on disk while a generation still serves them: run `build`, then `gc`\n" +
          "(which keeps what retained generations serve, so `rollback` never 404s).",
      )
      .argument("<name>", "snap name")
      .option("--revision <revision>", "only this revision (repeatable)", revisions, [])
      .option("--dry-run", "say what would be removed, change nothing")
      .option("--force", "remove even a snap others need as base or default content provider")
      .addHelpText(
        "after",
        "\nExamples:\n  snapshelf remove hello --revision 3\n  snapshelf build && snapshelf gc --dry-run\n",
      ),
  ).action(
    async (
      name: string,
      opts: { dir?: string; revision: number[]; wait?: number | true; dryRun?: boolean; force?: boolean },
    ) => {
      const layout = layoutFrom(opts);
      const { removeSnap } = await import("../ops/remove.js");
      const r = await removeSnap(layout, name, opts.revision, {
        ...waitFrom(opts),
        ...(opts.dryRun ? { dryRun: true } : {}),
        ...(opts.force ? { force: true } : {}),
      });
      const bytes = r.removed.reduce((n, x) => n + x.size, 0);
      out(
        `${opts.dryRun ? "would remove" : "removed"} ${name} revision ${r.removed.map((x) => x.revision).join(", ")} (${formatBytes(bytes)} of blobs, reclaimed by gc), ${r.releases} release events, ${r.overrides} overrides`,
      );
    },
  );
}
