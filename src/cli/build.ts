import type { Command } from "commander";
import { buildStore } from "../build/build.js";
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
          "others are linked from it. A new base URL or a new snapshelf renders everything.",
      )
      .option("--base-url <url>", "URL devices reach this store at (remembered)"),
  ).action(async (opts: { dir?: string; baseUrl?: string; wait?: number | true }) => {
    const r = await buildStore(layoutFrom(opts), {
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      log: note,
      ...waitFrom(opts),
    });
    out(`generation ${r.generation} in service: ${r.files} files for ${r.baseUrl}`);
  });
}
