/**
 * The operator's signing key for `export --sign-key FILE`: loads the private
 * key (src/bundle/signature.ts) and takes the next value of its export
 * counter, kept beside it in `FILE.counter` (one decimal number, replaced
 * atomically, under the key's lock; `FILE.counter.lock` names its holder). Every export run with the key gets a larger counter, which
 * the importer uses, with the export time, to refuse older bundles.
 */
import { readFile } from "node:fs/promises";
import type { BundleSigner } from "../bundle/format.js";
import { type OperatorSecretKey, parseSecretKey, signMessage } from "../bundle/signature.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError, writeFileAtomic } from "../util/fs.js";
import { withLock } from "../util/lock.js";

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
      throw new SnapshelfError("input-unreadable", `cannot read passphrase file ${file}: ${fsErrorReason(err)}`);
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
  const counter = await withCounterLock(keyFile, counterFile, () => nextCounter(counterFile));
  return {
    signer: { keyId: sk.keyId, counter },
    sign: (json, comment) => signMessage(sk, json, comment),
  };
}

/**
 * Runs `fn` holding the key's counter lock (the store's lock primitive, src/util/lock.ts, named
 * after the key file; `FILE.counter.lock` says who holds it), so two exports with one key never
 * take the same counter. The lock is held for a read and a write: a busy one is waited for.
 */
function withCounterLock<T>(keyFile: string, counterFile: string, fn: () => Promise<T>): Promise<T> {
  const target = {
    dir: keyFile,
    holderFile: `${counterFile}.lock`,
    label: `signing key ${keyFile}`,
    busyCode: "locked",
  };
  // held for a read and a write only: a long bound, so a loaded machine never turns a short wait into an error
  return withLock(target, "sign", fn, { wait: { seconds: 60 } });
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
