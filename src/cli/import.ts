import type { Command } from "commander";
import type { ImportResult } from "../ops/import.js";
import { Progress } from "../util/progress.js";
import { addChangeOptions, collect, layoutFrom, out, waitFrom } from "./common.js";
import { explainImportError } from "./import-errors.js";
import { checkedChannels } from "./option-checks.js";
import { importSummary } from "./wording.js";

/** Operator keys and the exceptions to them (src/store/operator-trust.ts). */
interface TrustFlags {
  signedBy: string[];
  allowUnsigned?: boolean;
  allowOlder?: boolean;
}

export function registerImport(program: Command): void {
  addChangeOptions(
    program
      .command("import")
      .summary("verify and add snaps and assertions to the store")
      .description(
        "Verify and add .snap files, assertion files and directories of them to the store.\n\n" +
          "Every assertion must verify and chain to a trusted root (Canonical's is built in);\n" +
          "every blob must match its snap-revision (sha3-384, size) and its snap-declaration\n" +
          "must name the snap its meta/snap.yaml declares. A .snap's assertions come from\n" +
          "NAME_REV.assert beside it (as `snap download` writes), --assert files, or the store.\n" +
          "Bundles from `snapshelf export` (*.snapshelf.tar, or a directory of them) bring their\n" +
          "channel map and store metadata too: each import extends the channels' release history.\n" +
          "Nothing is changed unless everything verifies.\n\n" +
          "Once the store knows an operator key (--signed-by), every bundle must be signed by\n" +
          "one; and a bundle exported before the last one imported for its snap is refused\n" +
          "(rollback), unless --allow-unsigned or --allow-older, which the audit log records.",
      )
      .argument("<path...>", "bundles, .snap files, assertion files, or directories of them")
      .option(
        "--trusted-root <file>",
        "add a trusted root (account and account-key assertions); remembered",
        collect,
        [],
      )
      .option("--assert <file>", "assertion file to verify the snaps with (repeatable)", collect, [])
      .option("--release <channel>", "release every imported revision to CHANNEL (repeatable)", collect, [])
      .option(
        "--signed-by <file.pub>",
        "add an operator key (minisign public key); remembered: from then on every bundle must be signed by one",
        collect,
        [],
      )
      .option("--allow-unsigned", "import bundles no known operator key signed (recorded in the audit log)")
      .option(
        "--allow-older",
        "import bundles exported before the last one imported for the same snap (recorded in the audit log)",
      )
      .addHelpText(
        "after",
        "\nExamples:\n  snapshelf import export/                     # the bundles of a `snapshelf export`\n  snapshelf import hello_7.snap               # hello_7.assert beside it\n  snapshelf import --release stable ./downloads/\n",
      ),
  ).action(runImport);
}

interface ImportOpts extends TrustFlags {
  dir?: string;
  trustedRoot: string[];
  assert: string[];
  release: string[];
  wait?: number | true;
}

async function runImport(paths: string[], opts: ImportOpts): Promise<void> {
  const layout = layoutFrom(opts);
  const [{ expandBundleDirs, isBundle }, { readBundleOnThread }, { importInputs }] = await Promise.all([
    import("../bundle/read.js"),
    import("../bundle/read-thread.js"),
    import("../ops/import.js"),
  ]);
  // a typo in a channel fails now, not after every blob is hashed
  const release = await checkedChannels(layout, opts.release);
  // on a terminal, one status line for the long part (unpacking, copying); log lines go above it
  const progress = new Progress(process.stderr, { activity: { doing: "reading", things: "files" } });
  let res: ImportResult;
  const inputs = await expandBundleDirs(paths);
  try {
    res = await importInputs(layout, inputs, {
      bundles: { isBundle, read: readBundleOnThread },
      trustedRoots: opts.trustedRoot,
      asserts: opts.assert,
      release,
      bundleTrust: {
        signedBy: opts.signedBy,
        allowUnsigned: opts.allowUnsigned === true,
        allowOlder: opts.allowOlder === true,
      },
      ...waitFrom(opts),
      log: (line) => progress.note(line),
      progress: {
        start: (files, bytes) => progress.startDownloads(files, bytes),
        advance: (label, bytes, size) => progress.blobProgress(label, bytes, size),
        done: (label, size) => progress.blobDone(label, size, "quietly"),
      },
    });
  } catch (err) {
    throw explainImportError(err, layout, inputs);
  } finally {
    progress.finish();
  }
  for (const r of res.revisions) {
    out(
      `${r.present ? "already present:" : "imported"} ${r.name} revision ${r.revision} (${r.architectures.join(", ")})`,
    );
  }
  out(importSummary(res, layout.root));
}
