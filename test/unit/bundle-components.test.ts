/**
 * Bundle format 3 (components): `components` round-trips through render/parse and through a
 * written and read archive (the reader hands the `.comp` entries to import as component files,
 * hashed while written); version 2 bundles still parse; a bad component entry, components in a
 * version 2 or an assertions bundle, and a component entry whose bytes differ from bundle.json
 * are refused with one line naming the field or entry.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "tar";
import {
  assertionEntryName,
  BUNDLE_VERSION,
  type BundleDoc,
  blobEntryName,
  componentEntryName,
  parseBundleDoc,
  renderBundleDoc,
} from "../../src/bundle/format.js";
import { readBundle } from "../../src/bundle/read.js";
import { writeBundle } from "../../src/bundle/write.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { tmpWorkDir } from "../support/work-dir.js";

const sha3 = (b: Buffer | string): string => createHash("sha3-384").update(b).digest("hex");
const SNAP_ID = "ksxl2QbDCNufFiuNIw8C8HVxo7kux1ux";
const SNAP = Buffer.alloc(3000, 1);
const COMP = Buffer.alloc(1200, 2);
const PAIR = Buffer.from("type: snap-resource-pair\nauthority-id: x\n\nSIG\n");

function doc(): BundleDoc {
  return {
    kind: "snap",
    version: BUNDLE_VERSION,
    exportedAt: "2024-03-01T00:00:00.000Z",
    name: "comp-offline",
    snapId: SNAP_ID,
    store: { media: [], categories: [] },
    channelMap: [{ channel: "latest/stable", arch: "amd64", revision: 1, releasedAt: "2024-01-01T12:00:00Z" }],
    revisions: [{ revision: 1, file: blobEntryName("comp-offline", 1), sha3_384: sha3(SNAP), size: SNAP.length }],
    assertions: [
      {
        file: assertionEntryName("snap-resource-pair", [SNAP_ID, "extra", "2", "1"], sha3(PAIR)),
        type: "snap-resource-pair",
        key: [SNAP_ID, "extra", "2", "1"],
        revision: 0,
        sha3_384: sha3(PAIR),
        size: PAIR.length,
      },
    ],
    components: [
      {
        component: "extra",
        revision: 2,
        file: componentEntryName("comp-offline", "extra", 2),
        sha3_384: sha3(COMP),
        size: COMP.length,
        type: "component/standard",
        version: "1.1",
        snapRevisions: [1],
      },
    ],
  };
}

async function written(dir: string): Promise<string> {
  const d = doc();
  await mkdir(join(dir, "src"), { recursive: true });
  await writeFile(join(dir, "src", "snap"), SNAP);
  await writeFile(join(dir, "src", "comp"), COMP);
  const target = join(dir, "comp-offline.snapshelf.tar");
  await writeBundle(
    target,
    d,
    {
      blobs: new Map([
        [d.revisions[0]!.file, join(dir, "src", "snap")],
        [d.components![0]!.file, join(dir, "src", "comp")],
      ]),
      assertions: new Map([[d.assertions[0]!.file, PAIR]]),
    },
    join(dir, "staging"),
  );
  return target;
}

function refused(o: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => parseBundleDoc(JSON.stringify(o), "b.tar"),
    (err: unknown) => {
      assert.ok(err instanceof SnapshelfError, String(err));
      assert.equal(err.code, "bad-bundle");
      assert.ok(!err.message.includes("\n"), err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe("bundle format 3: components", () => {
  it("renders version 3 with a components list and parses it back unchanged", () => {
    const text = renderBundleDoc(doc());
    const o = JSON.parse(text) as Record<string, unknown>;
    assert.equal(o["version"], 3);
    assert.deepEqual(o["components"], [
      {
        snap: "comp-offline",
        component: "extra",
        revision: 2,
        file: "blobs/comp-offline+extra_2.comp",
        "sha3-384": sha3(COMP),
        size: COMP.length,
        type: "component/standard",
        version: "1.1",
        "snap-revisions": [1],
      },
    ]);
    assert.deepEqual(parseBundleDoc(text, "x"), doc());
  });

  it("still reads version 2 bundles (no components)", () => {
    const o = JSON.parse(renderBundleDoc(doc())) as Record<string, unknown>;
    o["version"] = 2;
    delete o["components"];
    const d = parseBundleDoc(JSON.stringify(o), "old.tar");
    assert.equal(d.version, 2);
    assert.equal(d.components, undefined);
    assert.equal(d.revisions.length, 1);
  });

  it("reads a version 2 archive (what export wrote before components) as before", async () => {
    const dir = await tmpWorkDir("bundle-v2");
    const d = doc();
    const o = JSON.parse(renderBundleDoc({ ...d, components: [] })) as Record<string, unknown>;
    o["version"] = 2;
    delete o["components"];
    const src = join(dir, "src");
    await mkdir(join(src, "blobs"), { recursive: true });
    await mkdir(join(src, "assertions"), { recursive: true });
    await writeFile(join(src, "bundle.json"), JSON.stringify(o));
    await writeFile(join(src, d.revisions[0]!.file), SNAP);
    await writeFile(join(src, d.assertions[0]!.file), PAIR);
    const path = join(dir, "old.snapshelf.tar");
    await create({ cwd: src, file: path, portable: true }, [
      "bundle.json",
      d.assertions[0]!.file,
      d.revisions[0]!.file,
    ]);
    const staging = join(dir, "stage");
    await mkdir(staging);
    const c = await readBundle(path, staging);
    assert.equal(c.componentFiles, undefined);
    assert.deepEqual(
      c.snapFiles.map((f) => f.slice(staging.length + 1)),
      ["blobs/comp-offline_1.snap"],
    );
    assert.deepEqual(await readFile(c.snapFiles[0]!), SNAP);
  });

  const bad: { name: string; edit: (o: Record<string, unknown>) => void; pattern: RegExp }[] = [
    {
      name: "components in a version 2 bundle",
      edit: (o) => (o["version"] = 2),
      pattern: /bundle\.json field components: not allowed in a version 2 bundle$/,
    },
    {
      name: "a file not named after the snap, component and revision",
      edit: (o) => (comp(o)["file"] = "blobs/../x.comp"),
      pattern:
        /field components\[0\]\.file: expected "blobs\/comp-offline\+extra_2\.comp", got "blobs\/\.\.\/x\.comp"$/,
    },
    {
      name: "another snap",
      edit: (o) => (comp(o)["snap"] = "other"),
      pattern: /field components\[0\]\.snap: expected "comp-offline", got "other"$/,
    },
    {
      name: "a bad component name",
      edit: (o) => (comp(o)["component"] = "Bad_Name"),
      pattern: /field components\[0\]\.component: invalid value "Bad_Name"/,
    },
    {
      name: "a bad digest",
      edit: (o) => (comp(o)["sha3-384"] = "abc"),
      pattern: /field components\[0\]\.sha3-384: invalid value/,
    },
    {
      name: "a missing size",
      edit: (o) => delete comp(o)["size"],
      pattern: /field components\[0\]\.size: missing$/,
    },
    {
      name: "no paired revision",
      edit: (o) => (comp(o)["snap-revisions"] = []),
      pattern: /field components\[0\]\.snap-revisions: empty$/,
    },
    {
      name: "a paired revision that is no revision",
      edit: (o) => (comp(o)["snap-revisions"] = [1, "2"]),
      pattern: /field components\[0\]\.snap-revisions\[1\]: expected a revision number$/,
    },
    {
      name: "a bad type",
      edit: (o) => (comp(o)["type"] = "kernel"),
      pattern: /field components\[0\]\.type: invalid component type "kernel"$/,
    },
    {
      name: "a component revision listed twice",
      edit: (o) => {
        const list = o["components"] as Record<string, unknown>[];
        list.push({ ...list[0]! });
      },
      pattern: /field components\[1\]\.revision: comp-offline\+extra revision 2 is listed twice$/,
    },
    {
      name: "a component file that is also a revision's",
      edit: (o) => ((o["revisions"] as Record<string, unknown>[])[0]!["file"] = "blobs/comp-offline+extra_2.comp"),
      pattern: /field revisions\[0\]\.file: expected "blobs\/comp-offline_1\.snap"/,
    },
  ];
  for (const v of bad) {
    it(`refuses ${v.name}, naming the field`, () => {
      const o = JSON.parse(renderBundleDoc(doc())) as Record<string, unknown>;
      v.edit(o);
      refused(o, v.pattern);
    });
  }

  it("refuses components in an assertions bundle", () => {
    const o = JSON.parse(
      renderBundleDoc({
        kind: "assertions",
        exportedAt: "2024-03-01T00:00:00.000Z",
        channelMap: [],
        revisions: [],
        assertions: [],
      }),
    ) as Record<string, unknown>;
    assert.equal(o["components"], undefined);
    o["components"] = [];
    refused(o, /field components: not allowed in an assertions bundle$/);
  });

  it("writes component blobs as entries and reads them back as import's component files", async () => {
    const dir = await tmpWorkDir("bundle-comp");
    const path = await written(dir);
    const staging = join(dir, "stage");
    await mkdir(staging);
    const c = await readBundle(path, staging);
    assert.deepEqual(
      (c.componentFiles ?? []).map((f) => f.slice(staging.length + 1)),
      ["blobs/comp-offline+extra_2.comp"],
    );
    assert.deepEqual(await readFile(c.componentFiles![0]!), COMP);
    assert.deepEqual(c.staged?.get(c.componentFiles![0]!), { sha3_384: sha3(COMP), size: COMP.length });
    assert.deepEqual(
      c.snapFiles.map((f) => f.slice(staging.length + 1)),
      ["blobs/comp-offline_1.snap"],
    );
  });

  it("refuses a component entry whose bytes are not the ones bundle.json lists", async () => {
    const dir = await tmpWorkDir("bundle-comp-bad");
    const path = await written(dir);
    const bytes = await readFile(path);
    // the component entry's data: flip a byte inside it (its content is 0x02 bytes)
    const at = bytes.indexOf(Buffer.alloc(64, 2));
    assert.ok(at > 0);
    bytes[at + 10] = 3;
    await writeFile(path, bytes);
    const staging = join(dir, "stage");
    await mkdir(staging);
    await assert.rejects(readBundle(path, staging), (err: unknown) => {
      assert.ok(err instanceof SnapshelfError, String(err));
      assert.equal(err.code, "bundle-digest-mismatch");
      assert.match(
        err.message,
        /entry "blobs\/comp-offline\+extra_2\.comp" has sha3-384 [0-9a-f]{96}, but bundle\.json says/,
      );
      return true;
    });
  });
});

function comp(o: Record<string, unknown>): Record<string, unknown> {
  return (o["components"] as Record<string, unknown>[])[0]!;
}
