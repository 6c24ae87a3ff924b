/**
 * The command line loads what the verb it runs uses, and nothing else: every
 * verb's registration (options, help) is loaded, its use-case only when it
 * runs (`await import` in the action). Loading every use-case at start-up
 * cost about 0.2 s of each call's 0.44 s on a 2-core machine (`make bench`,
 * "cli start-up"); operators and the e2e tests call the CLI thousands of
 * times. Each run below records every module the process resolves (an ESM
 * resolve hook) and checks none lies outside what its verb needs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { removeWorkDir, repoRoot, tmpWorkDir } from "../support/work-dir.js";

/** Logs every resolved URL to the file $LOADED_LOG (hooks run on their own thread in Node 20). */
const HOOKS = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.LOADED_LOG, r.url + "\\n");
  return r;
}`;
const REGISTER = `import { register } from "node:module";
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

let work = "";
let runs = 0;

interface Loaded {
  readonly status: number | null;
  /** Modules of src/ relative to it (`ops/gc.js`), and package names. */
  readonly src: Set<string>;
  readonly packages: Set<string>;
}

function run(args: readonly string[]): Loaded {
  const log = join(work, `loaded-${++runs}.log`);
  const r = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(REGISTER)}`, join(repoRoot(), "bin", "snapshelf"), ...args],
    { env: { ...process.env, LOADED_LOG: log }, encoding: "utf8", timeout: 60_000 },
  );
  const srcRoot = join(repoRoot(), "dist", "src") + sep;
  const src = new Set<string>();
  const packages = new Set<string>();
  for (const url of readFileSync(log, "utf8").split("\n")) {
    if (!url.startsWith("file:")) continue;
    const path = fileURLToPath(url);
    const pkg = /[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(path);
    if (pkg?.[1] !== undefined) packages.add(pkg[1].replaceAll("\\", "/"));
    else if (path.startsWith(srcRoot)) src.add(path.slice(srcRoot.length).split(sep).join("/"));
  }
  return { status: r.status, src, packages };
}

/** Use-case, renderer and parser modules no verb needs before it runs. */
function heavy(src: ReadonlySet<string>): string[] {
  return [...src]
    .filter(
      (m) =>
        /^(build|export|assertions|snapfile|blobs|routes|wire)\//.test(m) ||
        (m.startsWith("nginx/") && m !== "nginx/defaults.js") ||
        (m.startsWith("ops/") && m !== "ops/format.js") ||
        (m.startsWith("serve/") && m !== "serve/workers.js") ||
        /^(upstream\/client|store\/state|bundle\/read)/.test(m),
    )
    .sort();
}

describe("cli start-up loads only what the verb uses", () => {
  before(async () => {
    work = await tmpWorkDir("cli-startup");
  });
  after(async () => {
    await removeWorkDir(work);
  });

  it("--help and a verb's --help load no use-case and no package but commander", () => {
    for (const args of [["--help"], ["import", "--help"], ["export", "--help"], ["nginx-config", "--help"]]) {
      const l = run(args);
      assert.equal(l.status, 0, args.join(" "));
      assert.ok(l.src.has("cli/main.js"), "the hook saw the CLI load");
      assert.deepEqual(heavy(l.src), [], `${args.join(" ")} loads use-case modules`);
      assert.deepEqual([...l.packages], ["commander"], `${args.join(" ")} loads packages`);
    }
  });

  it("a verb refused before it works loads nothing of its use-case", () => {
    const l = run(["status", "--dir", join(work, "no-store")]);
    assert.equal(l.status, 1);
    assert.deepEqual(heavy(l.src), []);
  });

  it("a verb that runs loads its own use-case, not the others'", () => {
    const l = run(["init", "--dir", join(work, "store"), "--base-url", "http://store.internal:8000"]);
    assert.equal(l.status, 0);
    assert.ok(l.src.has("ops/init.js"), "init runs ops/init");
    const others = heavy(l.src).filter((m) => /^(build|nginx|export|snapfile|blobs|serve)\/|^ops\/(gc|import)/.test(m));
    assert.deepEqual(others, []);
    assert.ok(!l.packages.has("undici") && !l.packages.has("tar") && !l.packages.has("polka"), [...l.packages].join());
  });
});
