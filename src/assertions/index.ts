/**
 * Snap assertions: parse and split/join streams, primary keys and store paths,
 * public keys, signature and chain verification (docs/assertions.md). Bytes
 * are never re-encoded.
 */
export { CANONICAL_ACCOUNT, CANONICAL_ROOT_ACCOUNT_KEY, CANONICAL_ROOT_KEY_ID } from "./canonical.js";
export { type RevisionAuthority, revisionAuthorities } from "./checks.js";
export { sha3384Base64Url } from "./encoding.js";
export {
  decodePublicKey,
  type PublicKeyInfo,
  publicKeyFromAccountKey,
  publicKeyId,
  publicKeyInfoFromAccountKey,
} from "./keys.js";
export {
  decodeStream,
  headerString,
  joinStream,
  MAX_BODY_SIZE,
  MAX_HEADERS_SIZE,
  MAX_SIGNATURE_SIZE,
  parseAssertion,
} from "./parse.js";
export { assertionRef, describeAssertion } from "./ref.js";
export { parseRfc3339 } from "./time.js";
export { canonicalRoots, checkTrustedRoots, type TrustConfig, verifyAssertions } from "./trust.js";
export type { Assertion, HeaderValue } from "./types.js";
export {
  ASSERTION_TYPES,
  type AssertionTypeInfo,
  assertionPath,
  assertionType,
  DEFAULT_PROVENANCE,
  fullPrimaryKey,
  isKnownType,
  reducePrimaryKey,
  sequenceKey,
} from "./types.js";
export { decodeSignature, type SignaturePacket, verifySignature } from "./verify.js";
