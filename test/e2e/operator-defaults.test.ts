/**
 * No foot-guns in the defaults (issue 12, point 2): a store is created on
 * purpose with `init` and no other verb makes one; client-config never hands
 * devices a loopback URL; nginx-config warns when it listens elsewhere than the
 * base URL says; `import --release` never releases several revisions of one
 * snap and architecture into one channel; typed channels, architectures and
 * names fail before any work, with "did you mean".
 */
import assert from "node:assert/strict";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildStore } from "../../src/build/build.js";
import { storeLayout } from "../../src/store/layout.js";
import { committedCatalogue, committedManifest, makeFixtureStore } from "../support/fixture-store.js";
import { type Manifest, removeWorkDir, tmpWorkDir } from "../support/realclient.js";
import { fixtureRoots, snapshelfBare } from "../support/snapshelf.js";
import { listTree } from "../support/tree-hash.js";

let work: string;
let m: Manifest;
let cat: string;
/** A store of the committed catalogue, built for a URL devices can reach. */
let built: string;
/** The same, built for a loopback URL. */
let loopback: string;

async function exists(p: string): Promise<boolean> {
  return readFile(p).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== "ENOENT",
  );
}

before(async () => {
  work = await tmpWorkDir("operator-defaults");
  m = await committedManifest();
  cat = committedCatalogue();
  built = join(work, "built");
  await buildStore(await makeFixtureStore(built), { baseUrl: "http://store.internal:8000" });
  loopback = join(work, "loopback");
  await cp(built, loopback, { recursive: true });
  await buildStore(storeLayout(loopback), { baseUrl: "http://127.0.0.1:8000" });
});

after(async () => {
  await removeWorkDir(work);
});

