/**
 * The operator's signing key for `export --sign-key FILE`: loads the private
 * key (src/bundle/signature.ts) and takes the next value of its export
 * counter, kept beside it in `FILE.counter` (one decimal number, replaced
 * atomically, under `FILE.counter.lock`). Every export run with the key gets a larger counter, which
 * the importer uses, with the export time, to refuse older bundles.
 */
import { open, readFile } from "node:fs/promises";
import type { BundleSigner } from "../bundle/format.js";
import { type OperatorSecretKey, parseSecretKey, signMessage } from "../bundle/signature.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError, unlinkQuiet, writeFileAtomic } from "../util/fs.js";

export interface ExportSigner {
  readonly signer: BundleSigner;
  /** The `bundle.json.minisig` text for bundle.json's bytes. */
  sign(bundleJson: Buffer, trustedComment: string): string;
}

/** The passphrase of an encrypted key: `--passphrase-file`, else $SNAPSHELF_KEY_PASSPHRASE. */
export async function readPassphrase(file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) {
    try {
      return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
    } catch (err) {
      throw new SnapshelfError("bad-input", `cannot read passphrase file ${file}: ${fsErrorReason(err)}`);
    }
  }
  return process.env["SNAPSHELF_KEY_PASSPHRASE"];
}

export async function loadExportSigner(keyFile: string, passphrase: string | undefined): Promise<ExportSigner> {
  let pem: string;
  try {
    pem = await readFile(keyFile, "utf8");
  } catch (err) {
    throw new SnapshelfError("bad-signing-key", `cannot read signing key ${keyFile}: ${fsErrorReason(err)}`);
  }
  const sk: OperatorSecretKey = parseSecretKey(pem, keyFile, passphrase);
  const counterFile = `${keyFile}.counter`;
  const counter = await withCounterLock(counterFile, () => nextCounter(counterFile));
  return {
    signer: { keyId: sk.keyId, counter },
    sign: (json, comment) => signMessage(sk, json, comment),
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrnoError(err) && err.code === "EPERM";
  }
}

/**
 * Runs `fn` holding `FILE.lock` (created exclusively, holding our pid), so two exports with
 * one key never take the same counter. A lock whose process is gone is removed; a live one
 * is waited for, a few seconds at most (it is held for a read and a write).
 */
async function withCounterLock<T>(counterFile: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${counterFile}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, "wx", 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if (!(isErrnoError(err) && err.code === "EEXIST")) {
        throw new SnapshelfError("bad-signing-key", `cannot lock ${lock}: ${fsErrorReason(err)}`);
      }
      const pid = Number((await readFile(lock, "utf8").catch(() => "")).trim());
      if (!Number.isSafeInteger(pid) || pid <= 0 || !pidAlive(pid)) {
        await unlinkQuiet(lock);
        continue;
      }
      if (attempt >= 50) {
        throw new SnapshelfError("locked", `cannot sign: another export (pid ${pid}) holds ${lock}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await unlinkQuiet(lock);
  }
}

async function nextCounter(counterFile: string): Promise<number> {
  let last = 0;
  try {
    const text = (await readFile(counterFile, "utf8")).trim();
    if (!/^[0-9]{1,15}$/.test(text)) {
      throw new SnapshelfError("bad-signing-key", `cannot read ${counterFile}: not a number`);
    }
    last = Number(text);
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    if (!(isErrnoError(err) && err.code === "ENOENT")) {
      throw new SnapshelfError("bad-signing-key", `cannot read ${counterFile}: ${fsErrorReason(err)}`);
    }
  }
  const counter = last + 1;
  try {
    await writeFileAtomic(counterFile, `${counter}\n`);
  } catch (err) {
    throw new SnapshelfError("bad-signing-key", `cannot write ${counterFile}: ${fsErrorReason(err)}`);
  }
  return counter;
}
