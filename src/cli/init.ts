import type { Command } from "commander";
import { loopbackReason } from "../model/base-url.js";
import { addDirOption, layoutAt, note, out } from "./common.js";

export function registerInit(program: Command): void {
  addDirOption(
    program
      .command("init")
      .summary("create a store and fix the URL devices reach it at")
      .description(
        "Create an empty store in --dir (absent or empty) and record the base URL devices reach it\n" +
          "at: download URLs, nginx-config and client-config all derive from it. Every other verb\n" +
          "refuses a directory that is not a store, so a mistyped --dir never makes a new one.\n" +
          "`build --base-url` changes the URL later (the next build renders everything for it).",
      )
      .requiredOption("--base-url <url>", "URL devices reach this store at (http or https, no query)")
      .option("--name <name>", "the store's name on its catalogue page (default: the base URL's host)"),
  ).action(async (opts: { dir?: string; baseUrl: string; name?: string }) => {
    const layout = layoutAt(opts);
    const { initStore } = await import("../ops/init.js");
    const r = await initStore(layout, { baseUrl: opts.baseUrl, ...(opts.name ? { name: opts.name } : {}) });
    out(`store created in ${r.dir} for ${r.baseUrl}`);
    const loop = loopbackReason(r.baseUrl);
    if (loop !== undefined) note(`note: ${loop}; devices cannot reach it (fine for a test on this host)`);
  });
}