describe("a store is created on purpose", () => {
  test("every verb refuses a directory that is not a store, naming it and suggesting init, and creates nothing", async () => {
    const missing = join(work, "typo-store");
    const empty = join(work, "empty-dir");
    await mkdir(empty);
    const blob = join(cat, "blobs", "tool-data_1.snap");
    const verbs: string[][] = [
      ["import", blob],
      ["release", "tool-data", "1", "stable"],
      ["default-track", "tool-data", "2.x"],
      ["build"],
      ["serve", "--port", "0"],
      ["status"],
      ["list"],
      ["generations"],
      ["rollback"],
      ["verify"],
      ["log"],
      ["gc"],
      ["remove", "tool-data"],
      ["override", "tool-data", "stable=1"],
      ["nginx-config"],
      ["client-config"],
      ["manifest"],
    ];
    for (const dir of [missing, empty]) {
      for (const [verb, ...rest] of verbs) {
        const r = await snapshelfBare([verb ?? "", "--dir", dir, ...rest]);
        assert.equal(r.code, 1, `${verb}: exit 1\n${r.stdout}${r.stderr}`);
        assert.equal(
          r.stderr.trim(),
          `error: cannot use ${dir}: not a snapshelf store (create one with: snapshelf init --dir ${dir} --base-url URL)`,
          verb,
        );
      }
    }
    assert.equal(await exists(missing), false, "no verb created the mistyped directory");
    assert.deepEqual([...(await listTree(empty))], [], "nor wrote into the empty one");
    // SNAPSHELF_DIR is checked the same way
    const r = await snapshelfBare(["status"], { SNAPSHELF_DIR: missing });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a snapshelf store/);
  });

  test("init creates a store with its base URL; the verbs then work on it", async () => {
    const dir = join(work, "new-store");
    const r = await snapshelfBare(["init", "--dir", dir, "--base-url", "http://store.internal:8000/"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `store created in ${dir} for http://store.internal:8000`);
    const settings = JSON.parse(await readFile(join(dir, "snapshelf.json"), "utf8")) as { baseUrl?: string };
    assert.equal(settings.baseUrl, "http://store.internal:8000");
    const status = await snapshelfBare(["status", "--dir", dir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /holds: +0 snaps/);
    // the zero state builds and is served: the URL is the one init fixed
    const b = await snapshelfBare(["build", "--dir", dir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /generation 1 in service: \d+ files for http:\/\/store\.internal:8000$/m);
    const cc = await snapshelfBare(["client-config", "--dir", dir]);
    assert.equal(cc.code, 0, cc.stderr);
    assert.match(cc.stdout, /SNAPPY_FORCE_API_URL=http:\/\/store\.internal:8000/);
    const ng = await snapshelfBare(["nginx-config", "--dir", dir]);
    assert.equal(ng.code, 0, ng.stderr);
  });

  test("init refuses an existing store, a non-empty directory and a bad URL, changing nothing", async () => {
    const before = [...(await listTree(built))];
    const again = await snapshelfBare(["init", "--dir", built, "--base-url", "http://other:1"]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr.trim(), `error: cannot create a store in ${built}: it is a store already`);
    assert.deepEqual([...(await listTree(built))], before);

    const used = join(work, "used-dir");
    await mkdir(used);
    await writeFile(join(used, "notes.txt"), "mine\n");
    const r = await snapshelfBare(["init", "--dir", used, "--base-url", "http://store.internal"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `error: cannot create a store in ${used}: the directory is not empty (holds notes.txt)`,
    );
    assert.deepEqual([...(await listTree(used)).keys()], ["notes.txt"]);

    const bad = join(work, "bad-url");
    const u = await snapshelfBare(["init", "--dir", bad, "--base-url", "ftp://store.internal"]);
    assert.equal(u.code, 1);
    assert.match(u.stderr, /^error: cannot use base URL "ftp:\/\/store\.internal": scheme must be http or https$/m);
    assert.equal(await exists(bad), false);
    const none = await snapshelfBare(["init", "--dir", bad]);
    assert.equal(none.code, 2, "--base-url is required");
  });

  test("two inits of one directory at once: exactly one wins", async () => {
    const dir = join(work, "race");
    const rs = await Promise.all(
      [1, 2, 3].map((i) => snapshelfBare(["init", "--dir", dir, "--base-url", `http://store${i}.internal`])),
    );
    assert.equal(rs.filter((r) => r.code === 0).length, 1, rs.map((r) => r.stderr).join(""));
  });
});

describe("the URL devices get is never a surprise", () => {
  test("client-config refuses a loopback base URL, saying why and how to set the real one", async () => {
    const before = [...(await listTree(loopback))];
    const r = await snapshelfBare(["client-config", "--dir", loopback]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "no steps printed");
    assert.equal(
      r.stderr.trim(),
      `error: cannot print client configuration: the store's base URL http://127.0.0.1:8000 is a loopback address, which on a device names the device itself; rebuild for the URL devices reach this host at (snapshelf build --dir ${loopback} --base-url http://HOST:PORT) or give --url`,
    );
    assert.deepEqual([...(await listTree(loopback))], before);
    for (const url of ["http://localhost:8000", "http://[::1]:8000", "http://127.1.2.3"]) {
      const dir = join(work, `loop-${url.replace(/\W+/g, "-")}`);
      await cp(built, dir, { recursive: true });
      await buildStore(storeLayout(dir), { baseUrl: url });
      const x = await snapshelfBare(["client-config", "--dir", dir]);
      assert.equal(x.code, 1, url);
      assert.match(x.stderr, /is a loopback address/, url);
    }
    // a URL the operator gives explicitly is taken as given
    const ok = await snapshelfBare(["client-config", "--dir", loopback, "--url", "http://store.internal:8000"]);
    assert.equal(ok.code, 0, ok.stderr);
    const good = await snapshelfBare(["client-config", "--dir", built]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /SNAPPY_FORCE_API_URL=http:\/\/store\.internal:8000\//);
  });

  test("nginx-config warns when --listen disagrees with the base URL's port, and only then", async () => {
    const off = await snapshelfBare(["nginx-config", "--dir", built, "--listen", "8080"]);
    assert.equal(off.code, 0, off.stderr);
    assert.match(
      off.stderr,
      /^warning: --listen 8080 is port 8080, but the store's base URL http:\/\/store\.internal:8000 is port 8000: devices are sent to port 8000/m,
    );
    assert.match(off.stdout, /listen 8080/);
    for (const listen of ["8000", "0.0.0.0:8000", "[::]:8000"]) {
      const on = await snapshelfBare(["nginx-config", "--dir", built, "--listen", listen]);
      assert.equal(on.code, 0, on.stderr);
      assert.doesNotMatch(on.stderr, /warning/, listen);
    }
    const dflt = await snapshelfBare(["nginx-config", "--dir", built]);
    assert.doesNotMatch(dflt.stderr, /warning/);
  });
});

describe("import --release never releases several revisions of one snap and architecture into one channel", () => {
  let trusted: string;
  before(async () => {
    trusted = join(work, "trusted");
    const i = await snapshelfBare(["init", "--dir", trusted, "--base-url", "http://store.internal"]);
    assert.equal(i.code, 0, i.stderr);
    const r = await snapshelfBare([
      "import",
      "--dir",
      trusted,
      ...fixtureRoots(cat, m).flatMap((f) => ["--trusted-root", f]),
      join(cat, m["assert-dir"]),
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("refused before anything changes, listing them and suggesting release", async () => {
    const before = [...(await listTree(trusted))];
    const blobs = [
      "hello-offline_1.snap",
      "hello-offline_2.snap",
      "hello-offline_4.snap",
      "tool-a_1.snap",
      "tool-a_2.snap",
    ];
    const r = await snapshelfBare([
      "import",
      "--dir",
      trusted,
      "--release",
      "stable",
      ...blobs.map((b) => join(cat, "blobs", b)),
    ]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      r.stderr
        .split("\n")
        .filter((l) => l.startsWith("error: "))
        .join("\n"),
      "error: cannot import with --release latest/stable: the inputs hold several revisions of one snap and architecture for one channel: hello-offline revisions 1, 2 (amd64); tool-a revisions 1, 2 (all); import without --release, then choose with: snapshelf release hello-offline REV latest/stable",
    );
    assert.deepEqual([...(await listTree(trusted))], before, "the store is unchanged");
  });

  test("one revision per snap and architecture is released (arm64 and amd64 of one snap are not a conflict)", async () => {
    const dir = join(work, "trusted-ok");
    await cp(trusted, dir, { recursive: true });
    const r = await snapshelfBare([
      "import",
      "--dir",
      dir,
      "--release",
      "stable",
      join(cat, "blobs", "hello-offline_2.snap"),
      join(cat, "blobs", "hello-offline_4.snap"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 new revisions, 2 releases/);
  });
});

describe("typos fail before work", () => {
  const cases: { args: string[]; error: string }[] = [
    {
      args: ["import", "--release", "stabel"],
      error: 'cannot use channel "stabel": not a risk (stable, candidate, beta, edge); did you mean "stable"?',
    },
    {
      args: ["import", "--release", "latest/candiate"],
      error:
        'cannot use channel "latest/candiate": "candiate" is not a risk (stable, candidate, beta, edge); did you mean "candidate"?',
    },
    {
      args: ["import", "--release", "2.x"],
      error: 'cannot use channel "2.x": a track needs its risk; did you mean "2.x/stable"?',
    },
    {
      args: ["import", "--release", "lastest/edge"],
      error: 'cannot use channel "lastest/edge": the store has no track "lastest"; did you mean "latest/edge"?',
    },
    {
      args: ["import", "--release", "stable/egde"],
      error: 'cannot use channel "stable/egde": "egde" is a branch of stable, not a risk; did you mean "stable/edge"?',
    },
    {
      args: ["release", "hello-offline", "2", "edeg"],
      error: 'cannot use channel "edeg": not a risk (stable, candidate, beta, edge); did you mean "edge"?',
    },
    {
      args: ["release", "--arch", "amd46", "hello-offline", "2", "edge"],
      error:
        'cannot use architecture "amd46": not one snapd knows (amd64, arm64, armhf, i386, ppc64el, s390x, riscv64, all); did you mean "amd64"?',
    },
    {
      args: ["release", "hello-ofline", "2", "edge"],
      error: 'cannot release hello-ofline: no such snap in the store; did you mean "hello-offline"?',
    },
    {
      args: ["override", "--arch", "arm46", "hello-offline", "stable=4"],
      error:
        'cannot use architecture "arm46": not one snapd knows (amd64, arm64, armhf, i386, ppc64el, s390x, riscv64, all); did you mean "arm64"?',
    },
    {
      args: ["remove", "tool-dta"],
      error: 'cannot remove tool-dta: no such snap in the store; did you mean "tool-data"?',
    },
  ];
  for (const c of cases) {
    test(c.args.join(" "), async () => {
      const before = [...(await listTree(built))];
      // the import's input does not even exist: the channel is checked before any file is read
      const extra = c.args[0] === "import" ? [join(work, "no-such-input.snap")] : [];
      const r = await snapshelfBare([...c.args, "--dir", built, ...extra]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim(), `error: ${c.error}`);
      assert.deepEqual([...(await listTree(built))], before);
    });
  }

  test("export checks its architectures before reaching any store", async () => {
    const r = await snapshelfBare([
      "export",
      "--upstream",
      "http://127.0.0.1:9",
      "--export-dir",
      join(work, "exp"),
      "--arch",
      "arm46",
      "hello",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot use architecture "arm46": .*did you mean "arm64"\?$/m);
    assert.equal(await exists(join(work, "exp")), false);
  });
});

describe("import wording", () => {
  test("re-import says already present; an untrusted chain suggests --trusted-root", async () => {
    const dir = join(work, "wording");
    const i = await snapshelfBare(["init", "--dir", dir, "--base-url", "http://store.internal"]);
    assert.equal(i.code, 0, i.stderr);
    const untrusted = await snapshelfBare(["import", "--dir", dir, join(cat, m["assert-dir"])]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^error: cannot .*--trusted-root FILE\)$/m);
    const trust = await snapshelfBare([
      "import",
      "--dir",
      dir,
      ...fixtureRoots(cat, m).flatMap((f) => ["--trusted-root", f]),
      join(cat, m["assert-dir"]),
    ]);
    assert.equal(trust.code, 0, trust.stderr);
    const blob = join(cat, "blobs", "tool-data_1.snap");
    const first = await snapshelfBare(["import", "--dir", dir, blob]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^imported tool-data revision 1 \(all\)$/m);
    assert.match(first.stdout, /^0 new assertions, 1 new revision, 0 releases into /m);
    const again = await snapshelfBare(["import", "--dir", dir, blob]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^already present: tool-data revision 1 \(all\)$/m);
    assert.match(again.stdout, /^0 new assertions, 0 new revisions \(1 already present\), 0 releases into /m);
  });
});
