/**
 * The pure parts of issue 15.1/15.2: minisign-format keys and signatures,
 * part files and sizes, portable names, and entry names without `:`.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { assertionEntryName } from "../../src/bundle/format.js";
import { parseParts, parseSize, partName, renderParts, writeSplit } from "../../src/bundle/parts.js";
import {
  checkSignature,
  generateOperatorKey,
  parsePublicKey,
  parseSecretKey,
  signMessage,
} from "../../src/bundle/signature.js";
import { loadExportSigner } from "../../src/export/signing.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { PortableNames, portableSegmentProblem } from "../../src/util/portable-names.js";
import { tmpWorkDir } from "../support/work-dir.js";

const fail = (reason: string): SnapshelfError => new SnapshelfError("x", `cannot import bundle b: ${reason}`);

describe("operator keys and signatures (minisign format)", () => {
  const a = generateOperatorKey(undefined);
  const b = generateOperatorKey("secret");
  const skA = parseSecretKey(a.secret, "a.key", undefined);
  const pubA = parsePublicKey(a.public, "a.pub");
  const pubB = parsePublicKey(b.public, "b.pub");
  const msg = Buffer.from('{"format": "snapshelf-bundle"}\n');

  it("a key's id is the same in both files; an encrypted key needs its passphrase", () => {
    assert.equal(skA.keyId, a.keyId);
    assert.equal(pubA.keyId, a.keyId);
    assert.throws(() => parseSecretKey(b.secret, "b.key", undefined), /b\.key: it is encrypted/);
    assert.throws(() => parseSecretKey(b.secret, "b.key", "wrong"), /b\.key: wrong passphrase/);
    assert.equal(parseSecretKey(b.secret, "b.key", "secret").keyId, b.keyId);
  });

  it("verifies with the signing key, names a foreign key, refuses any changed byte", () => {
    const sig = signMessage(skA, msg, "snapshelf bundle hello");
    assert.equal(checkSignature(sig, msg, [pubB, pubA], fail).key?.keyId, a.keyId);
    const foreign = checkSignature(sig, msg, [pubB], fail);
    assert.equal(foreign.key, undefined);
    assert.equal(foreign.keyId, a.keyId);
    const changed = Buffer.from(msg);
    changed[3] = 0x41;
    assert.throws(() => checkSignature(sig, changed, [pubA], fail), /does not verify/);
    const comment = sig.replace("trusted comment: snapshelf", "trusted comment: Snapshelf");
    assert.throws(() => checkSignature(comment, msg, [pubA], fail), /trusted comment does not verify/);
    assert.throws(() => checkSignature("garbage", msg, [pubA], fail), /not a minisign signature/);
  });

  it("refuses public keys that are not minisign Ed25519 keys", () => {
    assert.throws(() => parsePublicKey("untrusted comment: x\nAAAA\n", "k.pub"), /k\.pub: not a minisign public key/);
    assert.throws(() => parsePublicKey("", "k.pub"), /expected one base64 line/);
  });
});

describe("the export counter of a key", () => {
  it("every export with the key gets its own, larger counter, even at once; a dead holder's lock is taken over", async () => {
    const dir = await tmpWorkDir("counter-unit");
    await mkdir(dir, { recursive: true });
    const key = join(dir, "k.key");
    await writeFile(key, generateOperatorKey(undefined).secret);
    // a lock left by a process that is gone
    await writeFile(`${key}.counter.lock`, "999999999\n");
    const signers = await Promise.all(Array.from({ length: 8 }, () => loadExportSigner(key, undefined)));
    assert.deepEqual(
      signers.map((s) => s.signer.counter).sort((x, y) => x - y),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal((await readFile(`${key}.counter`, "utf8")).trim(), "8");
    assert.deepEqual((await readdir(dir)).sort(), ["k.key", "k.key.counter"]);
  });
});

describe("bundle parts", () => {
  it("sizes with units", () => {
    assert.equal(parseSize("4096"), 4096);
    assert.equal(parseSize("64K"), 65536);
    assert.equal(parseSize("3900M"), 3900 * 1024 ** 2);
    assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
    assert.equal(parseSize("1.5G"), undefined);
    assert.equal(parseSize("x"), undefined);
  });

  it("splits a stream at the size exactly, whole when it fits; parts files round-trip", async () => {
    const dir = await tmpWorkDir("parts-unit");
    await mkdir(dir, { recursive: true });
    const data = Buffer.alloc(10_000, 7);
    const target = join(dir, "x.snapshelf.tar");
    const w = await writeSplit(
      Readable.from([data.subarray(0, 3000), data.subarray(3000)]),
      target,
      join(dir, ".tmp"),
      4096,
    );
    assert.deepEqual((await readdir(dir)).sort(), [
      "x.snapshelf.tar.001",
      "x.snapshelf.tar.002",
      "x.snapshelf.tar.003",
      "x.snapshelf.tar.parts.json",
    ]);
    assert.equal(w.size, 10_000);
    const m = parseParts(await readFile(join(dir, "x.snapshelf.tar.parts.json"), "utf8"), "p");
    assert.deepEqual(
      m.parts.map((p) => p.size),
      [4096, 4096, 1808],
    );
    assert.equal(parseParts(renderParts(m), "p").size, 10_000);
    // written again, smaller: whole, and the parts of before are gone
    await writeSplit(Readable.from([data.subarray(0, 100)]), target, join(dir, ".tmp"), 4096);
    assert.deepEqual(await readdir(dir), ["x.snapshelf.tar"]);
    assert.equal(partName("x.snapshelf.tar", 0), "x.snapshelf.tar.001");
    assert.throws(
      () => parseParts(renderParts({ ...m, size: 5 }), "p"),
      /cannot read bundle p: field size: 5, but the parts add up to 10000/,
    );
  });
});

describe("portable names (FAT, exFAT, NTFS)", () => {
  it("refuses characters, trailing dots, device names and case-only twins", () => {
    assert.match(portableSegmentProblem("a:b") ?? "", /the character ":"/);
    assert.match(portableSegmentProblem("abc.") ?? "", /trailing dot/);
    assert.match(portableSegmentProblem("NUL.txt") ?? "", /DOS device name/);
    assert.equal(portableSegmentProblem("account-key_x=y,+@.assert"), undefined);
    const n = new PortableNames();
    assert.equal(n.add("v2/assertions/account/Abc/_.assert"), undefined);
    assert.equal(n.add("v2/assertions/account/Abc/_.assert"), undefined, "the same path twice is one file");
    assert.match(n.add("v2/assertions/account/aBC/_.assert") ?? "", /differ only by case/);
  });

  it("bundle entry names never carry a colon", () => {
    const hex = "ab".repeat(48);
    assert.equal(
      assertionEntryName("model", ["16", "brand", "a:b"], hex),
      `assertions/model_${hex.slice(0, 32)}.assert`,
    );
    assert.equal(assertionEntryName("account", ["abc"], hex), "assertions/account_abc.assert");
  });
});
