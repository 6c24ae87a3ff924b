/**
 * Large blobs are copied and hashed on worker threads (src/blobs/copy-thread.ts): the
 * digest is the same as inline hashing, a failed copy leaves the worker
 * clean for the next blob, and concurrent imports (on the workers, and
 * inline when every worker is busy) each get their own digest.
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { importBlob } from "../../src/blobs/store.js";
import { SnapshelfError } from "../../src/util/errors.js";

const MiB = 1024 * 1024;
let dir: string;
const files: { path: string; hex: string }[] = [];

before(async () => {
  dir = join(tmpdir(), `snapshelf-threaded-${process.pid}`);
  await mkdir(dir, { recursive: true });
  for (const [i, size] of [20 * MiB, 17 * MiB + 123, 3 * MiB].entries()) {
    const data = randomFillSync(Buffer.alloc(size));
    const path = join(dir, `in-${i}.snap`);
    await writeFile(path, data);
    files.push({ path, hex: createHash("sha3-384").update(data).digest("hex") });
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a large blob hashed on the worker has the inline digest", async () => {
  const [a] = files;
  assert.ok(a);
  const info = await importBlob(join(dir, "store-1"), a.path);
  assert.equal(info.sha3_384, a.hex);
});

test("a failed copy leaves the worker clean for the next blob", async () => {
  const [a, b] = files;
  assert.ok(a && b);
  const store = join(dir, "store-2");
  await assert.rejects(importBlob(store, a.path, { sha3_384: b.hex }), (e: unknown) => {
    assert.ok(e instanceof SnapshelfError);
    assert.equal(e.code, "blob-digest-mismatch");
    return true;
  });
  await assert.rejects(importBlob(store, a.path, {}, { maxSize: 18 * MiB }), /blob-too-large|more than the maximum/);
  assert.deepEqual(await readdir(store), [], "no temporaries left");
  const info = await importBlob(store, b.path);
  assert.equal(info.sha3_384, b.hex);
});

test("concurrent imports each get their own digest", async () => {
  const store = join(dir, "store-3");
  const got = await Promise.all(files.map((f) => importBlob(store, f.path)));
  assert.deepEqual(
    got.map((g) => g.sha3_384),
    files.map((f) => f.hex),
  );
});
