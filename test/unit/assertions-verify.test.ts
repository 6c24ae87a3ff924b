import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  type Assertion,
  CANONICAL_ACCOUNT,
  CANONICAL_ROOT_ACCOUNT_KEY,
  CANONICAL_ROOT_KEY_ID,
  decodePublicKey,
  decodeSignature,
  parseAssertion,
  publicKeyFromAccountKey,
  publicKeyInfoFromAccountKey,
  verifySignature,
} from "../../src/assertions/index.js";
import { newPacketHeader, readPacket } from "../../src/assertions/openpgp.js";
import { SnapshelfError } from "../../src/util/errors.js";

const FIXTURES = new URL("../../../test/fixtures/assertions/", import.meta.url);
const load = (name: string): Assertion => parseAssertion(readFileSync(new URL(name, FIXTURES)), name);

const STORE_KEY_ID = "XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y";
const TEST_ROOT_KEY_ID = "hIedp1AvrWlcDI4uS_qjoFLzjKl5enu4G2FYJpgB3Pj-tUzGlTQBxMBsBmi-tnJR";

const canonicalKey = parseAssertion(CANONICAL_ROOT_ACCOUNT_KEY);
const canonicalAccount = parseAssertion(CANONICAL_ACCOUNT);
const testRoot = load("test-root.account-key");
const testStore = load("test-store.account-key");
const publisher = load("publisher.account");

/** Re-parses `a` with its signature block replaced by base64 of `block`. */
function withSignatureBlock(a: Assertion, block: Buffer): Assertion {
  const b64 = block.toString("base64").replace(/(.{76})/g, "$1\n");
  return parseAssertion(Buffer.concat([a.content, Buffer.from(`\n\n${b64}\n`)]));
}

function signatureError(a: Assertion, key = publicKeyFromAccountKey(testStore)): string {
  try {
    verifySignature(a, key);
  } catch (err) {
    assert.ok(err instanceof SnapshelfError, String(err));
    assert.equal(err.code, "assertion-signature");
    return err.message;
  }
  assert.fail("verification unexpectedly succeeded");
}

describe("public keys", () => {
  it("computes the key id of Canonical's root key", () => {
    const info = publicKeyInfoFromAccountKey(canonicalKey);
    assert.equal(info.id, "-CvQKAwRQ5h3Ffn10FILJoEZUXOv6km9FwA80-Rcj-f-6jadQ89VRswHNiEB9Lxk");
    assert.equal(info.id, CANONICAL_ROOT_KEY_ID);
    assert.equal(info.bits, 8192);
    assert.equal(canonicalKey.body.length, 1406);
  });

  it("computes the key ids of the test keys", () => {
    assert.equal(publicKeyInfoFromAccountKey(testStore).id, STORE_KEY_ID);
    assert.equal(publicKeyInfoFromAccountKey(testRoot).id, TEST_ROOT_KEY_ID);
    assert.equal(publicKeyInfoFromAccountKey(testStore).bits, 4096);
  });

  it("equals the SHA3-384 of the decoded body for snapd-made keys", () => {
    for (const a of [canonicalKey, testRoot, testStore]) {
      const decoded = Buffer.from(a.body.toString().replace(/\n/g, ""), "base64");
      assert.equal(createHash("sha3-384").update(decoded).digest("base64url"), a.primaryKey[0]);
    }
  });

  it("rejects malformed keys and non-account-keys", () => {
    assert.throws(() => decodePublicKey("!!!!"), /cannot decode public key: illegal base64 data/);
    assert.throws(() => decodePublicKey(Buffer.from([2, 0xc6, 0]).toString("base64")), /format version: 2/);
    assert.throws(() => decodePublicKey(Buffer.from([1, 0xc2, 1, 4]).toString("base64")), /expected public key packet/);
    const truncated = Buffer.from(testStore.body.toString(), "base64").subarray(0, 100).toString("base64");
    assert.throws(() => decodePublicKey(truncated), /truncated packet/);
    assert.throws(() => publicKeyFromAccountKey(publisher), /not an account-key/);
  });
});

