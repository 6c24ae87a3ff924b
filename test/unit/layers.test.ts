/**
 * The layering of docs/architecture.md is checked by `make lint` (biome.json:
 * `noRestrictedImports` per layer, `noImportCycles` everywhere). These tests
 * plant violations in a scratch copy of the configuration and show that the
 * same linter, with the same rules, refuses each of them, and accepts a clean
 * file in the same places.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { removeWorkDir, repoRoot, tmpWorkDir } from "../support/work-dir.js";

let dir = "";

function plant(files: Record<string, string>): { status: number | null; out: string } {
  const src = join(dir, "src");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(join(repoRoot(), "node_modules", ".bin", "biome"), ["lint", "--max-diagnostics=200", src], {
    cwd: dir,
    encoding: "utf8",
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("layer check (make lint)", () => {
  before(async () => {
    dir = await tmpWorkDir("layers");
    copyFileSync(join(repoRoot(), "biome.json"), join(dir, "biome.json"));
  });
  after(async () => {
    await removeWorkDir(dir);
  });

  it("accepts a pure module that imports only pure layers", () => {
    const r = plant({
      "src/catalogue/clean.ts":
        'import type { Epoch } from "../model/types.js";\nexport const e: Epoch | undefined = undefined;\n',
    });
    assert.equal(r.status, 0, r.out);
  });

  for (const [layer, spec] of [
    ["catalogue", "node:fs"],
    ["routes", "../serve/server.js"],
    ["model", "../store/state.js"],
    ["wire", "../ops/status.js"],
    ["catalogue", "../util/fs.js"],
  ] as const) {
    it(`refuses ${layer}/ importing ${spec}`, () => {
      const r = plant({ [`src/${layer}/planted.ts`]: `import * as m from "${spec}";\nexport const planted = m;\n` });
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, /noRestrictedImports/);
      assert.match(r.out, /layering: catalogue, routes, model and wire are pure/);
      plant({ [`src/${layer}/planted.ts`]: "export const planted = 1;\n" });
    });
  }

  it("refuses nginx/ importing the shim and store/ importing the build", () => {
    const r = plant({
      "src/nginx/planted.ts": 'import * as m from "../serve/server.js";\nexport const planted = m;\n',
      "src/store/planted.ts": 'import * as m from "../build/build.js";\nexport const planted2 = m;\n',
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /layering: the nginx generator/);
    assert.match(r.out, /layering: store is the store directory's I\/O/);
    plant({
      "src/nginx/planted.ts": "export const planted = 1;\n",
      "src/store/planted.ts": "export const planted2 = 1;\n",
    });
  });

  it("refuses ops/ and build/ importing a renderer or the command line", () => {
    const r = plant({
      "src/ops/planted.ts": 'import * as m from "../serve/observe.js";\nexport const planted = m;\n',
      "src/build/planted.ts": 'import * as m from "../cli/common.js";\nexport const planted2 = m;\n',
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /src\/ops\/planted\.ts/);
    assert.match(r.out, /src\/build\/planted\.ts/);
    assert.match(r.out, /layering: the use-cases sit below the renderers/);
    plant({
      "src/ops/planted.ts": "export const planted = 1;\n",
      "src/build/planted.ts": "export const planted2 = 1;\n",
    });
  });

  it("refuses nginx/ importing the command line's deploy/", () => {
    const r = plant({
      "src/nginx/planted.ts": 'import * as m from "../deploy/units.js";\nexport const planted = m;\n',
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /layering: the nginx generator/);
    plant({ "src/nginx/planted.ts": "export const planted = 1;\n" });
  });

  it("refuses store/ importing a use-case and export/ importing the offline use-cases", () => {
    const r = plant({
      "src/store/planted3.ts": 'import * as m from "../ops/retention.js";\nexport const planted3 = m;\n',
      "src/export/planted.ts": 'import * as m from "../ops/import.js";\nexport const planted4 = m;\n',
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /layering: store is the store directory's I\/O/);
    assert.match(r.out, /layering: export \(the connected side\)/);
    plant({
      "src/store/planted3.ts": "export const planted3 = 1;\n",
      "src/export/planted.ts": "export const planted4 = 1;\n",
    });
  });

  it("refuses an import cycle, type-only ones included", () => {
    const r = plant({
      "src/util/cycle-a.ts": 'import type { B } from "./cycle-b.js";\nexport interface A { readonly b?: B }\n',
      "src/util/cycle-b.ts": 'import type { A } from "./cycle-a.js";\nexport interface B { readonly a?: A }\n',
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /noImportCycles/);
  });
});
