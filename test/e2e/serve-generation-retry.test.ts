/**
 * `serve` follows `current` to a generation it cannot read yet (its copy is
 * still arriving: here the tree's metadata comes last): it keeps serving the
 * one in service, and tries the new one again until it loads, without
 * `current` changing again.
 */
import assert from "node:assert/strict";
import { cpSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type RunningServer, startServer } from "../../src/serve/server.js";
import { treePath } from "../../src/store/layout.js";
import { TREE_META } from "../../src/store/tree-files.js";
import { buildFixtureStore, makeFixtureStore } from "../support/fixture-store.js";
import { removeWorkDir, tmpWorkDir } from "../support/realclient.js";

let work: string;
let server: RunningServer | undefined;

before(async () => {
  work = await tmpWorkDir("serve-generation-retry");
});

after(async () => {
  await server?.close();
  await removeWorkDir(work);
});

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("a generation that cannot be read yet is tried again until it loads; the old one serves meanwhile", async () => {
  const layout = await makeFixtureStore(join(work, "store"));
  const built = await buildFixtureStore(layout);
  const lines: string[] = [];
  server = await startServer(layout, { host: "127.0.0.1", port: 0, pollMs: 100, log: (l) => lines.push(l) });
  const first = server.generation();
  assert.equal(first, built.generation);

  // a copy of the tree arriving as generation 7, its metadata not there yet
  const next = 7;
  const dir = treePath(layout, next);
  cpSync(treePath(layout, first), dir, { recursive: true });
  renameSync(join(dir, TREE_META), join(work, "meta-later"));
  writeFileSync(`${layout.current}.tmp`, `${next}\n`);
  renameSync(`${layout.current}.tmp`, layout.current);

  await waitFor("a failed load", () => lines.some((l) => /cannot switch generation/.test(l)), 10_000);
  const res = await fetch(`${server.url}/v2/snaps/info/hello-offline`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("snapshelf-generation"), String(first), "the generation in service still serves");
  // let the poll see `current` unchanged for a while: nothing but the retry can load it now
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(server.generation(), first);

  renameSync(join(work, "meta-later"), join(dir, TREE_META));
  await waitFor(`generation ${next} in service`, () => server?.generation() === next, 15_000);
  const after = await fetch(`${server.url}/v2/snaps/info/hello-offline`);
  assert.equal(after.status, 200);
  assert.equal(after.headers.get("snapshelf-generation"), String(next));
  assert.ok(lines.includes(`serving generation ${next}`), lines.join("\n"));
});
