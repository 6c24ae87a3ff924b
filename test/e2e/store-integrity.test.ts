/**
 * The store's promises about its own state: identical builds, leftovers of
 * interrupted work never served and never in the way, and bad input refused
 * with one clear line while the store stays byte-identical.
 */
import assert from "node:assert/strict";
import { cp, mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { committedCatalogue, committedManifest } from "../support/fixture-store.js";
import { removeWorkDir, runProbe, tmpWorkDir } from "../support/realclient.js";
import { importFixtures, serve, snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { listTree, treeDigest } from "../support/tree-hash.js";

let work: string;
let store: string;
const cat = committedCatalogue();

before(async () => {
  work = await tmpWorkDir("integrity");
  store = join(work, "store");
  await importFixtures(store, cat, await committedManifest());
  await snapshelf(["build", "--dir", store, "--base-url", "http://store.test:8000"]);
});

after(async () => {
  await removeWorkDir(work);
});

test("two builds of the same store are byte-identical", async () => {
  await snapshelf(["build", "--dir", store]);
  const a = await listTree(join(store, "trees", "1"));
  const b = await listTree(join(store, "trees", "2"));
  assert.ok(a.size > 40, `tree has ${a.size} entries`);
  assert.deepEqual([...b], [...a]);
  assert.equal((await readFile(join(store, "current"), "utf8")).trim(), "2");
});

test("leftovers of an interrupted build or import are never served and never in the way", async () => {
  const srv = await serve(store);
  try {
    const url = srv.url ?? assert.fail("serve printed no URL");
    const before = await runProbe(url, ["-arch", "amd64", "info", "hello-offline"]);
    assert.equal(before["ok"], true);
    // what a SIGKILLed build leaves: a half-written tree and its lock; an import: staging files and orphans
    await mkdir(join(store, "trees", ".building-3", "v2", "snaps"), { recursive: true });
    await writeFile(join(store, "trees", ".building-3", "v2", "snaps", "half.json"), "{");
    await writeFile(join(store, "state", "lock"), "999999\n");
    await mkdir(join(store, "state", "tmp", "blobs"), { recursive: true });
    await writeFile(join(store, "state", "tmp", "blobs", ".blob.tmp-1-x"), "partial");
    await writeFile(join(store, "blobs", "0".repeat(96) + ".snap"), "orphan");
    const during = await runProbe(url, ["-arch", "amd64", "info", "hello-offline"]);
    assert.deepEqual(during, before, "the generation in service answers exactly as before");
    // the next change takes over the dead process's lock and cleans up
    await snapshelf(["release", "--dir", store, "hello-offline", "3", "beta"]);
    await snapshelf(["build", "--dir", store]);
    const tree = await listTree(join(store, "trees"));
    assert.ok(![...tree.keys()].some((k) => k.startsWith(".building-")), "stale partial tree removed");
    assert.ok(![...(await listTree(join(store, "state"))).keys()].some((k) => k === "lock" || k.startsWith("tmp/")));
    await snapshelfRaw(["build", "--dir", store]); // a second build in a row is fine too
  } finally {
    await srv.stop();
  }
});

describe("bad input is refused with one line naming the file, and the store is unchanged", () => {
  const cases: { name: string; make: (dir: string) => Promise<string[]>; expect: RegExp }[] = [
    {
      name: "tampered blob",
      make: async (d) => {
        const f = join(d, "hello-offline_2.snap");
        await cp(join(cat, "blobs", "hello-offline_2.snap"), f);
        const b = await readFile(f);
        b.writeUInt8(b.readUInt8(b.length - 100) ^ 0xff, b.length - 100);
        await writeFile(f, b);
        return [f];
      },
      expect: /cannot import .*hello-offline_2\.snap: no snap-revision assertion for sha3-384/,
    },
    {
      name: "truncated blob",
      make: async (d) => {
        const f = join(d, "tool-a_1.snap");
        await cp(join(cat, "blobs", "tool-a_1.snap"), f);
        await truncate(f, 4096);
        return [f];
      },
      expect: /tool-a_1\.snap/,
    },
    {
      name: "unreadable squashfs",
      make: async (d) => {
        const f = join(d, "garbage_1.snap");
        await writeFile(f, Buffer.alloc(8192, 7));
        return [f];
      },
      expect: /cannot read snap\.yaml from .*garbage_1\.snap: not a valid snap/,
    },
    {
      name: "bad signature",
      make: async (d) => {
        const f = join(d, "decl.assert");
        const text = await readFile(
          join(cat, "asserts", "16,ksxl2QbDCNufFiuNIw8C8HVxo7kux1ux.snap-declaration"),
          "utf8",
        );
        await writeFile(f, text.replace("snap-name: hello-offline", "snap-name: hello-offlinf"));
        return [f];
      },
      expect: /decl\.assert|snap-declaration/,
    },
    {
      name: "not an assertion at all",
      make: async (d) => {
        const f = join(d, "notes.txt");
        await writeFile(f, "hello\n");
        return [f];
      },
      expect: /notes\.txt/,
    },
    {
      name: "missing file",
      make: async (d) => [join(d, "nope.snap")],
      expect: /cannot import .*nope\.snap: no such file or directory/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const d = join(work, "bad", c.name.replace(/ /g, "-"));
      await mkdir(d, { recursive: true });
      const inputs = await c.make(d);
      const digest = await treeDigest(store);
      const res = await snapshelfRaw(["import", "--dir", store, ...inputs]);
      assert.notEqual(res.code, 0, "non-zero exit");
      const errLines = res.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errLines.length, 1, `one error line: ${res.stderr}`);
      assert.match(errLines[0] ?? "", c.expect);
      assert.match(errLines[0] ?? "", /^error: cannot /);
      assert.equal(await treeDigest(store), digest, "store directory unchanged");
    });
  }

  test("assertions that do not chain to a trusted root", async () => {
    const fresh = join(work, "fresh");
    await snapshelf(["import", "--dir", fresh, join(cat, "asserts", "testrootorg.account")]).catch(() => undefined);
    const digest = await treeDigest(fresh).catch(() => "absent");
    const res = await snapshelfRaw(["import", "--dir", fresh, join(cat, "asserts")]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /^error: cannot .*(no matching public key|not trusted|trusted)/m);
    assert.equal(await treeDigest(fresh).catch(() => "absent"), digest);
  });
});
