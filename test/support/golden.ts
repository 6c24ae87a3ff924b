/**
 * Hand-rolled golden files (Node 20's test runner has no snapshots):
 * `UPDATE_GOLDEN=1` rewrites them; otherwise a difference fails the test.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { repoRoot } from "./work-dir.js";

export function goldenPath(name: string): string {
  return join(repoRoot(), "test", "golden", "files", name);
}

/** Pretty-prints JSON text so golden diffs are readable; other text is kept as is. */
function normalise(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2) + "\n";
  } catch {
    return text;
  }
}

export async function assertGolden(name: string, actual: string): Promise<void> {
  const p = goldenPath(name);
  const got = normalise(actual);
  if (process.env["UPDATE_GOLDEN"] === "1") {
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, got);
    return;
  }
  let want: string;
  try {
    want = await readFile(p, "utf8");
  } catch {
    assert.fail(`golden file ${p} is missing (run the tests with UPDATE_GOLDEN=1 to create it)`);
  }
  assert.equal(got, want, `${name} differs from its golden file (UPDATE_GOLDEN=1 accepts the new output)`);
}
