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

/**
 * Plants one module per path importing its module specifier, expects the linter to refuse
 * them with every pattern in its output, then leaves each path an import-free module.
 */
function refuses(imports: Record<string, string>, patterns: readonly RegExp[]): void {
  const entries = Object.entries(imports);
  const r = plant(
    Object.fromEntries(
      entries.map(([path, spec], i) => [path, `import * as m from "${spec}";\nexport const planted${i} = m;\n`]),
    ),
  );
  assert.notEqual(r.status, 0, r.out);
  for (const p of patterns) assert.match(r.out, p);
  plant(Object.fromEntries(entries.map(([path], i) => [path, `export const planted${i} = 1;\n`])));
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
    refuses({ "src/nginx/planted.ts": "../serve/server.js", "src/store/planted.ts": "../build/build.js" }, [
      /layering: the nginx generator/,
      /layering: store is the store directory's I\/O/,
    ]);
  });

  it("refuses ops/ and build/ importing a renderer or the command line", () => {
    refuses({ "src/ops/planted.ts": "../serve/observe.js", "src/build/planted.ts": "../cli/common.js" }, [
      /src\/ops\/planted\.ts/,
      /src\/build\/planted\.ts/,
      /layering: the use-cases sit below the renderers/,
    ]);
  });

  it("refuses nginx/ importing the command line's deploy/", () => {
    refuses({ "src/nginx/planted.ts": "../deploy/units.js" }, [/layering: the nginx generator/]);
  });

  it("refuses store/ importing a use-case and export/ importing the offline use-cases", () => {
    refuses({ "src/store/planted3.ts": "../ops/retention.js", "src/export/planted.ts": "../ops/import.js" }, [
      /layering: store is the store directory's I\/O/,
      /layering: export \(the connected side\)/,
    ]);
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
