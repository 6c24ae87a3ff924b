/**
 * Signature verification of one assertion against one RSA key (assertions.md
 * §6): the signature block is `0x01 ‖ OpenPGP v4 signature packet`, a
 * standard RSASSA-PKCS1-v1_5 document signature over the assertion content.
 */
import { constants, createHash, type KeyObject, verify } from "node:crypto";
import { SnapshelfError } from "../util/errors.js";
import { FORMAT_V1 } from "./keys.js";
import { PacketError, Reader, readPacket } from "./openpgp.js";
import type { Assertion } from "./types.js";

/** The fields of a decoded signature packet that verification uses. */
export interface SignaturePacket {
  /** Node's name of the hash (`sha512` or `sha256`). */
  readonly hash: string;
  /** `0x04 ‖ sigtype ‖ pubkey-algo ‖ hash-algo ‖ hashed-area-length ‖ hashed subpackets` (hashed after the content). */
  readonly hashedPart: Buffer;
  /** The first two bytes of the digest, as carried by the packet. */
  readonly hashPrefix: Buffer;
  /** The RSA signature value, big-endian, leading zeros stripped. */
  readonly value: Buffer;
  /** Signature creation time (seconds since the epoch); informational, not checked by snapd (§6.3). */
  readonly creationTime: number;
}

const TAG_SIGNATURE = 2;
const SIGTYPE_BINARY = 0x00;
const ALGO_RSA = 1;
const HASHES: Readonly<Record<number, string>> = { 8: "sha256", 10: "sha512" };
const SUBPACKET_CREATION_TIME = 2;
// Subpackets RFC 4880 defines; an unknown one marked critical makes the signature invalid.
const KNOWN_SUBPACKETS = new Set([
  2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 16, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
]);

class BadSignature extends Error {}

/** Walks a subpacket area (RFC 4880 §5.2.3.1); returns the creation time if present. */
function parseSubpackets(area: Buffer, hashed: boolean): number | undefined {
  let creation: number | undefined;
  let rest = area;
  while (rest.length > 0) {
    const l0 = rest[0]!;
    let length: number;
    let off: number;
    if (l0 < 192) {
      length = l0;
      off = 1;
    } else if (l0 < 255) {
      if (rest.length < 2) throw new BadSignature("truncated signature subpacket");
      length = ((l0 - 192) << 8) + rest[1]! + 192;
      off = 2;
    } else {
      if (rest.length < 5) throw new BadSignature("truncated signature subpacket");
      length = rest.readUInt32BE(1);
      off = 5;
    }
    if (length > rest.length - off) throw new BadSignature("truncated signature subpacket");
    if (length === 0) throw new BadSignature("zero length signature subpacket");
    const sp = rest.subarray(off, off + length);
    rest = rest.subarray(off + length);
    const kind = sp[0]! & 0x7f;
    const critical = (sp[0]! & 0x80) !== 0;
    if (kind === SUBPACKET_CREATION_TIME) {
      if (!hashed) throw new BadSignature("signature creation time in non-hashed area");
      if (sp.length !== 5) throw new BadSignature("signature creation time not four bytes");
      creation = sp.readUInt32BE(1);
    } else if (hashed && critical && !KNOWN_SUBPACKETS.has(kind)) {
      throw new BadSignature(`unknown critical signature subpacket type ${kind}`);
    }
  }
  return creation;
}

/**
 * Decodes a signature block (as in `Assertion.signature`) into its packet
 * fields. Throws `SnapshelfError` (`assertion-signature`) when malformed or
 * not an RSA v4 binary-document signature with SHA-512 or SHA-256.
 */
export function decodeSignature(block: Buffer): SignaturePacket {
  try {
    if (block.length === 0) throw new BadSignature("no data");
    if (block[0] !== FORMAT_V1) throw new BadSignature(`unsupported signature format version: ${block[0]}`);
    const pkt = readPacket(block.subarray(1));
    if (pkt.rest.length !== 0) throw new BadSignature("signature has spurious trailing data");
    if (pkt.tag !== TAG_SIGNATURE) throw new BadSignature(`expected signature packet, got packet tag ${pkt.tag}`);
    const r = new Reader(pkt.body);
    const version = r.u8();
    if (version !== 4) throw new BadSignature(`unsupported signature packet version ${version}`);
    const sigType = r.u8();
    const algo = r.u8();
    const hashAlgo = r.u8();
    if (sigType !== SIGTYPE_BINARY) throw new BadSignature(`unsupported signature type ${sigType}`);
    if (algo !== ALGO_RSA) throw new BadSignature(`unsupported public key algorithm ${algo}`);
    const hash = HASHES[hashAlgo];
    if (hash === undefined) throw new BadSignature(`unsupported hash function ${hashAlgo}`);
    const hashedLength = r.u16();
    const hashed = r.bytes(hashedLength);
    const creationTime = parseSubpackets(hashed, true);
    if (creationTime === undefined) throw new BadSignature("no creation time in signature");
    const unhashed = r.bytes(r.u16());
    // The unhashed area (e.g. GnuPG's issuer subpacket) is not covered by the signature: only its structure is checked.
    parseSubpackets(unhashed, false);
    const hashPrefix = Buffer.from(r.bytes(2));
    const value = Buffer.from(r.mpi());
    if (r.remaining !== 0) throw new BadSignature("signature packet has spurious trailing data");
    const hashedPart = Buffer.concat([
      Buffer.from([4, sigType, algo, hashAlgo, hashedLength >> 8, hashedLength & 0xff]),
      hashed,
    ]);
    return { hash, hashedPart, hashPrefix, value, creationTime };
  } catch (err) {
    if (err instanceof BadSignature || err instanceof PacketError) {
      throw new SnapshelfError("assertion-signature", `cannot decode signature: ${err.message}`);
    }
    throw err;
  }
}

/**
 * Verifies `a`'s signature with `key` (the RSA key of the account-key named by
 * `a.signKeyId`). Throws `SnapshelfError` (`assertion-signature`) on failure.
 */
export function verifySignature(a: Assertion, key: KeyObject): void {
  const sig = decodeSignature(a.signature);
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(sig.hashedPart.length, 2);
  const data = Buffer.concat([a.content, sig.hashedPart, trailer]);
  const digest = createHash(sig.hash).update(data).digest();
  const failed = (why: string): never => {
    throw new SnapshelfError("assertion-signature", `failed signature verification: ${why}`);
  };
  if (!digest.subarray(0, 2).equals(sig.hashPrefix)) failed("hash tag doesn't match");
  if (key.asymmetricKeyType !== "rsa") failed("key is not an RSA key");
  const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (sig.value.length > modulusBytes) failed("verification failure");
  const padded = Buffer.concat([Buffer.alloc(modulusBytes - sig.value.length), sig.value]);
  if (!verify(sig.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, padded)) failed("verification failure");
}
