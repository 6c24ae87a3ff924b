/**
 * Issue 15.2, any USB stick: real FAT32 and exFAT filesystems (images made
 * with mkfs.vfat and mkfs.exfat, loop-mounted; CI runs as root). The kernel's
 * vfat and exfat drivers are used where the kernel has them; in containers
 * without them, the FUSE drivers of the same on-disk formats (fusefat,
 * exfat-fuse) on a loop device. Either way: no hard links, no chmod, names
 * case-insensitive. Export onto it with
 * a small --max-file-size, import from it, copy a whole store onto it with
 * `cp -r`, build there (no hard links on FAT: copies), serve from it, and the
 * real client (snap download, snapd's own code) downloads a snap. fusefat
 * loses the contents of a renamed directory (a driver bug: the kernel's vfat
 * renames directories), so under fusefat the build on the stick is shown on
 * exFAT only.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import {
  currentRevision,
  hostArch,
  type Manifest,
  makeFixtures,
  realclientDir,
  removeWorkDir,
  runCommand,
  type StartedProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { serve, snapshelf } from "../support/snapshelf.js";
import { rootArgs, startUpstreamDouble, type UpstreamDouble } from "../support/upstream-double.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble | undefined;
let skipReason: string | undefined;
/** A built store on the local disk, copied onto each stick. */
let store: string;
const servers: StartedProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
const MAX = 8 * 1024;

async function run(cmd: string, args: readonly string[]): Promise<void> {
  const res = await runCommand(cmd, args, { timeoutMs: 120_000 });
  assert.equal(res.code, 0, `${cmd} ${args.join(" ")}: ${res.stdout}${res.stderr}`);
}

async function have(cmd: string): Promise<boolean> {
  return (await runCommand("sh", ["-c", `command -v ${cmd}`])).code === 0;
}

/** Every regular file under `dir`, relative, with its size. */
async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push({ path: relative(dir, p), size: (await stat(p)).size });
    }
  };
  await walk(dir);
  return out;
}

interface Stick {
  readonly mnt: string;
  /** The driver that mounted it (`vfat`, `fusefat`, `exfat`, `exfat-fuse`). */
  readonly driver: string;
}

/**
 * Makes a 96 MiB image of `fs` and mounts it: the kernel's driver with `mount -o loop` where the
 * kernel has it, else the FUSE driver on a loop device. Unmounted and detached in `after`.
 */
async function mountStick(fs: "vfat" | "exfat"): Promise<Stick> {
  const image = join(work, `${fs}.img`);
  const mnt = join(work, fs);
  await mkdir(mnt, { recursive: true });
  await run("truncate", ["-s", "96M", image]);
  if (fs === "vfat") await run("mkfs.vfat", ["-F", "32", "-n", "SNAPSTICK", image]);
  else await run("mkfs.exfat", ["-n", "SNAPSTICK", image]);
  const kernel = (await readFile("/proc/filesystems", "utf8")).split("\n").some((l) => l.trim().endsWith(fs));
  let dev: string | undefined;
  let driver: string;
  if (kernel) {
    await run("mount", ["-t", fs, "-o", "loop", image, mnt]);
    driver = fs;
  } else {
    const loop = await runCommand("losetup", ["-f", "--show", image]);
    assert.equal(loop.code, 0, loop.stderr);
    dev = loop.stdout.trim();
    driver = fs === "vfat" ? "fusefat" : "exfat-fuse";
    cleanups.push(async () => {
      if (dev !== undefined) await runCommand("losetup", ["-d", dev]);
    });
    if (fs === "vfat") await run("fusefat", ["-o", "rw+", dev, mnt]);
    else await run("mount.exfat-fuse", [dev, mnt]);
  }
  cleanups.push(async () => {
    await runCommand("umount", [mnt], { timeoutMs: 60_000 });
    // `mount -o loop` detaches its device on unmount (autoclear); detach whatever lingers
    const loops = await runCommand("losetup", ["-j", image]);
    for (const line of loops.stdout.split("\n")) {
      const d = line.split(":")[0];
      if (d && d !== dev) await runCommand("losetup", ["-d", d]);
    }
  });
  const type = (await runCommand("findmnt", ["-n", "-o", "FSTYPE", mnt])).stdout.trim();
  assert.match(type, fs === "vfat" ? /^(vfat|fuse\.fusefat)$/ : /^(exfat|fuseblk)$/, `${mnt} is ${type}`);
  return { mnt, driver };
}

