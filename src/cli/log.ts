import type { Command } from "commander";
import { toJson } from "../ops/format.js";
import { addDirOption, layoutFrom, note, out } from "./common.js";

export function registerLog(program: Command): void {
  addDirOption(
    program
      .command("log")
      .summary("show the audit log of changes to the store")
      .description(
        "Every change to the store (import, release, default-track, override, delete-override,\n" +
          "remove, retention, gc, build, rollback) appends one line to state/audit.jsonl: when,\n" +
          "which OS user, what. Shows them oldest first.",
      )
      .option("--since <time>", "only changes since a date (2026-11-01, 2026-11-01T12:00:00Z) or an age (30m, 12h, 7d)")
      .option("--op <op>", "only this kind of change, e.g. import")
      .option("--json", "machine-readable output (a JSON array)")
      .addHelpText("after", "\nExamples:\n  snapshelf log --since 7d\n  snapshelf log --op gc --json\n"),
  ).action(async (opts: { dir?: string; since?: string; op?: string; json?: boolean }) => {
    const { filterAudit, formatAuditLine, parseSince, readAuditLog } = await import("../ops/audit-log.js");
    const log = await readAuditLog(layoutFrom(opts));
    const since = opts.since === undefined ? undefined : parseSince(opts.since, new Date());
    const entries = filterAudit(log.entries, since, opts.op);
    for (const b of log.bad) note(`warning: audit log ${b}`);
    if (opts.json) return out(toJson(entries.map((e) => ({ time: e.time, user: e.user, op: e.op, ...e.detail }))));
    for (const e of entries) out(formatAuditLine(e));
  });
}
