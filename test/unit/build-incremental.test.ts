/**
 * Builds cost what changed: records kept per snap, the route table split by
 * snap, and a build that re-renders only the snaps whose records changed.
 * What must hold: an incremental build writes exactly the tree a build from
 * scratch writes (byte for byte, shared files included), reuses the files of
 * unchanged snaps (same inode), re-renders everything when what all snaps
 * depend on changes, and never touches the generation it starts from.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cp, mkdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import { buildStore } from "../../src/build/build.js";
import { indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { Catalogue, SnapEntry } from "../../src/catalogue/types.js";
import { joinRecords, RECORDS_FORMAT, splitRecords } from "../../src/model/records.js";
import { nginxOptionsFromStore } from "../../src/nginx/from-store.js";
import { verifyStore } from "../../src/ops/verify.js";
import { infoPath } from "../../src/routes/info.js";
import { STATIC_ROUTES } from "../../src/routes/table.js";
import type { TreeFileBody } from "../../src/routes/types.js";
import { startServer } from "../../src/serve/server.js";
import { type StoreLayout, storeLayout, treePath } from "../../src/store/layout.js";
import { releaseRevision } from "../../src/store/release.js";
import { readRecords, readRecordsIndex, writeRecords } from "../../src/store/state.js";
import { readTreeCatalogue, sharedTreePath, TREE_META, type TreeMeta } from "../../src/store/tree-files.js";
import { FIXTURE_BASE_URL, makeFixtureStore } from "../support/fixture-store.js";
import { listTree } from "../support/tree-hash.js";
import { removeWorkDir, tmpWorkDir } from "../support/work-dir.js";

let work: string;
let layout: StoreLayout;
let catalogue: Catalogue;

before(async () => {
  work = await tmpWorkDir("build-incremental");
  layout = await makeFixtureStore(join(work, "store"));
  const built = await buildStore(layout, { baseUrl: FIXTURE_BASE_URL });
  catalogue = readTreeCatalogue(built.path, "read the fixture tree");
});

after(async () => {
  await removeWorkDir(work);
});

const ctx = { baseUrl: FIXTURE_BASE_URL };

function rendered(c: Catalogue, kind: "per-snap" | "joined"): Map<string, TreeFileBody> {
  const out = new Map<string, TreeFileBody>();
  const index = indexCatalogue(c);
  for (const route of STATIC_ROUTES) {
    if (route.split.kind !== kind) continue;
    for (const f of route.files(index, ctx)) {
      assert.ok(!out.has(f.path), `${f.path} rendered twice`);
      out.set(f.path, f.body);
    }
  }
  return out;
}

describe("the route table split by snap", () => {
  it("per-snap routes: the files of each snap alone plus the rest are the files of the whole catalogue", () => {
    const ownedBy = (s: SnapEntry) => (a: Catalogue["assertions"][number]) =>
      (a.type === "snap-declaration" || a.type === "snap-revision") && a.headers["snap-id"] === s.snapId;
    const union = new Map<string, TreeFileBody>();
    const add = (m: Map<string, TreeFileBody>) => {
      for (const [p, b] of m) {
        assert.ok(!union.has(p), `${p} rendered by two snaps`);
        union.set(p, b);
      }
    };
    for (const s of catalogue.snaps) {
      add(
        rendered(
          { snaps: [s], assertions: catalogue.assertions.filter(ownedBy(s)), arches: catalogue.arches },
          "per-snap",
        ),
      );
    }
    const rest = catalogue.assertions.filter((a) => !catalogue.snaps.some((s) => ownedBy(s)(a)));
    add(rendered({ snaps: [], assertions: rest, arches: catalogue.arches }, "per-snap"));
    assert.ok(union.size > catalogue.snaps.length, "the fixture renders files");
    assert.deepEqual(union, rendered(catalogue, "per-snap"));
  });

  it("joined routes: the join of every snap's piece is the file of the whole catalogue", () => {
    for (const route of STATIC_ROUTES) {
      if (route.split.kind !== "joined") continue;
      const split = route.split;
      const pieces = catalogue.snaps.map((s) => split.piece(s, catalogue.arches, ctx));
      assert.deepEqual(split.join(pieces, ctx), [...route.files(indexCatalogue(catalogue), ctx)], route.id);
    }
  });
});

describe("records kept per snap", () => {
  it("split and joined give the same records back, each snap's assertions in its part", async () => {
    const records = await readRecords(layout);
    const { global, parts } = splitRecords(records);
    assert.deepEqual(joinRecords(global, parts), records);
    const ids = new Map(records.revisions.map((r) => [r.snapId, r.name]));
    for (const p of parts) {
      for (const a of p.assertions) assert.equal(ids.get(a.headers["snap-id"] ?? ""), p.name, `${a.type} in ${p.name}`);
    }
    for (const a of global.assertions) {
      assert.ok(
        !((a.type === "snap-revision" || a.type === "snap-declaration") && ids.has(a.headers["snap-id"] ?? "")),
        `${a.type} of a known snap kept global`,
      );
    }
  });

  it("a change rewrites only the part of the snap it touches, and the old part is removed", async () => {
    const dir = join(work, "records");
    const l = storeLayout(dir);
    const records = await readRecords(layout);
    await writeRecords(l, records);
    const before = await readRecordsIndex(l);
    const name = records.revisions[0]?.name ?? "";
    const other = [...before.parts.keys()].find((n) => n !== name) ?? "";
    const changed = { ...records, snaps: { ...records.snaps, [name]: { summary: "changed" } } };
    await writeRecords(l, changed);
    const now = await readRecordsIndex(l);
    assert.notEqual(now.parts.get(name), before.parts.get(name));
    assert.equal(now.parts.get(other), before.parts.get(other));
    await assert.rejects(stat(join(l.parts, `${before.parts.get(name)}.json`)), { code: "ENOENT" });
    assert.deepEqual(await readRecords(l), changed);
  });

  it("a store written before parts existed (one whole records.json) is read as it was", async () => {
    const dir = join(work, "format1");
    const l = storeLayout(dir);
    const records = await readRecords(layout);
    assert.equal(records.format, RECORDS_FORMAT);
    await cp(layout.root, dir, { recursive: true });
    await writeFile(l.records, JSON.stringify(records, null, 2));
    await rm(l.parts, { recursive: true });
    assert.deepEqual(await readRecords(l), records);
    const index = await readRecordsIndex(l);
    assert.deepEqual(joinRecords(index.global, await Promise.all([...index.parts.keys()].map(index.load))), records);
  });
});

/** A tree's own files and the shared files it names, by path: what a device can fetch from it. */
async function servedFiles(l: StoreLayout, tree: string): Promise<Map<string, string>> {
  const own = await listTree(tree);
  const shared = await listTree(sharedTreePath(l));
  return new Map([...own, ...[...shared].map(([p, v]): [string, string] => [`(shared)/${p}`, v])]);
}