before(async () => {
  work = await tmpWorkDir("fat-stick");
  if (process.getuid?.() !== 0) {
    skipReason = "needs root to loop-mount filesystem images";
    return;
  }
  for (const cmd of ["mkfs.vfat", "mkfs.exfat", "fusefat", "mount.exfat-fuse", "losetup"]) {
    if (!(await have(cmd))) {
      skipReason = `needs ${cmd} (dosfstools, exfatprogs, fusefat, exfat-fuse: make test-deps)`;
      return;
    }
  }
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  double = await startUpstreamDouble({ fixtures, manifest });
  // the store a site already has, on its own disk
  store = join(work, "store");
  const exportDir = join(work, "export");
  await snapshelf(exportArgs(exportDir));
  await snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), exportDir]);
  await snapshelf(["build", "--dir", store]);
});

after(async () => {
  for (const s of servers) await s.stop();
  await double?.close();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (work) await removeWorkDir(work);
});

function exportArgs(dir: string, ...extra: string[]): string[] {
  return [
    "export",
    "hello-offline",
    "--with-deps",
    "--upstream",
    double?.url ?? "",
    "--export-dir",
    dir,
    "--quiet",
    ...rootArgs(fixtures, manifest),
    ...extra,
  ];
}

for (const fs of ["vfat", "exfat"] as const) {
  test(`${fs === "vfat" ? "FAT32" : "exFAT"}: export onto it with a small --max-file-size, import from it; a store copied onto it with cp -r builds and serves; the real client downloads`, {
    timeout: 600_000,
  }, async (t) => {
    if (skipReason !== undefined) {
      t.skip(skipReason);
      return;
    }
    const stick = await mountStick(fs);
    t.diagnostic(`mounted with ${stick.driver}`);

    // export straight onto the stick: no file larger than MAX, blobs included
    const exportDir = join(stick.mnt, "export");
    await snapshelf(exportArgs(exportDir, "--max-file-size", String(MAX)));
    const exported = await filesUnder(exportDir);
    assert.ok(
      exported.some((f) => /\.snapshelf\.tar\.\d{3}$/.test(f.path)),
      `some bundle was split: ${exported.map((f) => f.path).join(" ")}`,
    );
    for (const f of exported) assert.ok(f.size <= MAX, `${f.path}: ${f.size} bytes`);

    // import from the stick into a new store on the local disk
    const fresh = join(work, `from-${fs}`);
    const imported = await snapshelf(["import", "--dir", fresh, ...rootArgs(fixtures, manifest), exportDir]);
    assert.match(imported.stdout, /imported hello-offline revision/);

    // the whole store copied onto the stick with cp -r
    const onStick = join(stick.mnt, "store");
    await run("cp", ["-r", store, onStick]);
    const want = currentRevision(manifest, "hello-offline", "latest/stable");
    assert.ok(want);
    if (stick.driver !== "fusefat") {
      // a change and a build there: hello-offline rendered again, the rest copied (no hard links) from generation 1
      await snapshelf(["release", "--dir", onStick, "hello-offline", String(want.revision), "beta"]);
      await snapshelf(["build", "--dir", onStick]);
      assert.deepEqual((await readdir(join(onStick, "trees"))).filter((n) => !n.startsWith(".")).sort(), ["1", "2"]);
      assert.equal((await readFile(join(onStick, "current"), "utf8")).trim(), "2");
    }
    const server = await serve(onStick);
    servers.push(server);
    assert.ok(server.url);
    const dl = join(work, `download-${fs}`);
    await mkdir(dl, { recursive: true });
    const res = await runCommand(join(realclientDir(), "snap-testkeys"), ["download", "hello-offline"], {
      cwd: dl,
      env: { SNAPPY_FORCE_API_URL: `${server.url}/`, UBUNTU_STORE_ARCH: hostArch() },
      timeoutMs: 120_000,
    });
    assert.equal(res.code, 0, `${res.stdout}${res.stderr}`);
    assert.deepEqual((await readdir(dl)).sort(), [
      `hello-offline_${want.revision}.assert`,
      `hello-offline_${want.revision}.snap`,
    ]);
    await server.stop();
  });
}
