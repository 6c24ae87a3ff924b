import type { Command } from "commander";
import { toJson } from "../ops/format.js";
import { SnapshelfError } from "../util/errors.js";
import { addDirOption, layoutFrom, note, out } from "./common.js";

export function registerVerify(program: Command): void {
  addDirOption(
    program
      .command("verify")
      .summary("check every blob, assertion chain and tree file; exit 1 on any problem")
      .description(
        "Re-hash every blob (sha3-384 and size), re-verify every assertion chain to the\n" +
          "trusted roots, re-render the tree in service from its own catalogue and compare\n" +
          "every file (missing, extra, different), and check every download URL of every\n" +
          "generation names a blob that is there. Prints one line per problem, `FILE: REASON`\n" +
          "(paths relative to the store), and exits 1 if there is any.",
      )
      .option("--json", "machine-readable output"),
  ).action(async (opts: { dir?: string; json?: boolean }) => {
    const layout = layoutFrom(opts);
    const { verifyStore } = await import("../ops/verify.js");
    const r = await verifyStore(layout, { log: note });
    if (opts.json) out(toJson(r));
    else {
      for (const p of r.problems) out(`${p.file}: ${p.reason}`);
      for (const n of r.notes) note(`note: ${n}`);
      const c = r.checked;
      note(
        `checked ${c.blobs} blobs, ${c.assertions} assertions, ${c.treeFiles} files of generation ${c.generation ?? "-"}, ${c.generations} generations`,
      );
    }
    if (r.problems.length > 0) {
      throw new SnapshelfError("verify-failed", `cannot verify ${layout.root}: ${r.problems.length} problems found`);
    }
    if (!opts.json) out("no problems found");
  });
}
