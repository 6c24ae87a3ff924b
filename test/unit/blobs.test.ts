import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { blobPath, digestBase64UrlToHex, digestHexToBase64Url, hashFile, importBlob } from "../../src/blobs/store.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { pathExists, writeFileAtomic, writeJsonAtomic } from "../../src/util/fs.js";
import { tmpWorkDir } from "../support/work-dir.js";

const KNOWN_HEX = "ce0e92c0cc2d3086b5a124d2a874be03edfaff4919c56e70a5f75af238705cd5afc7445997ca29dfba363b96b6c22d04";
const KNOWN_B64 = "zg6SwMwtMIa1oSTSqHS-A-36_0kZxW5wpfda8jhwXNWvx0RZl8op37o2O5a2wi0E";
/** sha3-384("abc"), FIPS 202 test vector. */
const ABC_HEX = "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25";

function sha3(data: Buffer | string): string {
  return createHash("sha3-384").update(data).digest("hex");
}

function rejectsWith(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof SnapshelfError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"));
    return true;
  };
}

/** Sorted listing, hidden files included: temporaries must never be left behind. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe("digests", () => {
  it("converts hex <-> base64url (no padding) of the same 48 bytes", () => {
    assert.equal(digestHexToBase64Url(KNOWN_HEX), KNOWN_B64);
    assert.equal(digestBase64UrlToHex(KNOWN_B64), KNOWN_HEX);
    assert.equal(digestHexToBase64Url(KNOWN_HEX.toUpperCase()), KNOWN_B64);
    const random = sha3("round trip");
    assert.equal(digestBase64UrlToHex(digestHexToBase64Url(random)), random);
  });

  it("rejects malformed digests", () => {
    const bad = rejectsWith("invalid-digest", /^cannot use sha3-384 digest /);
    assert.throws(() => digestHexToBase64Url("abc"), bad);
    assert.throws(() => digestHexToBase64Url(`${KNOWN_HEX.slice(0, 95)}g`), bad);
    assert.throws(() => digestBase64UrlToHex(`${KNOWN_B64}=`), bad);
    assert.throws(() => digestBase64UrlToHex(KNOWN_B64.replace("-", "+")), bad);
    assert.throws(() => digestBase64UrlToHex(KNOWN_B64.slice(1)), bad);
  });

  it("addresses blobs by lowercase hex only", () => {
    assert.equal(blobPath("/store", KNOWN_HEX), `/store/${KNOWN_HEX}.snap`);
    assert.throws(() => blobPath("/store", "../../etc/passwd"), rejectsWith("invalid-digest", /not 96 lowercase/));
    assert.throws(() => blobPath("/store", KNOWN_HEX.toUpperCase()), rejectsWith("invalid-digest", /./));
  });
});

describe("importBlob", () => {
  it("hashes known content and stores it under its digest", async () => {
    const work = await tmpWorkDir("blobs-known");
    const src = join(work, "abc.txt");
    await writeFile(src, "abc");
    const root = join(work, "store");
    const info = await importBlob(root, src);
    assert.deepEqual(info, { sha3_384: ABC_HEX, size: 3, path: join(root, `${ABC_HEX}.snap`) });
    assert.equal(await readFile(info.path, "utf8"), "abc");
    assert.deepEqual(await listing(root), [`${ABC_HEX}.snap`]);
    assert.deepEqual(await hashFile(src), { sha3_384: ABC_HEX, size: 3 });
  });

  it("copies a multi-chunk stream in one pass and reports progress", async () => {
    const work = await tmpWorkDir("blobs-stream");
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    const want = sha3(data);
    const chunks: Buffer[] = [];
    for (let off = 0; off < data.length; off += 256 * 1024) chunks.push(data.subarray(off, off + 256 * 1024));
    const progress: number[] = [];
    const info = await importBlob(
      work,
      Readable.from(chunks),
      { sha3_384: want.toUpperCase(), size: data.length },
      { onProgress: (n) => progress.push(n) },
    );
    assert.equal(info.sha3_384, want);
    assert.equal(info.size, data.length);
    assert.ok((await readFile(info.path)).equals(data));
    assert.equal(progress.at(-1), data.length);
    assert.ok(progress.every((n, i) => i === 0 || n > (progress[i - 1] ?? 0)));
    assert.deepEqual(await hashFile(info.path), { sha3_384: want, size: data.length });
  });

  it("is idempotent: a second import keeps the existing file", async () => {
    const work = await tmpWorkDir("blobs-idem");
    const src = join(work, "a.bin");
    await writeFile(src, "same content");
    const root = join(work, "store");
    const first = await importBlob(root, src);
    const before = await stat(first.path);
    const second = await importBlob(root, Readable.from([Buffer.from("same content")]), {
      sha3_384: first.sha3_384,
      size: first.size,
    });
    assert.deepEqual(second, first);
    const after = await stat(second.path);
    assert.equal(after.ino, before.ino, "existing blob not replaced");
    assert.deepEqual(await listing(root), [`${first.sha3_384}.snap`]);
  });

  it("leaves nothing behind on a digest mismatch", async () => {
    const work = await tmpWorkDir("blobs-digest");
    const root = join(work, "store");
    const src = join(work, "a.bin");
    await writeFile(src, "abc");
    await importBlob(root, src);
    const before = await listing(root);
    await writeFile(src, "abd");
    await assert.rejects(
      importBlob(root, src, { sha3_384: KNOWN_HEX, size: 3 }),
      rejectsWith(
        "blob-digest-mismatch",
        new RegExp(`^cannot import blob from ${src}: sha3-384 is [0-9a-f]{96}, expected ${KNOWN_HEX}$`),
      ),
    );
    await assert.rejects(
      importBlob(root, Readable.from([Buffer.from("abd")]), { sha3_384: ABC_HEX }, { sourceName: "https://x/y.snap" }),
      rejectsWith("blob-digest-mismatch", /^cannot import blob from https:\/\/x\/y\.snap: /),
    );
    assert.deepEqual(await listing(root), before);
    assert.ok(!(await pathExists(blobPath(root, sha3("abd")))));
  });

  it("leaves nothing behind on a size mismatch", async () => {
    const work = await tmpWorkDir("blobs-size");
    const root = join(work, "store");
    const src = join(work, "a.bin");
    await writeFile(src, "abc");
    await importBlob(root, src);
    const before = await listing(root);
    // File input: caught before copying.
    await assert.rejects(
      importBlob(root, src, { size: 4 }),
      rejectsWith("blob-size-mismatch", /: size is 3 bytes, expected 4$/),
    );
    // Streams: too short is caught at the end, too long as soon as it happens.
    await assert.rejects(
      importBlob(root, Readable.from([Buffer.from("abc")]), { size: 4 }),
      rejectsWith("blob-size-mismatch", /^cannot import blob from stream: size is 3 bytes, expected 4$/),
    );
    await assert.rejects(
      importBlob(root, Readable.from([Buffer.from("ab"), Buffer.from("cd")]), { sha3_384: ABC_HEX, size: 3 }),
      rejectsWith("blob-size-mismatch", /: more than the expected 3 bytes$/),
    );
    assert.deepEqual(await listing(root), before);
  });

  it("enforces maxSize", async () => {
    const work = await tmpWorkDir("blobs-max");
    const root = join(work, "store");
    const src = join(work, "big.bin");
    await writeFile(src, Buffer.alloc(5000));
    await assert.rejects(
      importBlob(root, src, {}, { maxSize: 4999 }),
      rejectsWith("blob-too-large", /: size is 5000 bytes, more than the maximum of 4999$/),
    );
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1024;
        this.push(Buffer.alloc(1024));
      },
    });
    await assert.rejects(
      importBlob(root, endless, {}, { maxSize: 10_000 }),
      rejectsWith("blob-too-large", /: more than the maximum of 10000 bytes$/),
    );
    assert.ok(pulled < 100_000, "stopped reading early");
    assert.ok(endless.destroyed);
    assert.deepEqual(await listing(root), []);
    const ok = await importBlob(root, src, {}, { maxSize: 5000 });
    assert.equal(ok.size, 5000);
  });

  it("reports unreadable inputs and failing streams without leaving a temporary", async () => {
    const work = await tmpWorkDir("blobs-fail");
    const root = join(work, "store");
    const missing = join(work, "missing.bin");
    await assert.rejects(
      importBlob(root, missing),
      rejectsWith("blob-read-failed", new RegExp(`^cannot import blob from ${missing}: no such file or directory$`)),
    );
    await assert.rejects(importBlob(root, work), rejectsWith("blob-read-failed", /: not a regular file$/));
    const failing = new Readable({
      read() {
        this.destroy(new Error("connection reset"));
      },
    });
    await assert.rejects(importBlob(root, failing), rejectsWith("blob-import-failed", /: connection reset$/));
    assert.deepEqual(await listing(root), []);
  });
});

describe("util/fs", () => {
  it("writes files and JSON atomically", async () => {
    const work = await tmpWorkDir("fs-atomic");
    const file = join(work, "a.txt");
    await writeFileAtomic(file, "one");
    await writeFileAtomic(file, Buffer.from("two"));
    assert.equal(await readFile(file, "utf8"), "two");
    await writeJsonAtomic(join(work, "b.json"), { b: [1, 2], a: { c: null } });
    assert.equal(
      await readFile(join(work, "b.json"), "utf8"),
      '{\n  "b": [\n    1,\n    2\n  ],\n  "a": {\n    "c": null\n  }\n}\n',
    );
    await assert.rejects(writeJsonAtomic(join(work, "c.json"), undefined), rejectsWith("invalid-json", /c\.json/));
    await assert.rejects(writeFileAtomic(join(work, "nodir", "x"), "x"));
    assert.deepEqual(await listing(work), ["a.txt", "b.json"]);
    assert.ok(await pathExists(file));
    assert.ok(!(await pathExists(join(work, "a.txt", "below"))));
  });
});
