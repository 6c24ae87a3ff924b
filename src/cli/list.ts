import type { Command } from "commander";
import { formatBytes, formatTable, toJson } from "../ops/format.js";
import { addDirOption, layoutFrom, out } from "./common.js";

export function registerList(program: Command): void {
  addDirOption(
    program
      .command("list")
      .summary("list the snaps in the store, or one snap in detail")
      .description(
        "Without NAME: one line per snap (revisions, newest version, architectures, channels,\n" +
          "overrides, size of its blobs). With NAME: its revisions (version, architectures, epoch,\n" +
          "size, where each is served) and every channel with what it serves, the override\n" +
          "pinning it if any, and the imported release history. Reads the records: what the next\n" +
          "build serves (`snapshelf status` says whether a build is pending).",
      )
      .argument("[name]", "snap name")
      .option("--json", "machine-readable output")
      .addHelpText(
        "after",
        "\nExamples:\n  snapshelf list\n  snapshelf list hello-offline\n  snapshelf list --json | jq '.[].name'\n",
      ),
  ).action(async (name: string | undefined, opts: { dir?: string; json?: boolean }) => {
    const layout = layoutFrom(opts);
    const [{ readRecords }, { listSnaps, snapDetail, summariseSnaps }] = await Promise.all([
      import("../store/state.js"),
      import("../ops/list.js"),
    ]);
    const records = await readRecords(layout);
    if (name === undefined) {
      const snaps = listSnaps(records);
      if (opts.json) return out(toJson(snaps));
      const rows = summariseSnaps(snaps).map((s) => [
        s.name,
        String(s.revisions),
        s.version,
        s.architectures.join(","),
        String(s.channels),
        String(s.overrides),
        formatBytes(s.size),
      ]);
      if (rows.length === 0) return out("no snaps in the store (snapshelf import adds some)");
      for (const l of formatTable([["NAME", "REVS", "VERSION", "ARCHES", "CHANNELS", "OVERRIDES", "SIZE"], ...rows]))
        out(l);
      return;
    }
    const s = snapDetail(records, name);
    if (opts.json) return out(toJson(s));
    out(`${s.name}  snap-id ${s.snapId}  publisher ${s.publisher.username || s.publisher.id}  ${formatBytes(s.size)}`);
    if (s.meta.defaultTrack) out(`default track: ${s.meta.defaultTrack}`);
    out("");
    const revRows = s.revisions.map((r) => [
      String(r.revision),
      r.version,
      r.architectures.join(","),
      r.epoch,
      formatBytes(r.size),
      r.createdAt,
      r.serving.join(" ") || "-",
    ]);
    for (const l of formatTable([["REV", "VERSION", "ARCHES", "EPOCH", "SIZE", "CREATED", "SERVED IN"], ...revRows]))
      out(l);
    out("");
    const chRows = s.channels.map((c) => [
      c.channel,
      c.arch,
      String(c.revision),
      c.override ? `override r${c.override.revision} (${c.override.at})` : "-",
      c.history.map((h) => String(h.revision)).join(" ") || "-",
    ]);
    if (chRows.length === 0) out("not released in any channel (snapshelf release)");
    else for (const l of formatTable([["CHANNEL", "ARCH", "SERVES", "OVERRIDE", "HISTORY"], ...chRows])) out(l);
  });
}