describe("verifySignature", () => {
  it("verifies Canonical's root key self-signature and Canonical's account", () => {
    const key = publicKeyFromAccountKey(canonicalKey);
    verifySignature(canonicalKey, key);
    verifySignature(canonicalAccount, key);
  });

  it("verifies the test chain: root key, store key, store-signed assertions", () => {
    const root = publicKeyFromAccountKey(testRoot);
    verifySignature(testRoot, root);
    verifySignature(testStore, root);
    const store = publicKeyFromAccountKey(testStore);
    for (const name of [
      "publisher.account",
      "snapd.snap-declaration",
      "snapd_1.snap-revision",
      "offline-set-1.validation-set",
    ]) {
      verifySignature(load(name), store);
    }
  });

  it("fails with the wrong key", () => {
    assert.match(signatureError(publisher, publicKeyFromAccountKey(testRoot)), /failed signature verification/);
  });

  it("fails when one header byte changes", () => {
    const text = publisher.raw.toString().replace("display-name: Offline Dev", "display-name: Offline Dew");
    assert.match(signatureError(parseAssertion(text)), /failed signature verification/);
  });

  it("fails when one signature byte changes", () => {
    const block = Buffer.from(publisher.signature);
    block[block.length - 10]! ^= 0x01;
    assert.match(
      signatureError(withSignatureBlock(publisher, block)),
      /failed signature verification: verification failure/,
    );
    const prefix = Buffer.from(publisher.signature);
    // the hash prefix sits right before the 2-byte MPI bit length and the 512-byte value
    prefix[prefix.length - 516]! ^= 0x01;
    assert.match(signatureError(withSignatureBlock(publisher, prefix)), /hash tag doesn't match/);
  });

  it("accepts an old-format packet header", () => {
    const pkt = readPacket(publisher.signature.subarray(1));
    const len = Buffer.alloc(2);
    len.writeUInt16BE(pkt.body.length, 0);
    const old = Buffer.concat([Buffer.from([0x01, 0x80 | (2 << 2) | 1]), len, pkt.body]);
    verifySignature(withSignatureBlock(publisher, old), publicKeyFromAccountKey(testStore));
  });
});

describe("decodeSignature", () => {
  it("reads the packet fields; the unhashed issuer subpacket is tolerated", () => {
    const s = decodeSignature(canonicalKey.signature);
    assert.equal(s.hash, "sha512");
    assert.equal(s.hashPrefix.length, 2);
    assert.equal(s.value.length, 1024);
    assert.equal(new Date(s.creationTime * 1000).toISOString(), "2016-09-05T21:33:06.000Z");
    const store = decodeSignature(publisher.signature);
    assert.equal(store.value.length, 512);
    // hashed area: exactly one creation-time subpacket
    assert.deepEqual([...store.hashedPart.subarray(0, 6)], [4, 0, 1, 10, 0, 6]);
  });

  it("rejects malformed signature blocks", () => {
    const body = readPacket(publisher.signature.subarray(1)).body;
    const block = (pktBody: Buffer, extra: Buffer = Buffer.alloc(0)): Buffer =>
      Buffer.concat([Buffer.from([1]), newPacketHeader(2, pktBody.length), pktBody, extra]);
    assert.throws(() => decodeSignature(block(body, Buffer.from([0]))), /spurious trailing data/);
    assert.throws(
      () => decodeSignature(Buffer.concat([Buffer.from([2]), block(body).subarray(1)])),
      /format version: 2/,
    );
    const mutate = (i: number, v: number): Buffer => {
      const b = Buffer.from(body);
      b[i] = v;
      return block(b);
    };
    assert.throws(() => decodeSignature(mutate(0, 3)), /unsupported signature packet version 3/);
    assert.throws(() => decodeSignature(mutate(1, 0x01)), /unsupported signature type 1/);
    assert.throws(() => decodeSignature(mutate(2, 17)), /unsupported public key algorithm 17/);
    assert.throws(() => decodeSignature(mutate(3, 2)), /unsupported hash function 2/);
    assert.throws(() => decodeSignature(mutate(7, 3)), /no creation time in signature/);
    assert.throws(() => decodeSignature(block(body.subarray(0, 40))), /unexpected end of packet/);
    const wrongTag = Buffer.concat([Buffer.from([1]), newPacketHeader(6, body.length), body]);
    assert.throws(() => decodeSignature(wrongTag), /expected signature packet/);
  });
});
