/**
 * Relocation, as from a USB stick: a built store copied with `cp -r` to
 * another directory serves identically after `snapshelf build --base-url
 * NEW` there (check.sh passes against it). The store is plain files with
 * portable names (no symlinks, nothing FAT or a case-insensitive filesystem
 * would refuse or merge), and no absolute path is baked into anything served
 * or remembered but the base URL.
 */
import assert from "node:assert/strict";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { fixtureStore } from "../support/fixture-work.js";
import {
  freePort,
  type Manifest,
  removeWorkDir,
  runCheck,
  runChecked,
  type StartedProcess,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let original: string;
let moved: string;
let newUrl: string;
let server: StartedProcess | undefined;
const OLD_URL = "http://127.0.0.1:9";

before(async () => {
  ({ work, fixtures, manifest, store: original } = await fixtureStore("relocation", "build-host", "store"));
  await snapshelf(["build", "--dir", original, "--base-url", OLD_URL]);
  // carried across the air gap: a plain recursive copy, somewhere else
  moved = join(work, "usb stick", "snaps");
  await runChecked("mkdir", ["-p", join(work, "usb stick")]);
  await runChecked("cp", ["-r", original, moved]);
  const port = await freePort();
  newUrl = `http://127.0.0.1:${port}`;
  await snapshelf(["build", "--dir", moved, "--base-url", newUrl]);
  // no --base-url: serve uses the URL the tree was just built for
  server = await serve(moved, ["--port", String(port)]);
});

after(async () => {
  await server?.stop();
  await removeWorkDir(work);
});

interface Entry {
  path: string;
  name: string;
  kind: "file" | "dir" | "symlink" | "other";
}

async function walk(root: string, dir = root): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await lstat(p);
    const kind = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
    out.push({ path: relative(root, p), name, kind });
    if (kind === "dir") out.push(...(await walk(root, p)));
  }
  return out;
}

test("check.sh passes against the moved store after build --base-url NEW", { timeout: 900_000 }, async () => {
  assert.ok(server?.url);
  assert.equal(server.url, newUrl);
  const res = await runCheck(newUrl, join(fixtures, "manifest.json"));
  const failures = res.scenarios.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`);
  assert.deepEqual(failures, [], `failed scenarios (log ${res.logFile})`);
  const daemon = res.scenarios.some((s) => s.name.startsWith("daemon-"));
  assert.equal(res.passed, daemon ? 49 : 47, res.lines.join("\n"));
});

test("plain files with portable names: no symlinks, FAT-safe, no case-insensitive collisions", async () => {
  const entries = await walk(moved);
  assert.ok(entries.length > 50, `${entries.length} entries`);
  const odd = entries.filter((e) => e.kind === "symlink" || e.kind === "other");
  assert.deepEqual(odd, [], "only regular files and directories");
  for (const e of entries) {
    // POSIX portable filename characters, plus @ + = (assertion keys), all valid on FAT/exFAT/NTFS
    assert.match(e.name, /^[A-Za-z0-9._@+=-]+$/, e.path);
    assert.ok(Buffer.byteLength(e.name) <= 255, `${e.path}: name too long`);
    assert.ok(!/[. ]$/.test(e.name), `${e.path}: Windows drops a trailing dot or space`);
  }
  const seen = new Map<string, string>();
  for (const e of entries) {
    const k = e.path.toLowerCase();
    assert.ok(!seen.has(k), `${e.path} and ${seen.get(k)} differ only in case`);
    seen.set(k, e.path);
  }
});

test("no absolute path baked in: the tree in service and the store's state name only the new base URL", async () => {
  const current = (await readFile(join(moved, "current"), "utf8")).trim();
  const tree = join(moved, "trees", current);
  const files = (await walk(tree)).filter((e) => e.kind === "file").map((e) => join(tree, e.path));
  files.push(join(moved, "snapshelf.json"), join(moved, "state", "records.json"));
  for (const p of await readdir(join(moved, "state", "parts"))) files.push(join(moved, "state", "parts", p));
  let mentionsNew = 0;
  for (const f of files) {
    const text = await readFile(f, "latin1");
    for (const dir of [original, moved, work]) assert.ok(!text.includes(dir), `${relative(moved, f)} names ${dir}`);
    assert.ok(!text.includes(OLD_URL), `${relative(moved, f)} still names the old base URL`);
    if (text.includes(newUrl)) mentionsNew++;
  }
  assert.ok(mentionsNew > manifest.snaps.length, `${mentionsNew} files name the new base URL`);
  const settings = JSON.parse(await readFile(join(moved, "snapshelf.json"), "utf8")) as { baseUrl?: string };
  assert.equal(settings.baseUrl, newUrl, "remembered for the next build");
  // downloads point at the new URL
  const info = (await (await fetch(`${newUrl}/v2/snaps/info/hello-offline?architecture=amd64`)).json()) as {
    "channel-map": { download: { url: string } }[];
  };
  for (const e of info["channel-map"]) assert.ok(e.download.url.startsWith(`${newUrl}/blobs/`), e.download.url);
});
