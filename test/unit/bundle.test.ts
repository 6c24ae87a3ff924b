/**
 * The bundle format: write -> read round trip (deterministic bytes, every
 * field back), and the reader's refusal of every unsafe or malformed archive:
 * `..`, absolute paths, symlinks, hard links, devices, fifos, duplicates,
 * oversized entries, unknown entries, truncated and corrupt archives, and
 * bundle.json errors naming the field.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Header, type HeaderData } from "tar";
import type { BundleContents } from "../../src/bundle/contents.js";
import {
  assertionEntryName,
  type BundleDoc,
  blobEntryName,
  parseBundleDoc,
  renderBundleDoc,
} from "../../src/bundle/format.js";
import { expandBundleDirs, isBundle, readBundle } from "../../src/bundle/read.js";
import { readBundleOnThread } from "../../src/bundle/read-thread.js";
import { writeBundle } from "../../src/bundle/write.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { pathExists } from "../../src/util/fs.js";
import { tmpWorkDir } from "../support/work-dir.js";

const sha3 = (b: Buffer | string): string => createHash("sha3-384").update(b).digest("hex");
const SNAP_ID = "ksxl2QbDCNufFiuNIw8C8HVxo7kux1ux";

function payload(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let h = createHash("sha256").update(seed).digest();
  for (let i = 0; i < n; i++) {
    if (i % 32 === 0) h = createHash("sha256").update(h).digest();
    out[i] = h[i % 32]!;
  }
  return out;
}

const BLOB1 = payload(5000, "blob-1");
const BLOB2 = payload(1536, "blob-2");
const ASSERT_A = Buffer.from("type: account\nauthority-id: x\naccount-id: abc\n\nSIG\n");
const ASSERT_B = Buffer.from("type: snap-declaration\nauthority-id: x\n\nSIG2\n");

function sampleDoc(): BundleDoc {
  const a1 = assertionEntryName("account", ["abc"], sha3(ASSERT_A));
  const a2 = assertionEntryName("snap-declaration", ["16", SNAP_ID], sha3(ASSERT_B));
  return {
    kind: "snap",
    version: 3,
    exportedAt: "2024-03-01T00:00:00.000Z",
    name: "hello-offline",
    snapId: SNAP_ID,
    upstream: "https://api.snapcraft.io",
    store: {
      title: "Hello Offline",
      summary: "Says hello",
      description: "Longer text.",
      publisher: { id: "abc", username: "dev", displayName: "Dev", validation: "verified" },
      license: "MIT",
      contact: "mailto:a@example.org",
      website: "https://example.org",
      storeUrl: "https://snapcraft.io/hello-offline",
      media: [{ type: "icon", url: "https://example.org/i.png", width: 64, height: 64 }],
      categories: ["utilities"],
      defaultTrack: "2.x",
    },
    channelMap: [
      { channel: "latest/stable", arch: "amd64", revision: 1, releasedAt: "2024-01-01T12:00:00Z" },
      { channel: "2.x/stable", arch: "arm64", revision: 2, releasedAt: "2024-02-01T12:00:00Z" },
      { channel: "latest/edge", arch: "amd64", revision: 9, releasedAt: "2024-02-02T12:00:00Z" },
    ],
    revisions: [
      {
        revision: 1,
        file: blobEntryName("hello-offline", 1),
        sha3_384: sha3(BLOB1),
        size: BLOB1.length,
        version: "1.0",
      },
      { revision: 2, file: blobEntryName("hello-offline", 2), sha3_384: sha3(BLOB2), size: BLOB2.length },
    ],
    assertions: [
      { file: a1, type: "account", key: ["abc"], revision: 0, sha3_384: sha3(ASSERT_A), size: ASSERT_A.length },
      {
        file: a2,
        type: "snap-declaration",
        key: ["16", SNAP_ID],
        revision: 3,
        sha3_384: sha3(ASSERT_B),
        size: ASSERT_B.length,
      },
    ],
  };
}

async function writeSample(dir: string, name = "hello-offline.snapshelf.tar"): Promise<string> {
  const doc = sampleDoc();
  const src = join(dir, "src");
  await mkdir(src, { recursive: true });
  await writeFile(join(src, "b1"), BLOB1);
  await writeFile(join(src, "b2"), BLOB2);
  const target = join(dir, name);
  await writeBundle(
    target,
    doc,
    {
      blobs: new Map([
        [doc.revisions[0]!.file, join(src, "b1")],
        [doc.revisions[1]!.file, join(src, "b2")],
      ]),
      assertions: new Map([
        [doc.assertions[0]!.file, ASSERT_A],
        [doc.assertions[1]!.file, ASSERT_B],
      ]),
    },
    join(dir, "staging"),
  );
  return target;
}

// ---- hand-made archives ----------------------------------------------------------

interface RawEntry {
  readonly path: string;
  readonly type?: HeaderData["type"];
  readonly data?: Buffer;
  /** Declared size when there is no data (devices...). */
  readonly size?: number;
  readonly linkpath?: string;
}