describe("incremental build", () => {
  it("re-renders only the changed snap and writes what a build from scratch writes", async () => {
    const dir = join(work, "incremental");
    await cp(layout.root, dir, { recursive: true });
    const l = storeLayout(dir);
    const first = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    const firstTree = await listTree(first.path);
    const c = readTreeCatalogue(first.path, "read");
    const changed = c.snaps[0];
    const unchanged = c.snaps[c.snaps.length - 1];
    assert.ok(changed && unchanged && changed !== unchanged && c.snaps.length > 2, "the fixture has several snaps");
    const rev = changed.revisions[0]?.revision ?? 0;
    await releaseRevision(l, changed.name, rev, ["latest/edge/incremental"], {
      arch: changed.revisions[0]?.architectures[0] ?? "amd64",
      now: new Date("2026-02-01T00:00:00Z"),
    });

    const second = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(second.rendered, 1);
    assert.equal(second.snaps, c.snaps.length);
    // the tree it started from is untouched
    assert.deepEqual(await listTree(first.path), firstTree);
    // unchanged snaps' files are the previous generation's (hard links)
    const info = infoPath(unchanged.name, "amd64");
    assert.equal((await stat(join(second.path, info))).ino, (await stat(join(first.path, info))).ino);
    const changedInfo = infoPath(changed.name, "amd64");
    assert.notEqual((await stat(join(second.path, changedInfo))).ino, (await stat(join(first.path, changedInfo))).ino);

    // the same records built from scratch, in another store
    const fresh = join(work, "fresh");
    await cp(dir, fresh, { recursive: true });
    const f = storeLayout(fresh);
    await rm(f.trees, { recursive: true });
    await rm(f.current);
    const scratch = await buildStore(f, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(scratch.rendered, c.snaps.length);
    assert.equal(scratch.files, second.files);
    assert.deepEqual(await servedFiles(l, second.path), await servedFiles(f, scratch.path));
    assert.deepEqual(readTreeCatalogue(second.path, "read"), readTreeCatalogue(scratch.path, "read"));
    assert.ok(
      readTreeCatalogue(second.path, "read")
        .snaps.find((s) => s.name === changed.name)
        ?.channels.some((ch) => ch.branch === "incremental"),
      "the new release is in the catalogue served",
    );
  });

  it("re-renders every snap when the base URL changes, and a snap whose files are gone", async () => {
    const dir = join(work, "everything");
    await cp(layout.root, dir, { recursive: true });
    const l = storeLayout(dir);
    const first = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    const other = await buildStore(l, { baseUrl: "http://elsewhere.test:8000" });
    assert.equal(other.rendered, other.snaps);
    assert.ok(
      (await readFile(join(other.path, "index.html"), "utf8")).includes("elsewhere.test"),
      "rendered for the new URL",
    );
    const back = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(back.rendered, back.snaps, "the previous generation is the one in service, built for another URL");
    // a file of the tree in service damaged (deleted): that snap is rendered again, the others linked
    const c = readTreeCatalogue(back.path, "read");
    const victim = c.snaps[1]?.name ?? "";
    await unlink(join(back.path, infoPath(victim, "amd64")));
    const again = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(again.rendered, 1);
    assert.deepEqual(await listTree(again.path), await listTree(first.path));
    assert.equal(treePath(l, again.generation), again.path);
    // the pieces of the joined files gone: everything rendered again, same tree
    await unlink(join(again.path, ".snapshelf-pieces"));
    const whole = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(whole.rendered, whole.snaps);
    assert.deepEqual(await listTree(whole.path), await listTree(first.path));
  });
});

describe("a store written by the previous layout", () => {
  /** Rewrites the store at `dir` as the previous snapshelf left it: whole records.json, tree format 1. */
  async function toPreviousLayout(l: StoreLayout, generation: number): Promise<void> {
    const tree = treePath(l, generation);
    const records = await readRecords(l);
    await writeFile(l.records, JSON.stringify(records, null, 2));
    await rm(l.parts, { recursive: true });
    const c = readTreeCatalogue(tree, "read");
    await writeFile(join(tree, ".catalogue.json"), JSON.stringify(c));
    for (const p of [".catalogue", ".snapshelf-build.json", ".snapshelf-pieces"]) {
      await rm(join(tree, p), { recursive: true });
    }
    // per-revision assertions were in every tree; info files in a directory per snap
    await cp(join(sharedTreePath(l), "v2"), join(tree, "v2"), { recursive: true });
    await rm(sharedTreePath(l), { recursive: true });
    for (const s of c.snaps) {
      for (const arch of c.arches) {
        const flat = join(tree, infoPath(s.name, arch));
        const text = await readFile(flat, "utf8").catch(() => undefined);
        if (text === undefined) continue;
        await mkdir(join(tree, "v2/snaps/info", s.name), { recursive: true });
        await writeFile(join(tree, "v2/snaps/info", s.name, `${arch}.json`), text);
        await unlink(flat);
      }
    }
    const meta = JSON.parse(await readFile(join(tree, TREE_META), "utf8")) as TreeMeta;
    await writeFile(join(tree, TREE_META), JSON.stringify({ ...meta, format: 1 }));
  }

  it("is served, verified and rebuilt after an upgrade; nginx waits for the build", async () => {
    const dir = join(work, "previous");
    await cp(layout.root, dir, { recursive: true });
    const l = storeLayout(dir);
    const built = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    const info = await readFile(join(built.path, infoPath("hello-offline", "amd64")), "utf8");
    const records = await readRecords(l);
    await toPreviousLayout(l, built.generation);

    const lines: string[] = [];
    const srv = await startServer(l, {
      host: "127.0.0.1",
      port: 0,
      baseUrl: FIXTURE_BASE_URL,
      log: (x) => lines.push(x),
    });
    try {
      const res = await fetch(`${srv.url}/v2/snaps/info/hello-offline?architecture=amd64`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), info, "the same answer as from the current layout");
      assert.ok(
        lines.some((x) => x.includes("older snapshelf")),
        lines.join("\n"),
      );
      const rev = c0(l).snaps.find((s) => s.name === "hello-offline")?.revisions[0];
      assert.ok(rev);
      const assertion = await fetch(`${srv.url}/v2/assertions/snap-revision/${digestHexToBase64Url(rev.sha3_384)}`);
      assert.equal(assertion.status, 200);
    } finally {
      await srv.close();
    }
    await assert.rejects(
      nginxOptionsFromStore(l, {}),
      /cannot configure nginx for generation \d+: it was built by an older snapshelf/,
    );
    const report = await verifyStore(l);
    assert.deepEqual(report.problems, []);
    assert.ok(
      report.notes.some((n) => n.includes("older snapshelf")),
      report.notes.join("\n"),
    );

    assert.deepEqual(await readRecords(l), records, "format 1 records read as they were");
    const next = await buildStore(l, { baseUrl: FIXTURE_BASE_URL });
    assert.equal(next.rendered, next.snaps, "no manifest to start from: everything rendered");
    assert.equal(await readFile(join(next.path, infoPath("hello-offline", "amd64")), "utf8"), info);
    assert.deepEqual((await verifyStore(l)).problems, []);
  });
});

function c0(l: StoreLayout): Catalogue {
  const g = Number.parseInt(readFileSync(l.current, "utf8"), 10);
  return readTreeCatalogue(treePath(l, g), "read");
}
