import type { Command } from "commander";
import { addChangeOptions, layoutFrom, note, out, waitFrom } from "./common.js";

export function registerBuild(program: Command): void {
  addChangeOptions(
    program
      .command("build")
      .summary("render the store into a new generation of the static tree")
      .description(
        "Render everything imported into a new generation of the static tree (JSON responses,\n" +
          "assertion files) and put it in service atomically. Download URLs are built from the\n" +
          "base URL: --base-url, else the last one used, else http://127.0.0.1:8000.\n" +
          "Only the snaps whose records changed since the generation in service are rendered; the\n" +
          "others are linked from it. A new base URL or a new snapshelf renders everything.\n" +
          "After a rollback the records still hold what the rolled-back generation was built from:\n" +
          "build refuses to publish them again until they change (remove, override, release) or --force.",
      )
      .option("--base-url <url>", "URL devices reach this store at (remembered)")
      .option("--force", "build even over a rollback whose records did not change")
      .option("--no-switch", "build the generation but leave the one in service (see `switch`, `diff`)"),
  ).action(async (opts: { dir?: string; baseUrl?: string; wait?: number | true; force?: boolean; switch: boolean }) => {
    const layout = layoutFrom(opts);
    const [{ buildStore }, { checkBuildAfterRollback, clearRollback }] = await Promise.all([
      import("../build/build.js"),
      import("../ops/rollback-state.js"),
    ]);
    // a staged build publishes nothing: only a build put in service is checked against a rollback
    const rolledBack = opts.switch ? await checkBuildAfterRollback(layout, opts.force === true) : undefined;
    const r = await buildStore(layout, {
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      ...(opts.switch ? {} : { switch: false }),
      log: note,
      ...waitFrom(opts),
    });
    if (rolledBack !== undefined) await clearRollback(layout);
    if (!opts.switch) {
      out(`generation ${r.generation} built, not in service: ${r.files} files for ${r.baseUrl}`);
      out(
        `see what devices would see change: snapshelf diff ${r.generation}; publish it: snapshelf switch ${r.generation}`,
      );
      return;
    }
    out(`generation ${r.generation} in service: ${r.files} files for ${r.baseUrl}`);
  });
}
