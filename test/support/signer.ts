/**
 * A small assertion signer for tests and the bench, the way snapd's
 * `asserts.assembleAndSign` does it: headers in snapd's order, an OpenPGP v4
 * RSA/SHA-512 binary signature with one hashed creation-time subpacket,
 * `0x01`-prefixed and wrapped base64.
 *
 * The keys are snapd's PUBLISHED test keys (asserts/systestkeys/trusted.go
 * in the Debian snapd Go source that test/realclient/setup.sh installs):
 * `testrootorg`'s root key and the test store key. They are public test data,
 * trusted only by clients built with snapd's `withtestkeys` tag and by stores
 * given testrootorg with --trusted-root. Used to make signed inputs the
 * fixture generator does not: large synthetic snaps (bench), account-keys
 * with odd validity windows (hostile inputs).
 */
import { constants, createHash, createPrivateKey, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { encodeWrappedBase64 } from "../../src/assertions/encoding.js";
import { publicKeyId } from "../../src/assertions/keys.js";
import { encodeMpi, newPacketHeader, Reader, readPacket } from "../../src/assertions/openpgp.js";
import { assertionType } from "../../src/assertions/types.js";

/** snapd's test keys, in the Debian snapd Go source. */
export const SYSTESTKEYS_GO = "/usr/share/gocode/src/github.com/snapcore/snapd/asserts/systestkeys/trusted.go";

export interface SigningKey {
  /** `sign-key-sha3-384` / `public-key-sha3-384` of the key. */
  readonly id: string;
  readonly privateKey: KeyObject;
  /** The account-key body: wrapped base64 of `0x01 ‖ public-key packet` (snapd's fixed creation time). */
  readonly publicKeyBody: string;
}

const TAG_SECRET_KEY = 5;
const TAG_PUBLIC_KEY = 6;
const FIXED_CREATION_TIME = 0x5685c180;

function bigOf(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${b.toString("hex")}`);
}

function bufOf(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex");
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

/** Parses an ASCII-armored, unencrypted OpenPGP RSA secret key (RFC 4880 §5.5.3). */
export function parseArmoredPrivateKey(armored: string): SigningKey {
  const lines = armored.trim().split("\n");
  const start = lines.findIndex((l) => l.startsWith("-----BEGIN PGP PRIVATE KEY"));
  let i = start + 1;
  while (i < lines.length && lines[i]!.trim() !== "") i++; // armor headers
  const b64: string[] = [];
  for (i++; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l.startsWith("=") || l.startsWith("-----")) break;
    b64.push(l);
  }
  const pkt = readPacket(Buffer.from(b64.join(""), "base64"));
  if (pkt.tag !== TAG_SECRET_KEY) throw new Error(`expected a secret key packet, got tag ${pkt.tag}`);
  const r = new Reader(pkt.body);
  if (r.u8() !== 4) throw new Error("not a v4 key");
  r.u32();
  if (r.u8() !== 1) throw new Error("not an RSA key");
  const n = r.mpi();
  const e = r.mpi();
  if (r.u8() !== 0) throw new Error("encrypted secret keys are not supported");
  const d = bigOf(r.mpi());
  const p = bigOf(r.mpi());
  const q = bigOf(r.mpi());
  const b64u = (x: bigint | Buffer): string => (typeof x === "bigint" ? bufOf(x) : x).toString("base64url");
  const privateKey = createPrivateKey({
    key: {
      kty: "RSA",
      n: b64u(n),
      e: b64u(e),
      d: b64u(d),
      p: b64u(p),
      q: b64u(q),
      dp: b64u(d % (p - 1n)),
      dq: b64u(d % (q - 1n)),
      qi: b64u(modInverse(q, p)),
    },
    format: "jwk",
  });
  return signingKey(privateKey, n, e);
}

/** A signing key from an RSA private key (e.g. a fresh `generateKeyPairSync("rsa", ...)`). */
export function signingKeyFrom(privateKey: KeyObject): SigningKey {
  const jwk = privateKey.export({ format: "jwk" });
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) throw new Error("not an RSA private key");
  return signingKey(privateKey, Buffer.from(jwk.n, "base64url"), Buffer.from(jwk.e, "base64url"));
}

function signingKey(privateKey: KeyObject, n: Buffer, e: Buffer): SigningKey {
  const pubBody = Buffer.concat([
    Buffer.from([4]),
    Buffer.from([
      FIXED_CREATION_TIME >>> 24,
      (FIXED_CREATION_TIME >>> 16) & 0xff,
      (FIXED_CREATION_TIME >>> 8) & 0xff,
      FIXED_CREATION_TIME & 0xff,
    ]),
    Buffer.from([1]),
    encodeMpi(n),
    encodeMpi(e),
  ]);
  const encoded = Buffer.concat([Buffer.from([1]), newPacketHeader(TAG_PUBLIC_KEY, pubBody.length), pubBody]);
  return { id: publicKeyId(n, e), privateKey, publicKeyBody: encodeWrappedBase64(encoded) };
}

let testKeys: { root: SigningKey; store: SigningKey } | undefined;

/** testrootorg's root key and the test store key (`test-store`), from snapd's source. */
export function snapdTestKeys(): { root: SigningKey; store: SigningKey } {
  if (testKeys) return testKeys;
  const src = readFileSync(SYSTESTKEYS_GO, "utf8");
  const pick = (name: string): string => {
    const m = new RegExp(`${name} = \`([^\`]*)\``).exec(src);
    if (!m?.[1]) throw new Error(`cannot find ${name} in ${SYSTESTKEYS_GO}`);
    return m[1];
  };
  testKeys = {
    root: parseArmoredPrivateKey(pick("TestRootPrivKey")),
    store: parseArmoredPrivateKey(pick("TestStorePrivKey")),
  };
  return testKeys;
}

