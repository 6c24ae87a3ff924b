import { type Command, InvalidArgumentError } from "commander";
import { formatBytes, toJson } from "../ops/format.js";
import { addDirOption, layoutFrom, out } from "./common.js";

/** Default `status --max-export-age`, in days. */
const DEFAULT_MAX_EXPORT_AGE_DAYS = 30;

export function registerStatus(program: Command): void {
  addDirOption(
    program
      .command("status")
      .summary("what is served, what the store holds, problems found")
      .description(
        "Show the generation in service and its base URL, counts (snaps, revisions, releases,\n" +
          "overrides, assertions, generations), disk use, the trusted roots, the last import and\n" +
          "change, the retention policy, whether a build is pending, and problems a cheap look\n" +
          "finds (missing blobs or assertion objects, an unreadable tree, snaps, revisions and default\n" +
          "tracks devices cannot get because nothing is released there). `snapshelf verify`\n" +
          "re-hashes everything.",
      )
      .option("--json", "machine-readable output")
      .option(
        "--max-export-age <days>",
        `warn when a snap is served from a bundle exported longer ago (default ${DEFAULT_MAX_EXPORT_AGE_DAYS})`,
        (v: string) => {
          if (!/^[0-9]{1,5}$/.test(v)) throw new InvalidArgumentError("a number of days");
          return Number(v);
        },
        DEFAULT_MAX_EXPORT_AGE_DAYS,
      ),
  ).action(async (opts: { dir?: string; json?: boolean; maxExportAge: number }) => {
    const layout = layoutFrom(opts);
    const [{ storeStatus }, { exportAges }] = await Promise.all([
      import("../ops/status.js"),
      import("../ops/export-age.js"),
    ]);
    const s = await storeStatus(layout);
    // operator keys and the export time of each snap's last bundle (src/ops/export-age.ts)
    const ages = await exportAges(layout, new Date(), opts.maxExportAge);
    if (opts.json) return out(toJson({ ...s, bundles: ages }));
    out(`store:        ${s.dir}`);
    if (s.replicaOf !== undefined) out(`replica of:   ${s.replicaOf} (snapshelf sync; changes are made there)`);
    out(
      s.generation === undefined
        ? "in service:   nothing (run snapshelf build)"
        : `in service:   generation ${s.generation} for ${s.baseUrl ?? "?"}${s.rolledBack ? ` (rolled back from ${s.rolledBack.from})` : s.buildPending ? " (build pending)" : ""}`,
    );
    if (s.baseUrl !== undefined && s.baseUrl !== s.configuredBaseUrl) out(`next build:   for ${s.configuredBaseUrl}`);
    const c = s.counts;
    out(
      `holds:        ${c.snaps} snaps, ${c.revisions} revisions, ${c.releases} releases, ${c.overrides} overrides, ${c.assertions} assertions, ${c.generations} generations`,
    );
    out(
      `disk:         ${formatBytes(s.disk.total)} (blobs ${formatBytes(s.disk.blobs)}, trees ${formatBytes(s.disk.trees)}, state ${formatBytes(s.disk.state)})`,
    );
    for (const r of s.trustedRoots) {
      out(`trusted root: ${r.account}${r.builtIn ? " (built in)" : ""}: ${r.keys.join(", ") || "no key"}`);
    }
    out(`last import:  ${s.lastImport ? `${s.lastImport.time} by ${s.lastImport.user}` : "never"}`);
    if (s.lastChange) out(`last change:  ${s.lastChange.time} ${s.lastChange.op} by ${s.lastChange.user}`);
    const ret = s.retention;
    out(
      `retention:    ${ret.keepRevisions === undefined ? "keep every revision" : `keep ${ret.keepRevisions} revisions per channel and arch${ret.onImport ? " (also at import)" : ""}`}; ${ret.keepGenerations} generations besides the one in service`,
    );
    for (const k of ages.operatorKeys) out(`operator key: ${k} (every bundle must be signed by an operator key)`);
    for (const b of ages.snaps) {
      if (b.exportedAt === undefined) continue;
      const by = b.keyId === undefined ? "unsigned" : `key ${b.keyId} export ${b.counter ?? "?"}`;
      out(`exported:     ${b.name} at ${b.exportedAt} (${b.ageDays ?? "?"} days ago, ${by})`);
    }
    const d = s.downloads;
    if (d.processes === 0) out("downloads:    no serve running");
    else {
      out(
        `downloads:    ${d.counts.reduce((n, c) => n + c.downloads, 0)} since ${d.since ?? "?"} (${d.processes} serve process${d.processes === 1 ? "" : "es"})`,
      );
      for (const c of d.counts) out(`  ${c.name} ${c.revision}: ${c.downloads}`);
    }
    for (const n of s.notes) out(`note:         ${n}`);
    for (const w of ages.warnings) out(`warning:      ${w}`);
    if (s.problems.length === 0) out("problems:     none found (snapshelf verify checks every byte)");
    else for (const p of s.problems) out(`problem:      ${p}`);
  });
}
