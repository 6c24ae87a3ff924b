import type { Command } from "commander";
import { checkArchOption } from "../model/option-checks.js";
import { formatTable, toJson } from "../ops/format.js";
import { addChangeOptions, addDirOption, layoutFrom, out, waitFrom } from "./common.js";
import { checkedChannels } from "./option-checks.js";

export function registerOverride(program: Command): void {
  addChangeOptions(
    program
      .command("override")
      .summary("pin the revision a channel serves")
      .description(
        "Make CHANNEL of NAME serve REVISION, whatever the imported releases say, until\n" +
          "`delete-override`. The imported release history is kept untouched. Without --arch the\n" +
          "override applies to every architecture REVISION is built for. An override is the\n" +
          "channel's head: a device whose installed epoch REVISION cannot read walks back through\n" +
          "the imported history (the newest earlier release it can read), as after a release.\n" +
          "Run `build` to serve it.",
      )
      .argument("<name>", "snap name")
      .argument("<channel=revision>", "e.g. stable=12, 2.x/candidate=30, latest/stable/hotfix=7")
      .option("--arch <arch>", "only on this architecture")
      .addHelpText("after", "\nExamples:\n  snapshelf override hello stable=12\n  snapshelf build\n"),
  ).action(async (name: string, spec: string, opts: { dir?: string; arch?: string; wait?: number | true }) => {
    const { parseChannelRevision, setOverride } = await import("../ops/overrides.js");
    const { channel, revision } = parseChannelRevision(spec);
    const layout = layoutFrom(opts);
    if (opts.arch !== undefined) checkArchOption(opts.arch, { all: true });
    await checkedChannels(layout, [channel]);
    const set = await setOverride(
      layout,
      { name, channel, revision, ...(opts.arch !== undefined ? { arch: opts.arch } : {}) },
      new Date(),
      waitFrom(opts),
    );
    out(
      `${name} ${set[0]?.channel ?? channel} now serves revision ${revision} (${set.map((o) => o.arch).join(", ")}); run snapshelf build`,
    );
  });

  addDirOption(
    program
      .command("list-overrides")
      .summary("list overrides and the imported release each one shadows")
      .argument("[name]", "only this snap")
      .option("--json", "machine-readable output"),
  ).action(async (name: string | undefined, opts: { dir?: string; json?: boolean }) => {
    const layout = layoutFrom(opts);
    const [{ readRecords }, { listOverrides }] = await Promise.all([
      import("../store/state.js"),
      import("../ops/overrides.js"),
    ]);
    const list = listOverrides(await readRecords(layout), name);
    if (opts.json) return out(toJson(list));
    if (list.length === 0) return out("no overrides");
    const rows = list.map((o) => [
      o.name,
      o.channel,
      o.arch,
      String(o.revision),
      o.imported === undefined ? "-" : String(o.imported),
      o.at,
    ]);
    for (const l of formatTable([["NAME", "CHANNEL", "ARCH", "REVISION", "IMPORTED", "SINCE"], ...rows])) out(l);
  });

  addChangeOptions(
    program
      .command("delete-override")
      .summary("drop an override: the imported release serves again")
      .description(
        "Delete the override of CHANNEL of NAME (on every architecture, or --arch only). The\n" +
          "channel serves its imported release again after the next `build`.",
      )
      .argument("<name>", "snap name")
      .argument("<channel>", "e.g. stable, 2.x/candidate")
      .option("--arch <arch>", "only on this architecture"),
  ).action(async (name: string, channel: string, opts: { dir?: string; arch?: string; wait?: number | true }) => {
    const layout = layoutFrom(opts);
    const { deleteOverride } = await import("../ops/overrides.js");
    const deleted = await deleteOverride(layout, name, channel, opts.arch, waitFrom(opts));
    out(
      `deleted override of ${name} ${deleted[0]?.channel ?? channel} (${deleted.map((o) => `${o.arch}: r${o.revision}`).join(", ")}); run snapshelf build`,
    );
  });
}