/** Header values: plain strings only (enough for the assertions tests make). */
export type Headers = Readonly<Record<string, string>>;

/**
 * Assembles and signs an assertion of `type` (snapd's header order: type,
 * format, authority-id, revision, primary key, the rest sorted, body-length,
 * sign-key-sha3-384). Returns the full encoded assertion, ending with `\n`.
 */
export function signAssertion(
  type: string,
  headers: Headers,
  key: SigningKey,
  opts: { body?: string; at?: Date } = {},
): Buffer {
  const info = assertionType(type);
  if (!info) throw new Error(`unknown assertion type ${type}`);
  const body = opts.body ?? "";
  const h: Record<string, string> = { ...headers };
  const lines = [`type: ${type}`];
  const take = (name: string): void => {
    const v = h[name];
    if (v === undefined) return;
    if (v.includes("\n")) throw new Error(`multi-line header ${name} not supported`);
    lines.push(`${name}: ${v}`);
    delete h[name];
  };
  if (h["format"] === "0") delete h["format"];
  take("format");
  take("authority-id");
  if (h["revision"] === "0") delete h["revision"];
  take("revision");
  for (const pk of info.primaryKey) {
    if (h[pk] !== undefined && h[pk] === info.optionalDefaults[pk]) delete h[pk];
    take(pk);
  }
  delete h["body-length"];
  delete h["sign-key-sha3-384"];
  delete h["type"];
  for (const k of Object.keys(h).sort()) take(k);
  if (body.length > 0) lines.push(`body-length: ${Buffer.byteLength(body)}`);
  lines.push(`sign-key-sha3-384: ${key.id}`);
  let content = lines.join("\n");
  if (body.length > 0) content += `\n\n${body}`;
  const signature = signContent(Buffer.from(content), key, opts.at ?? new Date());
  return Buffer.from(`${content}\n\n${signature}\n`);
}

/** snapd's `signContent`: wrapped base64 of `0x01 ‖ OpenPGP v4 signature packet`. */
export function signContent(content: Buffer, key: SigningKey, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const hashed = Buffer.from([5, 2, (t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff]);
  // version 4, binary document, RSA, SHA-512, hashed subpacket area
  const hashedPart = Buffer.concat([Buffer.from([4, 0, 1, 10, 0, hashed.length]), hashed]);
  const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashedPart.length]);
  const data = Buffer.concat([content, hashedPart, trailer]);
  const digest = createHash("sha512").update(data).digest();
  const value = sign("sha512", data, { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING });
  const pktBody = Buffer.concat([hashedPart, Buffer.from([0, 0]), digest.subarray(0, 2), encodeMpi(value)]);
  const block = Buffer.concat([Buffer.from([1]), newPacketHeader(2, pktBody.length), pktBody]);
  return encodeWrappedBase64(block);
}

/** RFC 3339 without milliseconds, as snapd writes times. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
