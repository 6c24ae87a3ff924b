/**
 * Operator signatures on bundles, in minisign's format (so `minisign -V`
 * checks them with no snapshelf at hand), made with node:crypto only.
 *
 * - Public key (`FILE.pub`): minisign's, `untrusted comment: ...` then
 *   base64("Ed" | key id (8 bytes) | Ed25519 public key (32 bytes)).
 * - Signature (`bundle.json.minisig`, inside the bundle): minisign's prehashed
 *   form, base64("ED" | key id | Ed25519(BLAKE2b-512(bundle.json))), then a
 *   trusted comment and base64(Ed25519(signature | trusted comment)).
 * - Private key (`FILE`, mode 600): PKCS#8 PEM, encrypted with a passphrase
 *   (AES-256-CBC, PBKDF2) unless made with `--unencrypted`; `openssl pkey`
 *   reads it. The key id is derived from the public key (the first 8 bytes of
 *   its SHA-256), so the private key file needs nothing else.
 *
 * Pure but for node:crypto: no file I/O here.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { SnapshelfError } from "../util/errors.js";

/** Entry name of the signature inside a bundle (second entry, after bundle.json). */
export const SIGNATURE_ENTRY = "bundle.json.minisig";
/** Largest signature file accepted. */
export const MAX_SIGNATURE_SIZE = 4096;

const PK_ALG = Buffer.from("Ed");
const SIG_ALG_PREHASHED = Buffer.from("ED");
const SIG_ALG_LEGACY = Buffer.from("Ed");
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface OperatorPublicKey {
  /** 16 upper-case hex digits, as minisign prints it. */
  readonly keyId: string;
  /** The base64 line of the .pub file (what a store remembers). */
  readonly line: string;
  readonly key: KeyObject;
}

export interface OperatorSecretKey {
  readonly keyId: string;
  readonly keyIdBytes: Buffer;
  readonly key: KeyObject;
  readonly publicKey: OperatorPublicKey;
}

/** minisign prints a key id as the 8 bytes read as a little-endian integer, in hex. */
function keyIdHex(id: Buffer): string {
  return Buffer.from(id).reverse().toString("hex").toUpperCase();
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32);
}

function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function keyIdFor(rawPk: Buffer): Buffer {
  return createHash("sha256").update(rawPk).digest().subarray(0, 8);
}

function publicOf(key: KeyObject): OperatorPublicKey {
  const raw = rawPublicKey(key);
  const id = keyIdFor(raw);
  return { keyId: keyIdHex(id), line: Buffer.concat([PK_ALG, id, raw]).toString("base64"), key };
}

/** A new key pair: the private key file's text and the public key file's text. */
export function generateOperatorKey(passphrase: string | undefined): { secret: string; public: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const secret =
    passphrase === undefined
      ? privateKey.export({ type: "pkcs8", format: "pem" })
      : privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase });
  const pub = publicOf(publicKey);
  return { secret: secret.toString(), public: renderPublicKey(pub), keyId: pub.keyId };
}

export function renderPublicKey(pub: OperatorPublicKey): string {
  return `untrusted comment: minisign public key ${pub.keyId} (snapshelf operator key)\n${pub.line}\n`;
}

