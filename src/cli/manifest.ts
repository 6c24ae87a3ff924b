import type { Command } from "commander";
import { SnapshelfError } from "../util/errors.js";
import { pathExists } from "../util/fs.js";
import { addDirOption, layoutFrom } from "./common.js";

export function registerManifest(program: Command): void {
  addDirOption(
    program
      .command("manifest")
      .summary("print what the store holds, for `export --since`")
      .description(
        "Print, as JSON on stdout, what this offline store holds: every revision\n" +
          "with its sha3-384 and size, every assertion (type, key, revision, sha3-384\n" +
          "of its bytes), the current channel map, and the channels and architectures\n" +
          "each snap was exported with. Carry the file to the connected machine and\n" +
          "pass it to `snapshelf export --since FILE`: the bundles then hold only what\n" +
          "the store lacks; with no names, every snap is exported again as it was.",
      )
      .addHelpText("after", "\nExample:\n  snapshelf manifest --dir /srv/snaps > have.json\n"),
  ).action(async (opts: { dir?: string }) => {
    const layout = layoutFrom(opts);
    // a mistyped --dir must not pass for an empty store (`export --since` would then carry everything)
    if (!(await pathExists(layout.root))) {
      throw new SnapshelfError("store-not-found", `cannot read store ${layout.root}: no such directory`);
    }
    const [{ readRecords }, { buildManifest, renderManifest }] = await Promise.all([
      import("../store/state.js"),
      import("../export/manifest.js"),
    ]);
    const records = await readRecords(layout);
    process.stdout.write(renderManifest(buildManifest(records)));
  });
}
