/**
 * The unused-export check of `make lint` (scripts/unused-exports.mjs): planted in a scratch
 * project, an export nothing uses fails it, naming file, line and name; exports another module
 * imports (by name, as a namespace or re-exported), exports their own module uses, and ones
 * marked `@public` pass.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { removeWorkDir, repoRoot, tmpWorkDir } from "../support/work-dir.js";

let dir = "";

function check(files: Record<string, string | null>): { status: number | null; out: string } {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) {
      rmSync(join(dir, path), { force: true });
      continue;
    }
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(process.execPath, [join(repoRoot(), "scripts", "unused-exports.mjs"), dir], { encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("unused-export check (make lint)", () => {
  before(async () => {
    dir = await tmpWorkDir("unused-exports");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: [] },
        include: ["src/**/*.ts", "test/**/*.ts"],
      }),
    );
  });
  after(async () => {
    await removeWorkDir(dir);
  });

  it("accepts exports that are imported, re-exported, used as a namespace, used in their module or @public", () => {
    const r = check({
      "src/a.ts":
        "export const imported = 1;\nexport function localOnly(): number {\n  return 2;\n}\nexport const viaLocal = localOnly();\n" +
        "export interface Shape {\n  readonly n: number;\n}\n/** @public a script imports it. */\nexport const forScripts = 3;\n",
      "src/b.ts":
        'import { imported, viaLocal } from "./a.js";\nexport { type Shape } from "./a.js";\nexport const sum = imported + viaLocal;\n',
      "src/c.ts": 'import * as ns from "./d.js";\nexport const fromNs = ns;\n',
      "src/d.ts": "export const all = 4;\n",
      "test/t.ts":
        'import { sum } from "../src/b.js";\nimport { fromNs } from "../src/c.js";\nexport const t = [sum, fromNs];\n',
    });
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out, "");
  });

  it("refuses an export nothing uses, naming it", () => {
    const r = check({ "src/e.ts": "export const used = 1;\nexport function planted(): number {\n  return used;\n}\n" });
    assert.equal(r.status, 1, r.out);
    assert.equal(r.out, "unused export (used by no module): src/e.ts:2: planted\n");
    assert.equal(check({ "src/e.ts": null }).status, 0);
  });

  it("refuses an exported type nothing uses", () => {
    const r = check({ "src/f.ts": "export interface Planted {\n  readonly n: number;\n}\n" });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /src\/f\.ts:1: Planted$/m);
    assert.equal(check({ "src/f.ts": null }).status, 0);
  });
});