/** Parses a private key file (`source` names it in errors). */
export function parseSecretKey(pem: string, source: string, passphrase: string | undefined): OperatorSecretKey {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("bad-signing-key", `cannot read signing key ${source}: ${reason}`);
  const encrypted = pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----");
  if (encrypted && passphrase === undefined) {
    throw fail("it is encrypted: give its passphrase with --passphrase-file or SNAPSHELF_KEY_PASSPHRASE");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: pem, format: "pem", passphrase: passphrase ?? "" } : pem);
  } catch {
    throw fail(encrypted ? "wrong passphrase or damaged key" : "not a PKCS#8 PEM private key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw fail(`not an Ed25519 key (${key.asymmetricKeyType ?? "?"})`);
  const publicKey = publicOf(createPublicKey(key));
  const keyIdBytes = Buffer.from(publicKey.line, "base64").subarray(2, 10);
  return { keyId: publicKey.keyId, keyIdBytes, key, publicKey };
}

/** Parses a minisign public key: a file's text, or just its base64 line. */
export function parsePublicKey(text: string, source: string): OperatorPublicKey {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("bad-public-key", `cannot read operator key ${source}: ${reason}`);
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("untrusted comment:"));
  if (lines.length !== 1) throw fail("expected one base64 line (a minisign public key)");
  const line = lines[0] ?? "";
  if (!/^[A-Za-z0-9+/]{56}$/.test(line)) throw fail("not a minisign public key");
  const raw = Buffer.from(line, "base64");
  if (raw.length !== 42 || !raw.subarray(0, 2).equals(PK_ALG)) throw fail("not an Ed25519 minisign public key");
  const id = raw.subarray(2, 10);
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(raw.subarray(10));
  } catch {
    throw fail("invalid Ed25519 public key");
  }
  return { keyId: keyIdHex(id), line, key };
}

/** Signs `message` (bundle.json's bytes): the text of a `.minisig` file. */
export function signMessage(sk: OperatorSecretKey, message: Buffer, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new Error("trusted comment with a line break");
  const prehash = createHash("blake2b512").update(message).digest();
  const sig = sign(null, prehash, sk.key);
  const comment = Buffer.from(trustedComment, "utf8");
  const global = sign(null, Buffer.concat([sig, comment]), sk.key);
  return (
    `untrusted comment: signature from snapshelf operator key ${sk.keyId}\n` +
    `${Buffer.concat([SIG_ALG_PREHASHED, sk.keyIdBytes, sig]).toString("base64")}\n` +
    `trusted comment: ${trustedComment}\n` +
    `${global.toString("base64")}\n`
  );
}

export interface SignatureCheck {
  /** The key that made the signature, if it is one of `keys`. */
  readonly key?: OperatorPublicKey;
  /** The signature's key id (to name a foreign key). */
  readonly keyId: string;
  readonly trustedComment: string;
}

/**
 * Checks a `.minisig` over `message` against `keys`. Throws (with `fail`)
 * when the signature is malformed or does not verify with the key whose id it
 * names; returns without `key` when no key of `keys` has its id.
 */
export function checkSignature(
  sigText: string,
  message: Buffer,
  keys: readonly OperatorPublicKey[],
  fail: (reason: string) => SnapshelfError,
): SignatureCheck {
  const lines = sigText.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== 4 || !lines[0]?.startsWith("untrusted comment:") || !lines[2]?.startsWith("trusted comment: ")) {
    throw fail(`${SIGNATURE_ENTRY}: not a minisign signature`);
  }
  const sigRaw = Buffer.from(lines[1] ?? "", "base64");
  const globalRaw = Buffer.from(lines[3] ?? "", "base64");
  if (sigRaw.length !== 74 || globalRaw.length !== 64) throw fail(`${SIGNATURE_ENTRY}: not a minisign signature`);
  const alg = sigRaw.subarray(0, 2);
  const prehashed = alg.equals(SIG_ALG_PREHASHED);
  if (!prehashed && !alg.equals(SIG_ALG_LEGACY)) throw fail(`${SIGNATURE_ENTRY}: unknown signature algorithm`);
  const keyId = keyIdHex(sigRaw.subarray(2, 10));
  const trustedComment = (lines[2] ?? "").slice("trusted comment: ".length);
  const key = keys.find((k) => k.keyId === keyId);
  if (key === undefined) return { keyId, trustedComment };
  const sig = sigRaw.subarray(10);
  const signed = prehashed ? createHash("blake2b512").update(message).digest() : message;
  if (!verify(null, signed, key.key, sig)) {
    throw fail(`signature by operator key ${keyId} does not verify (bundle.json changed after signing?)`);
  }
  if (!verify(null, Buffer.concat([sig, Buffer.from(trustedComment, "utf8")]), key.key, globalRaw)) {
    throw fail(`signature by operator key ${keyId}: trusted comment does not verify`);
  }
  return { key, keyId, trustedComment };
}
