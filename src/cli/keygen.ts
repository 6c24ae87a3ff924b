import { open, rename } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { generateOperatorKey } from "../bundle/signature.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, fsyncDir, pathExists, tempPathFor, unlinkQuiet } from "../util/fs.js";
import { out } from "./common.js";

/** Writes `text` to `path` with `mode`, temp + rename; refuses to replace an existing file. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  if (await pathExists(path)) {
    throw new SnapshelfError("exists", `cannot write ${path}: file exists (remove it first; a key is never replaced)`);
  }
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.chmod(mode);
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    throw new SnapshelfError("write-failed", `cannot write ${path}: ${fsErrorReason(err)}`);
  }
}

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .summary("make an operator key pair to sign bundles with")
    .description(
      "Write a new Ed25519 key pair for `export --sign-key`: the private key to FILE\n" +
        "(mode 600; PKCS#8 PEM, encrypted with a passphrase unless --unencrypted) and the\n" +
        "public key to FILE.pub in minisign's format, for `import --signed-by FILE.pub` on the\n" +
        "offline side and for `minisign -Vm bundle.json -p FILE.pub` by hand.\n\n" +
        "The passphrase comes from --passphrase-file or $SNAPSHELF_KEY_PASSPHRASE; without\n" +
        "one, keygen refuses unless --unencrypted says the key is to sit on disk in the clear\n" +
        "(unattended exports). Keep the private key on the connected side; an existing FILE is\n" +
        "never replaced.",
    )
    .requiredOption("--output <file>", "private key file (the public key goes to FILE.pub)")
    .option("--passphrase-file <file>", "read the passphrase from this file (first line)")
    .option("--unencrypted", "store the private key unencrypted (for unattended export)")
    .action(async (opts: { output: string; passphraseFile?: string; unencrypted?: boolean }) => {
      const path = resolve(opts.output);
      const { readPassphrase } = await import("../export/signing.js");
      const passphrase = await readPassphrase(opts.passphraseFile);
      if (passphrase === undefined && opts.unencrypted !== true) {
        throw new SnapshelfError(
          "no-passphrase",
          `cannot write ${path}: no passphrase (--passphrase-file or SNAPSHELF_KEY_PASSPHRASE), and no --unencrypted`,
        );
      }
      if (passphrase !== undefined && opts.unencrypted === true) {
        throw new SnapshelfError(
          "invalid-passphrase",
          "cannot make a key: --unencrypted and a passphrase contradict each other",
        );
      }
      if (passphrase === "")
        throw new SnapshelfError("invalid-passphrase", "cannot make a key: the passphrase is empty");
      // neither file may exist: never a new public key beside an old private one
      for (const f of [path, `${path}.pub`]) {
        if (await pathExists(f)) {
          throw new SnapshelfError(
            "exists",
            `cannot write ${f}: file exists (remove it first; a key is never replaced)`,
          );
        }
      }
      const k = generateOperatorKey(passphrase);
      await writeNew(`${path}.pub`, k.public, 0o644);
      await writeNew(path, k.secret, 0o600);
      await fsyncDir(resolve(path, ".."));
      out(
        `wrote ${path} (${passphrase === undefined ? "unencrypted" : "encrypted"}) and ${path}.pub: key id ${k.keyId}`,
      );
    });
}
