/**
 * Public keys of `account-key` assertions (assertions.md §7): the body is
 * `base64(0x01 ‖ OpenPGP v4 RSA public-key packet)`; the key id is the
 * SHA3-384 of `0x01 ‖ packet` re-serialized the way snapd does (fixed
 * creation time, minimal lengths), which for any snapd-made key equals the
 * digest of the decoded body.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { SnapshelfError } from "../util/errors.js";
import { decodeWrappedBase64, sha3384Base64Url } from "./encoding.js";
import { encodeMpi, newPacketHeader, PacketError, Reader, readPacket } from "./openpgp.js";
import type { Assertion } from "./types.js";

/** A decoded assertion public key. */
export interface PublicKeyInfo {
  /** The key id (`public-key-sha3-384` / `sign-key-sha3-384` value). */
  readonly id: string;
  /** The RSA public key, usable with `crypto.verify`. */
  readonly key: KeyObject;
  /** Modulus size in bits. */
  readonly bits: number;
}

/** snapd's format version byte in front of keys and signatures. */
export const FORMAT_V1 = 0x01;
/** snapd's fixed key creation time, 2016-01-01T00:00:00Z (`v1FixedTimestamp`). */
const FIXED_CREATION_TIME = 0x5685c180;
const TAG_PUBLIC_KEY = 6;
const ALGO_RSA = 1;

/**
 * Decodes an encoded public key (account-key body or serial `device-key`),
 * returning the key or the reason it is invalid.
 */
export function tryDecodePublicKey(encoded: Buffer | string): PublicKeyInfo | string {
  const text = typeof encoded === "string" ? encoded : encoded.toString("utf8");
  const raw = decodeWrappedBase64(text);
  if (raw === undefined) return "illegal base64 data";
  if (raw.length === 0) return "base64 without data";
  if (raw[0] !== FORMAT_V1) return `unsupported public key format version: ${raw[0]}`;
  let n: Buffer;
  let e: Buffer;
  try {
    const pkt = readPacket(raw.subarray(1));
    if (pkt.rest.length !== 0) return "public key has spurious trailing data";
    if (pkt.tag !== TAG_PUBLIC_KEY) return `expected public key packet, got packet tag ${pkt.tag}`;
    const r = new Reader(pkt.body);
    const version = r.u8();
    if (version !== 4) return `unsupported public key packet version ${version}`;
    r.u32(); // creation time: snapd ignores it and rebuilds the packet with the fixed one
    const algo = r.u8();
    if (algo !== ALGO_RSA) return `expected RSA public key, got algorithm ${algo}`;
    n = r.mpi();
    e = r.mpi();
    if (r.remaining !== 0) return "public key packet has spurious trailing data";
  } catch (err) {
    if (err instanceof PacketError) return err.message;
    throw err;
  }
  if (n.length === 0 || e.length === 0) return "invalid RSA public key";
  if (e.length > 3) return "large public exponent";
  const id = publicKeyId(n, e);
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") },
      format: "jwk",
    });
  } catch {
    return "invalid RSA public key";
  }
  const bits = (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
  return { id, key, bits };
}

/** Like {@link tryDecodePublicKey} but throws a `SnapshelfError` (`assertion-key`). */
export function decodePublicKey(encoded: Buffer | string): PublicKeyInfo {
  const res = tryDecodePublicKey(encoded);
  if (typeof res === "string") throw new SnapshelfError("assertion-key", `cannot decode public key: ${res}`);
  return res;
}

/** Key id of an RSA key given its modulus and exponent (big-endian magnitudes). */
export function publicKeyId(n: Buffer, e: Buffer): string {
  const body = Buffer.concat([
    Buffer.from([4]),
    uint32(FIXED_CREATION_TIME),
    Buffer.from([ALGO_RSA]),
    encodeMpi(n),
    encodeMpi(e),
  ]);
  return sha3384Base64Url(
    Buffer.concat([Buffer.from([FORMAT_V1]), newPacketHeader(TAG_PUBLIC_KEY, body.length), body]),
  );
}

function uint32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

/**
 * The public key of an `account-key` assertion, after checking that its
 * `public-key-sha3-384` header is the id of the key in its body.
 * Throws `SnapshelfError` (`assertion-key`).
 */
export function publicKeyInfoFromAccountKey(a: Assertion): PublicKeyInfo {
  if (a.type !== "account-key") {
    throw new SnapshelfError("assertion-key", `cannot use ${a.type} assertion as a public key: not an account-key`);
  }
  const info = tryDecodePublicKey(a.body);
  if (typeof info === "string") {
    throw new SnapshelfError("assertion-key", `cannot decode public key of account-key ${a.primaryKey[0]}: ${info}`);
  }
  if (info.id !== a.primaryKey[0]) {
    throw new SnapshelfError(
      "assertion-key",
      `cannot use account-key ${a.primaryKey[0]}: public key does not match provided key id`,
    );
  }
  return info;
}

/** {@link publicKeyInfoFromAccountKey}, returning only the `KeyObject`. */
export function publicKeyFromAccountKey(a: Assertion): KeyObject {
  return publicKeyInfoFromAccountKey(a).key;
}
