/**
 * Issue 15.2: a tree copies onto FAT, exFAT and NTFS only if no two of its
 * paths differ only by case. Two account assertions whose ids differ only by
 * case would be one file there (and one would silently replace the other):
 * the build refuses, naming both paths, and the generation in service stays.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { buildStore } from "../../src/build/build.js";
import type { StoreLayout } from "../../src/store/layout.js";
import { readRecords, writeRecords } from "../../src/store/state.js";
import { FIXTURE_BASE_URL, makeFixtureStore } from "../support/fixture-store.js";
import { removeWorkDir, tmpWorkDir } from "../support/work-dir.js";

let work: string;
let layout: StoreLayout;

before(async () => {
  work = await tmpWorkDir("portable-build");
  layout = await makeFixtureStore(join(work, "store"));
});

after(async () => {
  await removeWorkDir(work);
});

it("build refuses tree paths that differ only by case, and the tree in service stays", async () => {
  const first = await buildStore(layout, { baseUrl: FIXTURE_BASE_URL });
  const records = await readRecords(layout);
  const account = records.assertions.find((a) => a.type === "account" && /[a-z]/.test(a.primaryKey[0] ?? ""));
  assert.ok(account, "the fixture has an account assertion with letters in its id");
  const id = account.primaryKey[0] ?? "";
  const twin = id.replace(/[a-z]/, (c) => c.toUpperCase());
  await writeRecords(layout, {
    ...records,
    assertions: [
      ...records.assertions,
      { ...account, primaryKey: [twin], headers: { ...account.headers, "account-id": twin } },
    ],
  });
  await assert.rejects(
    buildStore(layout, { baseUrl: FIXTURE_BASE_URL }),
    (err: Error) =>
      /^cannot build: tree path "v2\/assertions\/account\/.*" and "v2\/assertions\/account\/.*" differ only by case \(not valid on FAT, exFAT or NTFS\)$/.test(
        err.message,
      ) && err.message.includes(twin),
  );
  assert.equal((await readFile(layout.current, "utf8")).trim(), String(first.generation));
});
