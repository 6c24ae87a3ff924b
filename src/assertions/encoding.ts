/**
 * Byte encodings used inside assertions: the wrapped standard base64 of
 * signatures and public keys (§2.6, §7) and the unpadded base64url SHA3-384
 * digests (§2.3, §5).
 */
import { createHash } from "node:crypto";

const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_BASE64 = /^[A-Za-z0-9_-]*$/;

/** Size of a SHA3-384 digest in bytes. */
export const SHA3_384_SIZE = 48;

/**
 * Strictly decodes padded standard base64, ignoring `\r` and `\n` anywhere
 * (Go's decoder does the same). `undefined` if malformed.
 */
export function decodeWrappedBase64(text: string): Buffer | undefined {
  const flat = text.replace(/[\r\n]/g, "");
  if (flat.length % 4 !== 0 || !STD_BASE64.test(flat)) return undefined;
  return Buffer.from(flat, "base64");
}

/** Standard padded base64 wrapped at 76 characters, as snapd writes keys and signatures (no final newline). */
export function encodeWrappedBase64(data: Uint8Array): string {
  const flat = Buffer.from(data).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < flat.length; i += 76) lines.push(flat.slice(i, i + 76));
  return lines.join("\n");
}

/** `base64url-nopad(SHA3-384(data))`, the digest encoding of assertions. */
export function sha3384Base64Url(data: Uint8Array): string {
  return createHash("sha3-384").update(data).digest("base64url");
}

/**
 * Why `s` is not a valid unpadded base64url SHA3-384 digest, or `undefined`
 * if it is one (snapd's `checkDigest` wording).
 */
export function digestProblem(name: string, s: string): string | undefined {
  if (!URL_BASE64.test(s) || s.length % 4 === 1) return `${JSON.stringify(name)} header cannot be decoded`;
  const bytes = Math.floor((s.length * 3) / 4);
  if (bytes !== SHA3_384_SIZE) {
    return `${JSON.stringify(name)} header does not have the expected bit length: ${bytes * 8}`;
  }
  return undefined;
}
