/**
 * The design card's `make build`: `make build BUNDLES=DIR BASE_URL=URL TRUSTED_ROOTS="FILE..."`
 * imports what DIR holds (here the signed fixture catalogue: .snap files and assertion files)
 * into the store in OUT and builds its tree; without BUNDLES it says how to call it.
 */
import assert from "node:assert/strict";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Manifest, makeFixtures, removeWorkDir, repoRoot, runCommand, tmpWorkDir } from "../support/realclient.js";
import { fixtureRoots, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;

before(async () => {
  work = await tmpWorkDir("make-build");
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  // the fixtures' device/ (a device's own serial and private key) is no store input
  await rm(join(fixtures, manifest.device?.dir ?? "device"), { recursive: true, force: true });
});

after(async () => {
  await removeWorkDir(work);
});

function make(args: readonly string[]) {
  // MAKEFLAGS from a calling make (make test) would leak its variables
  return runCommand("make", ["--no-print-directory", "-C", repoRoot(), ...args], {
    env: { MAKEFLAGS: "", MAKELEVEL: "" },
    timeoutMs: 600_000,
  });
}

test("make build BUNDLES=DIR BASE_URL=URL TRUSTED_ROOTS=... imports DIR into OUT and builds its tree", async () => {
  const out = join(work, "out");
  const url = "http://store.internal:8000";
  const roots = fixtureRoots(fixtures, manifest).join(" ");
  const res = await make(["build", `BUNDLES=${fixtures}`, `BASE_URL=${url}`, `TRUSTED_ROOTS=${roots}`, `OUT=${out}`]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const current = (await readFile(join(out, "current"), "utf8")).trim();
  await stat(join(out, "trees", current));
  const settings = JSON.parse(await readFile(join(out, "snapshelf.json"), "utf8")) as { baseUrl?: string };
  assert.equal(settings.baseUrl, url);
  const list = await snapshelf(["list", "--dir", out]);
  for (const s of manifest.snaps) assert.match(list.stdout, new RegExp(`\\b${s.name}\\b`), list.stdout);
  // again: nothing new to import, a build all the same (BASE_URL remembered)
  const again = await make(["build", `BUNDLES=${fixtures}`, `TRUSTED_ROOTS=${roots}`, `OUT=${out}`]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

test("make build without BUNDLES says how to call it and points at make compile", async () => {
  const res = await make(["build", `OUT=${join(work, "none")}`]);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /cannot build the mirror: no BUNDLES given/);
  assert.match(res.stderr, /usage: make build BUNDLES=DIR BASE_URL=URL/);
  assert.match(res.stderr, /make compile/);
  await assert.rejects(stat(join(work, "none")), "no store made");
});
