/**
 * The catalogue page in a real browser: Debian's Chromium, headless, opens
 * it from `snapshelf serve`; the DOM after its script ran (--dump-dom) lists
 * every snap with the channel map the store serves, the client-side search
 * filters it (pre-filled from `?q=`), and phone-sized screenshots are saved as
 * test artifacts (.test-work/artifacts/).
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fixtureStore } from "../support/fixture-work.js";
import {
  currentRevision,
  hostArch,
  type Manifest,
  removeWorkDir,
  repoRoot,
  runCommand,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";
import { ensureTool } from "../support/system.js";

let work: string;
let manifest: Manifest;
let server: StartedProcess | undefined;
let chromium: string;

before(async () => {
  chromium = await ensureTool("chromium", ["chromium"]);
  const fx = await fixtureStore("catalogue-page");
  ({ work, manifest } = fx);
  const { store } = fx;
  await snapshelf(["build", "--dir", store]);
  server = await serve(store);
});

after(async () => {
  await server?.stop();
  await removeWorkDir(work);
});

let profiles = 0;

/** Runs headless Chromium on the page with `args` (--dump-dom, --screenshot=...); returns stdout. */
async function chrome(args: string[], path = "/"): Promise<string> {
  assert.ok(server?.url);
  profiles++;
  const res = await runCommand(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--hide-scrollbars",
      `--user-data-dir=${join(work, `chromium-profile-${profiles}`)}`,
      ...args,
      server.url + path,
    ],
    { timeoutMs: 90_000, env: { HOME: work } },
  );
  assert.equal(res.code, 0, `chromium ${args.join(" ")} ${path}: ${res.stderr.slice(-2000)}`);
  return res.stdout;
}

/** The article elements of a dumped DOM: name, hidden?, details open?, and the element's HTML. */
function cards(dom: string): { name: string; hidden: boolean; open: boolean; html: string }[] {
  return [...dom.matchAll(/<article ([^>]*)>([\s\S]*?)<\/article>/g)].map((m) => {
    const attrs = m[1] ?? "";
    return {
      name: /data-name="([^"]*)"/.exec(attrs)?.[1] ?? "",
      hidden: /\bhidden(?:="")?/.test(attrs),
      open: /<details open(?:="")?>/.test(m[2] ?? ""),
      html: m[2] ?? "",
    };
  });
}

test("every snap, with the channel map the store serves, in the DOM Chromium renders", {
  timeout: 120_000,
}, async () => {
  const dom = await chrome(["--dump-dom"]);
  const all = cards(dom);
  assert.deepEqual(
    all.map((c) => c.name),
    manifest.snaps.map((s) => s.name).sort(),
  );
  assert.ok(
    all.every((c) => !c.hidden),
    "nothing hidden without a query",
  );
  assert.match(dom, new RegExp(`<p id="count"[^>]*>${manifest.snaps.length} snaps</p>`), "the script ran");
  const hello = all.find((c) => c.name === "hello-offline");
  assert.ok(hello);
  const arch = hostArch();
  const table = new RegExp(`<h3>[^<]*\\b${arch}\\b[^<]*</h3>([\\s\\S]*?)</section>`).exec(hello.html)?.[1] ?? "";
  for (const [channel, short] of [
    ["latest/stable", "stable"],
    ["latest/candidate", "candidate"],
    ["2.x/stable", "2.x/stable"],
  ] as const) {
    const rev = currentRevision(manifest, "hello-offline", channel, arch);
    assert.ok(rev, channel);
    assert.match(
      table,
      new RegExp(
        `<td>${short.replace("/", "\\/")}</td><td>${rev.version.replace(/\./g, "\\.")}</td><td>${rev.revision}</td><td>\\d+(?:\\.\\d)? kB</td><td><time`,
      ),
      `${channel} row for ${arch}`,
    );
  }
  const info = (await (await fetch(`${server?.url}/v2/snaps/info/hello-offline?architecture=${arch}`)).json()) as {
    "channel-map": unknown[];
  };
  assert.equal(
    (table.match(/<tr><td>/g) ?? []).length,
    info["channel-map"].length,
    "one row per channel of the info document",
  );
});

test("client-side search: ?q= filters the cards; a single match shows its channels", { timeout: 120_000 }, async () => {
  const tool = cards(await chrome(["--dump-dom"], "/?q=tool"));
  assert.deepEqual(
    tool.filter((c) => !c.hidden).map((c) => c.name),
    ["tool-a", "tool-data"],
  );
  const one = await chrome(["--dump-dom"], "/?q=hello%20offline");
  const shown = cards(one).filter((c) => !c.hidden);
  assert.deepEqual(
    shown.map((c) => c.name),
    ["hello-offline"],
  );
  assert.ok(shown[0]?.open, "its channel map is open");
  assert.match(one, new RegExp(`<p id="count"[^>]*>1 of ${manifest.snaps.length} snaps</p>`));
  assert.equal(cards(await chrome(["--dump-dom"], "/?q=zzzz")).filter((c) => !c.hidden).length, 0);
});

test("phone-sized screenshots are saved as artifacts", { timeout: 120_000 }, async () => {
  const artifacts = join(repoRoot(), ".test-work", "artifacts");
  await mkdir(artifacts, { recursive: true });
  for (const [name, path] of [
    ["catalogue-page.png", "/"],
    ["catalogue-page-search.png", "/?q=hello%20offline"],
  ] as const) {
    const file = join(work, name);
    await chrome(["--window-size=412,915", `--screenshot=${file}`], path);
    const png = await readFile(file);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${name} is a PNG`);
    assert.equal(png.readUInt32BE(16), 412, "width");
    assert.equal(png.readUInt32BE(20), 915, "height");
    assert.ok(png.length > 10_000, `${name} has content (${png.length} bytes)`);
    await copyFile(file, join(artifacts, name));
  }
});