function rawTar(entries: readonly RawEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const size = e.data?.length ?? e.size ?? 0;
    const h = new Header({
      path: e.path,
      type: e.type ?? "File",
      size,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    parts.push(block);
    if (e.data !== undefined) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      parts.push(Buffer.alloc(pad));
    }
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A minimal valid bundle.json (assertions kind) listing the given assertion files. */
function assertionsDoc(files: readonly { file: string; data: Buffer }[]): Buffer {
  const doc: BundleDoc = {
    kind: "assertions",
    exportedAt: "2024-03-01T00:00:00.000Z",
    channelMap: [],
    revisions: [],
    assertions: files.map((f) => ({
      file: f.file,
      type: "account",
      key: ["x"],
      revision: 0,
      sha3_384: sha3(f.data),
      size: f.data.length,
    })),
  };
  return Buffer.from(renderBundleDoc(doc));
}

const A_FILE = "assertions/account_x.assert";

async function expectRefused(dir: string, name: string, tar: Buffer, pattern: RegExp, opts = {}): Promise<void> {
  const path = join(dir, `${name}.snapshelf.tar`);
  await writeFile(path, tar);
  const staging = join(dir, `staging-${name}`);
  await mkdir(staging, { recursive: true });
  await assert.rejects(readBundle(path, staging, opts), (err: unknown) => {
    assert.ok(err instanceof SnapshelfError, String(err));
    assert.match(err.message, pattern);
    assert.ok(err.message.startsWith(`cannot read bundle ${path}`), err.message);
    assert.ok(!err.message.includes("\n"), err.message);
    return true;
  });
}

describe("bundle write/read round trip", () => {
  it("gives back every blob, assertion, release and the store metadata", async () => {
    const dir = await tmpWorkDir("bundle-rt");
    const path = await writeSample(dir);
    assert.equal(await isBundle(path), true);
    const staging = join(dir, "stage");
    await mkdir(staging);
    const c = await readBundle(path, staging);
    assert.deepEqual(
      c.snapFiles.map((f) => f.slice(staging.length + 1)),
      ["blobs/hello-offline_1.snap", "blobs/hello-offline_2.snap"],
    );
    assert.deepEqual(await readFile(c.snapFiles[0]!), BLOB1);
    assert.deepEqual(await readFile(c.snapFiles[1]!), BLOB2);
    assert.deepEqual(await Promise.all(c.assertionFiles.map((f) => readFile(f))), [ASSERT_A, ASSERT_B]);
    assert.deepEqual(c.releases, [
      { name: "hello-offline", revision: 1, channel: "latest/stable", arch: "amd64", at: "2024-01-01T12:00:00Z" },
      { name: "hello-offline", revision: 2, channel: "2.x/stable", arch: "arm64", at: "2024-02-01T12:00:00Z" },
      { name: "hello-offline", revision: 9, channel: "latest/edge", arch: "amd64", at: "2024-02-02T12:00:00Z" },
    ]);
    assert.deepEqual(c.meta, {
      "hello-offline": {
        title: "Hello Offline",
        summary: "Says hello",
        description: "Longer text.",
        license: "MIT",
        contact: "mailto:a@example.org",
        website: "https://example.org",
        storeUrl: "https://snapcraft.io/hello-offline",
        media: [{ type: "icon", url: "https://example.org/i.png", width: 64, height: 64 }],
        categories: ["utilities"],
        defaultTrack: "2.x",
      },
    });
    // bundle.json survives a render/parse round trip unchanged
    assert.deepEqual(parseBundleDoc(renderBundleDoc(sampleDoc()), "x"), sampleDoc());
    // no temporaries next to the bundle, staging removed
    assert.deepEqual((await readdir(dir)).sort(), ["hello-offline.snapshelf.tar", "src", "stage", "staging"]);
    assert.deepEqual(await readdir(join(dir, "staging")), []);
  });

  it("writes the same bytes for the same inputs, entries in a fixed order", async () => {
    const dir = await tmpWorkDir("bundle-det");
    const a = await readFile(await writeSample(join(dir, "a")));
    const b = await readFile(await writeSample(join(dir, "b")));
    assert.ok(a.equals(b));
    const names: string[] = [];
    for (let off = 0; off + 512 <= a.length; ) {
      const h = new Header(a.subarray(off, off + 512));
      if (h.nullBlock || !h.path) break;
      names.push(`${h.type} ${h.path} ${h.mode?.toString(8)} ${h.uname ?? ""}`);
      off += 512 + Math.ceil((h.size ?? 0) / 512) * 512;
    }
    assert.deepEqual(names, [
      "File bundle.json 644 ",
      `File ${sampleDoc().assertions[0]!.file} 644 `,
      `File ${sampleDoc().assertions[1]!.file} 644 `,
      "File blobs/hello-offline_1.snap 644 ",
      "File blobs/hello-offline_2.snap 644 ",
    ]);
  });

  it("recognises bundles by name or by content, and expands directories of bundles", async () => {
    const dir = await tmpWorkDir("bundle-is");
    const path = await writeSample(dir, "renamed.tar");
    assert.equal(await isBundle(path), true);
    await writeFile(join(dir, "x.snap"), BLOB1);
    assert.equal(await isBundle(join(dir, "x.snap")), false);
    assert.equal(await isBundle(dir), false);
    assert.equal(await isBundle(join(dir, "missing")), false);
    const exp = join(dir, "export");
    await writeSample(exp, "b.snapshelf.tar");
    await writeSample(exp, "a.snapshelf.tar");
    assert.deepEqual(await expandBundleDirs([exp, join(dir, "x.snap")]), [
      join(exp, "a.snapshelf.tar"),
      join(exp, "b.snapshelf.tar"),
      join(dir, "x.snap"),
    ]);
  });

  it("on a pool thread: the same contents, digests of what was written, the same errors", async () => {
    const dir = await tmpWorkDir("bundle-thread");
    const path = await writeSample(dir);
    await mkdir(join(dir, "a"));
    await mkdir(join(dir, "b"));
    const here = await readBundle(path, join(dir, "a"));
    const there = await readBundleOnThread(path, join(dir, "b"));
    const rel = (c: BundleContents, base: string) => ({
      ...c,
      snapFiles: c.snapFiles.map((f) => f.slice(base.length)),
      assertionFiles: c.assertionFiles.map((f) => f.slice(base.length)),
      staged: [...(c.staged ?? [])].map(([f, d]) => [f.slice(base.length), d]),
    });
    assert.deepEqual(rel(there, join(dir, "b")), rel(here, join(dir, "a")));
    // the staged digests are those of the bytes on disk
    for (const f of there.snapFiles) {
      const d = there.staged?.get(f);
      const bytes = await readFile(f);
      assert.deepEqual(d, { sha3_384: sha3(bytes), size: bytes.length }, f);
    }
    const bad = join(dir, "bad.snapshelf.tar");
    await writeFile(bad, rawTar([{ path: "../evil", data: Buffer.from("x") }]));
    await mkdir(join(dir, "c"));
    await assert.rejects(readBundleOnThread(bad, join(dir, "c")), (err: unknown) => {
      assert.ok(err instanceof SnapshelfError, String(err));
      assert.equal(err.code, "bad-bundle");
      assert.ok(err.message.startsWith(`cannot read bundle ${bad}`), err.message);
      return true;
    });
  });

  it("reads an assertions-only bundle", async () => {
    const dir = await tmpWorkDir("bundle-vs");
    const data = Buffer.from("type: account\n\nSIG\n");
    const path = join(dir, "vs.snapshelf.tar");
    await writeFile(
      path,
      rawTar([
        { path: "bundle.json", data: assertionsDoc([{ file: A_FILE, data }]) },
        { path: A_FILE, data },
      ]),
    );
    const staging = join(dir, "s");
    await mkdir(staging);
    const c = await readBundle(path, staging);
    assert.deepEqual(c.snapFiles, []);
    assert.deepEqual(c.releases, []);
    assert.deepEqual(c.meta, {});
    assert.deepEqual(await readFile(c.assertionFiles[0]!), data);
  });
});

describe("bundle reader refuses unsafe and malformed archives", () => {
  const data = Buffer.from("type: account\n\nSIG\n");
  const json = assertionsDoc([{ file: A_FILE, data }]);
  const head = { path: "bundle.json", data: json };

  const cases: { name: string; entries: RawEntry[]; pattern: RegExp }[] = [
    { name: "dotdot", entries: [head, { path: "../evil", data }], pattern: /entry "\.\.\/evil": path escapes/ },
    {
      name: "dotdot-inside",
      entries: [head, { path: "assertions/../../evil", data }],
      pattern: /path escapes the bundle/,
    },
    { name: "absolute", entries: [head, { path: "/tmp/evil", data }], pattern: /entry "\/tmp\/evil": absolute path/ },
    {
      name: "symlink",
      entries: [head, { path: A_FILE, type: "SymbolicLink", linkpath: "/etc/passwd" }],
      pattern: /symbolic links are not allowed/,
    },
    {
      name: "hardlink",
      entries: [head, { path: A_FILE, type: "Link", linkpath: "bundle.json" }],
      pattern: /hard links are not allowed/,
    },
    { name: "chardev", entries: [head, { path: A_FILE, type: "CharacterDevice" }], pattern: /devices are not allowed/ },
    { name: "blockdev", entries: [head, { path: A_FILE, type: "BlockDevice" }], pattern: /devices are not allowed/ },
    { name: "fifo", entries: [head, { path: A_FILE, type: "FIFO" }], pattern: /fifos are not allowed/ },
    {
      name: "duplicate",
      entries: [head, { path: A_FILE, data }, { path: A_FILE, data }],
      pattern: /entry "assertions\/account_x\.assert": duplicate entry/,
    },
    { name: "duplicate-json", entries: [head, head], pattern: /entry "bundle\.json": duplicate entry/ },
    { name: "unknown", entries: [head, { path: "README", data }], pattern: /entry "README": unknown top-level entry/ },
    {
      name: "nested",
      entries: [head, { path: "assertions/sub/x.assert", data }],
      pattern: /not listed in bundle\.json/,
    },
    { name: "not-first", entries: [{ path: A_FILE, data }, head], pattern: /the first entry must be bundle\.json/ },
    {
      name: "unlisted",
      entries: [head, { path: A_FILE, data }, { path: "assertions/other.assert", data }],
      pattern: /entry "assertions\/other\.assert": not listed in bundle\.json/,
    },
    {
      name: "missing",
      entries: [head],
      pattern: /bundle\.json lists "assertions\/account_x\.assert", which the archive lacks/,
    },
    {
      name: "size-differs",
      entries: [head, { path: A_FILE, data: Buffer.concat([data, Buffer.from("x")]) }],
      pattern: /20 bytes, but bundle\.json says 19/,
    },
    {
      name: "digest",
      entries: [head, { path: A_FILE, data: Buffer.from("type: account\n\nSIX\n") }],
      pattern: /has sha3-384 [0-9a-f]{96}, but bundle\.json says/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const dir = await tmpWorkDir(`bundle-bad-${c.name}`);
      await expectRefused(dir, c.name, rawTar(c.entries), c.pattern);
      // nothing escaped the staging directory
      assert.equal(await pathExists(join(dir, "evil")), false);
      assert.equal(await pathExists("/tmp/evil"), false);
    });
  }

  it("refuses entries larger than the limits", async () => {
    const dir = await tmpWorkDir("bundle-big");
    await expectRefused(dir, "big-assertion", rawTar([head, { path: A_FILE, data }]), /more than the limit of 10/, {
      maxAssertionSize: 10,
    });
    await expectRefused(
      dir,
      "big-json",
      rawTar([head, { path: A_FILE, data }]),
      /bundle\.json": larger than 100 bytes/,
      {
        maxBundleJsonSize: 100,
      },
    );
    const blobDir = join(dir, "blob");
    await mkdir(blobDir);
    const path = await writeSample(blobDir);
    const staging = join(dir, "st");
    await mkdir(staging);
    await assert.rejects(
      readBundle(path, staging, { maxBlobSize: 4096 }),
      /blobs\/hello-offline_1\.snap": 5000 bytes, more than the limit of 4096/,
    );
  });

  it("refuses truncated and corrupt archives", async () => {
    const dir = await tmpWorkDir("bundle-trunc");
    const good = await readFile(await writeSample(join(dir, "good")));
    // cut in the middle of the first blob
    await expectRefused(dir, "truncated", good.subarray(0, good.length - 4000), /truncated archive/);
    // cut exactly between two entries (no end-of-archive blocks): the listing catches it
    let off = 0;
    let cutAt = 0;
    for (;;) {
      const h = new Header(good.subarray(off, off + 512));
      if (h.path === "blobs/hello-offline_2.snap") {
        cutAt = off;
        break;
      }
      off += 512 + Math.ceil((h.size ?? 0) / 512) * 512;
    }
    await expectRefused(dir, "cut-between", good.subarray(0, cutAt), /which the archive lacks \(truncated\?\)/);
    await expectRefused(dir, "garbage", Buffer.alloc(4096, 0x41), /corrupt archive \(header checksum failure\)/);
    await expectRefused(dir, "empty", Buffer.alloc(0), /not a tar archive/);
    const bad = Buffer.from(good);
    bad[512] = 0x21; // "!" instead of the opening brace of bundle.json: no longer JSON
    await expectRefused(dir, "corrupt-json", bad, /bundle\.json: invalid JSON/);
    const badHeader = Buffer.from(good);
    const second = 512 + Math.ceil(new Header(good.subarray(0, 512)).size! / 512) * 512;
    badHeader[second + 10] = badHeader[second + 10]! ^ 0xff; // a header's checksum no longer matches
    await expectRefused(dir, "corrupt-header", badHeader, /corrupt archive|which the archive lacks/);
  });
});

describe("bundle.json checks name the field", () => {
  const base = JSON.parse(renderBundleDoc(sampleDoc())) as Record<string, unknown>;
  const variants: { name: string; edit: (o: Record<string, unknown>) => void; pattern: RegExp }[] = [
    { name: "format", edit: (o) => (o["format"] = "zip"), pattern: /field format: expected "snapshelf-bundle"/ },
    {
      name: "version",
      edit: (o) => (o["version"] = 4),
      pattern: /field version: version 4 is newer than this snapshelf/,
    },
    { name: "kind", edit: (o) => (o["kind"] = "x"), pattern: /field kind: expected "snap" or "assertions"/ },
    { name: "name", edit: (o) => (o["name"] = "Bad_Name"), pattern: /field name: invalid value "Bad_Name"/ },
    {
      name: "revision",
      edit: (o) => delete (o["channel-map"] as Record<string, unknown>[])[1]!["revision"],
      pattern: /field channel-map\[1\]\.revision: missing/,
    },
    {
      name: "channel",
      edit: (o) => ((o["channel-map"] as Record<string, unknown>[])[0]!["channel"] = "a/b/c/d"),
      pattern: /field channel-map\[0\]\.channel: cannot parse channel/,
    },
    {
      name: "file",
      edit: (o) => ((o["revisions"] as Record<string, unknown>[])[0]!["file"] = "blobs/../x.snap"),
      pattern: /field revisions\[0\]\.file: expected "blobs\/hello-offline_1\.snap"/,
    },
    {
      name: "digest",
      edit: (o) => ((o["assertions"] as Record<string, unknown>[])[0]!["sha3-384"] = "abc"),
      pattern: /field assertions\[0\]\.sha3-384: invalid value/,
    },
    {
      name: "publisher",
      edit: (o) => ((o["store"] as Record<string, unknown>)["publisher"] = { id: 1 }),
      pattern: /field store\.publisher\.id: expected a string/,
    },
  ];
  for (const v of variants) {
    it(`rejects a bad ${v.name}`, () => {
      const o = structuredClone(base);
      v.edit(o);
      assert.throws(
        () => parseBundleDoc(JSON.stringify(o), "b.tar"),
        (err: unknown) => err instanceof SnapshelfError && err.code === "bad-bundle" && v.pattern.test(err.message),
      );
    });
  }
});
