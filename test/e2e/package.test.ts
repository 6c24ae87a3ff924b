/**
 * `make package`'s artifacts, run the way an offline host would run them.
 *
 * The .deb is installed with `dpkg --root` into a scratch root that holds only what a
 * fresh Debian host has that snapshelf uses (a shell, passwd's tools, the C and C++ runtime
 * libraries, unsquashfs): no Node at all. dpkg runs the maintainer scripts chrooted there.
 * Then, as the `snapshelf` user postinst created and in the default store /var/lib/snapshelf,
 * the installed /usr/bin/snapshelf imports the signed fixture catalogue, builds and serves
 * it, and snapd's real client (the probe) installs from it. Everything runs in a network
 * namespace with only loopback (no route anywhere). Reinstalling, removing and purging the
 * package leave the store byte for byte as it was.
 *
 * The npm tarball is installed with `npm install -g --offline` into a temporary prefix with
 * an empty npm cache, in the same network namespace (no registry reachable), and does the
 * same with the host's Node.
 */
import assert from "node:assert/strict";
import { chmod, copyFile, cp, mkdir, readdir, readFile, realpath, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { after, before, test } from "node:test";
import {
  currentRevision,
  hostArch,
  type Manifest,
  makeFixtures,
  realclientDir,
  removeWorkDir,
  repoRoot,
  runChecked,
  runCommand,
  type StartedProcess,
  startProcess,
  tmpWorkDir,
} from "../support/realclient.js";
import { fixtureRoots } from "../support/snapshelf.js";
import { ensureTool, which } from "../support/system.js";
import { listTree } from "../support/tree-hash.js";

let work = "";
let fixtures: string;
let manifest: Manifest;
let pkgDir: string;
let deb: string;
let tgz: string;
let netns: StartedProcess | undefined;
const servers: StartedProcess[] = [];
const PORT = 8000; // the namespace's own loopback: nothing else listens there

/** Namespaces, chroot and dpkg --root's chown need root (as the real snapd daemon scenarios do). */
const ROOT = process.getuid?.() === 0;
const needsRoot = ROOT ? {} : { skip: "needs root (unshare, chroot, dpkg --root)" };

before(async () => {
  if (!ROOT) return;
  work = await tmpWorkDir("package");
  fixtures = join(work, "fixtures");
  manifest = await makeFixtures(fixtures);
  pkgDir = join(work, "pkg");
  const t0 = Date.now();
  const res = await runChecked("bash", [join(repoRoot(), "scripts", "package.sh"), pkgDir], { timeoutMs: 600_000 });
  process.stderr.write(`package.sh: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${res.stdout}`);
  const files = await readdir(pkgDir);
  deb = join(pkgDir, files.find((f) => /^snapshelf_[0-9.]+_[a-z0-9]+\.deb$/.test(f)) ?? "missing.deb");
  tgz = join(pkgDir, files.find((f) => /^snapshelf-[0-9.]+\.tgz$/.test(f)) ?? "missing.tgz");
  await ensureTool("ip", ["iproute2"]);
  // a network namespace (loopback only) and a mount namespace, held open by a sleeping process
  netns = await startProcess("unshare", ["--net", "--mount", "--fork", "--kill-child", "sleep", "3600"], {
    ready: null,
  });
  await inNs("ip", ["link", "set", "lo", "up"]);
});

after(async () => {
  for (const s of servers) await s.stop();
  await netns?.stop();
  if (work !== "") await removeWorkDir(work);
});

function nsArgs(cmd: string, args: readonly string[]): string[] {
  const pid = netns?.child.pid;
  assert.ok(pid !== undefined, "no namespace");
  return ["-t", String(pid), "--net", "--mount", cmd, ...args];
}

/** Runs CMD in the namespaces; fails the test on a non-zero exit. */
function inNs(cmd: string, args: readonly string[], timeoutMs = 300_000) {
  return runChecked("nsenter", nsArgs(cmd, args), { timeoutMs });
}

/** Copies `bin` into the scratch root with every shared library it loads, as the host has them. */
async function copyWithLibs(root: string, bin: string, as: string): Promise<void> {
  await mkdir(dirname(join(root, as)), { recursive: true });
  await copyFile(await realpath(bin), join(root, as));
  await chmod(join(root, as), 0o755);
  const ldd = await runCommand("ldd", [bin]);
  for (const line of ldd.stdout.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m === null) continue;
    const lib = m[1]!;
    const target = join(root, await realpath(dirname(lib)), basename(lib));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(await realpath(lib), target).catch(() => undefined);
  }
}

/**
 * A scratch root with what a fresh Debian or Ubuntu host has that the package uses: sh,
 * coreutils' mkdir/chown/id, passwd's useradd/groupadd, getent, unsquashfs, the runtime
 * libraries (libc6, libstdc++6, libgcc-s1), an /etc with only root, an empty dpkg database.
 */
async function scratchRoot(root: string): Promise<void> {
  for (const d of [
    "etc",
    "tmp",
    "proc",
    "dev",
    "srv",
    "var/lib/dpkg/info",
    "var/lib/dpkg/updates",
    "var/log",
    "usr/bin",
  ]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await mkdir(join(root, "usr/sbin"), { recursive: true });
  await mkdir(join(root, "usr/lib"), { recursive: true });
  await mkdir(join(root, "usr/lib64"), { recursive: true });
  for (const [link, to] of [
    ["bin", "usr/bin"],
    ["sbin", "usr/sbin"],
    ["lib", "usr/lib"],
    ["lib64", "usr/lib64"],
  ] as const) {
    await symlink(to, join(root, link));
  }
  await chmod(join(root, "tmp"), 0o1777);
  const tools: [string, string][] = [
    ["sh", "usr/bin/sh"],
    ["mkdir", "usr/bin/mkdir"],
    ["chown", "usr/bin/chown"],
    ["id", "usr/bin/id"],
    ["getent", "usr/bin/getent"],
    ["groupadd", "usr/sbin/groupadd"],
    ["useradd", "usr/sbin/useradd"],
    ["unsquashfs", "usr/bin/unsquashfs"],
  ];
  for (const [name, as] of tools) {
    const p = await which(name);
    assert.ok(p !== undefined, `${name} is not on this host`);
    await copyWithLibs(root, p, as);
  }
  // what the carried runtime links against (libc6, libstdc++6, libgcc-s1 on the target host)
  await copyWithLibs(root, process.execPath, "tmp/node-libs-probe");
  await runChecked("rm", [join(root, "tmp/node-libs-probe")]);
  await writeFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(root, "etc/group"), "root:x:0:\n");
  await writeFile(join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
  await writeFile(join(root, "etc/gshadow"), "root:*::\n", { mode: 0o640 });
  await writeFile(join(root, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nshadow: files\n");
  await copyFile("/etc/login.defs", join(root, "etc/login.defs"));
  await writeFile(join(root, "var/lib/dpkg/status"), "");
  await writeFile(join(root, "var/lib/dpkg/available"), "");
}

/** `dpkg --root ROOT ARGS` (maintainer scripts chrooted into ROOT). The scratch root has no libc6 etc. records. */
function dpkgRoot(root: string, args: readonly string[]) {
  return inNs("dpkg", [`--root=${root}`, "--force-depends", "--force-bad-path", ...args]);
}

/** How each artifact's installed CLI is run in the namespace. */
type Cli = (args: readonly string[]) => [string, string[]];

/**
 * Imports the fixture catalogue (trusted roots, assertions, blobs), releases hello-offline,
 * builds for the namespace's loopback, serves, and has the probe install and verify it.
 * Returns the milliseconds from `t0` to serving and to the real client's install done.
 */
async function importBuildServeInstall(
  cli: Cli,
  fixturesSeen: string,
  dlDir: string,
  t0: number,
): Promise<{ servingMs: number; installedMs: number }> {
  const run = (args: readonly string[]) => {
    const [cmd, argv] = cli(args);
    return inNs(cmd, argv);
  };
  const roots = fixtureRoots(fixturesSeen, manifest).flatMap((r) => ["--trusted-root", r]);
  const url = `http://127.0.0.1:${PORT}`;
  // the operator's first step on the host: the store and the URL devices reach it at
  await run(["init", "--base-url", url]);
  await run(["import", ...roots, join(fixturesSeen, manifest["assert-dir"])]);
  await run(["import", join(fixturesSeen, "blobs")]);
  const arch = hostArch();
  const want = currentRevision(manifest, "hello-offline", "latest/stable", arch);
  assert.ok(want, "the fixture has hello-offline in latest/stable");
  await run(["release", "hello-offline", String(want.revision), "stable", "--arch", arch]);
  await run(["build", "--base-url", url]);
  const [cmd, argv] = cli(["serve", "--host", "127.0.0.1", "--port", String(PORT)]);
  const server = await startProcess("nsenter", nsArgs(cmd, argv), { timeoutMs: 60_000 });
  servers.push(server);
  assert.equal(server.url, url);
  const servingMs = Date.now() - t0;
  await mkdir(dlDir, { recursive: true });
  const probe = await runCommand(
    "nsenter",
    nsArgs(join(realclientDir(), "probe"), [
      "-store",
      url,
      "-arch",
      arch,
      "action",
      "-action",
      "install",
      "-name",
      "hello-offline",
      "-download",
      dlDir,
    ]),
    { timeoutMs: 120_000 },
  );
  const out = JSON.parse(probe.stdout) as { ok: boolean; results?: { revision: number; verified: boolean }[] };
  assert.equal(out.ok, true, probe.stdout + probe.stderr);
  assert.equal(out.results?.[0]?.revision, want.revision);
  assert.equal(out.results?.[0]?.verified, true, probe.stdout);
  const installedMs = Date.now() - t0;
  await server.stop();
  return { servingMs, installedMs };
}

test("the namespace has no network but loopback", needsRoot, async () => {
  const links = await inNs("ip", ["-o", "link"]);
  assert.deepEqual(
    links.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(":")[1]?.trim()),
    ["lo"],
  );
  const routes = await inNs("ip", ["route"]);
  assert.equal(routes.stdout.trim(), "", "no route out");
});

test(
  ".deb: dpkg -i into a root without Node, then import, build, serve; the real client installs",
  needsRoot,
  async (t) => {
    const root = join(work, "root");
    await scratchRoot(root);
    await cp(fixtures, join(root, "srv", "fixtures"), { recursive: true });
    // the namespace's view of the scratch root: the host's /dev, a /proc (node reads /proc/self/exe)
    await inNs("mount", ["--rbind", "/dev", join(root, "dev")]);
    await inNs("mount", ["-t", "proc", "proc", join(root, "proc")]);
    const noNode = await runCommand("nsenter", nsArgs("chroot", [root, "/bin/sh", "-c", "command -v node nodejs"]));
    assert.notEqual(noNode.code, 0, `a node is visible in the scratch root: ${noNode.stdout}`);

    const t0 = Date.now();
    await dpkgRoot(root, ["-i", deb]);
    const installMs = Date.now() - t0;
    // postinst: a system user and group, the default store directory owned by them
    const passwd = await readFile(join(root, "etc/passwd"), "utf8");
    const user = /^snapshelf:x:(\d+):(\d+):[^:]*:\/var\/lib\/snapshelf:\/usr\/sbin\/nologin$/m.exec(passwd);
    assert.ok(user, passwd);
    assert.ok(Number(user[1]) < 1000, "a system uid");
    const store = join(root, "var/lib/snapshelf");
    const st = await stat(store);
    assert.equal(st.uid, Number(user[1]));
    // the units, shipped for the installed case and not enabled
    const unit = await readFile(join(root, "lib/systemd/system/snapshelf-serve.service"), "utf8");
    assert.match(unit, /^User=snapshelf$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/snapshelf serve --dir \/var\/lib\/snapshelf /m);
    for (const u of ["snapshelf-reload.path", "snapshelf-reload.service"])
      await stat(join(root, "lib/systemd/system", u));
    await assert.rejects(stat(join(root, "etc/systemd/system/multi-user.target.wants")), "nothing enabled");

    // the operator's commands, as the snapshelf user, in the default store
    const cli: Cli = (args) => [
      "env",
      [
        "-i",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "chroot",
        "--userspec=snapshelf:snapshelf",
        root,
        "/usr/bin/snapshelf",
        ...args,
      ],
    ];
    const times = await importBuildServeInstall(cli, "/srv/fixtures", join(work, "dl-deb"), t0);
    t.diagnostic(
      `dpkg -i: ${installMs} ms; from dpkg -i to serving (import, release, build, serve): ${times.servingMs} ms; ` +
        `to the real client's first install done: ${times.installedMs} ms`,
    );
    await stat(join(store, "current"));

    // upgrade (reinstall), remove and purge never touch the store
    const before = await listTree(store);
    await dpkgRoot(root, ["-i", deb]);
    assert.deepEqual(await listTree(store), before, "reinstall");
    await dpkgRoot(root, ["-r", "snapshelf"]);
    await assert.rejects(stat(join(root, "usr/bin/snapshelf")), "removed");
    assert.deepEqual(await listTree(store), before, "remove");
    await dpkgRoot(root, ["-P", "snapshelf"]);
    assert.deepEqual(await listTree(store), before, "purge");
    assert.equal((await stat(store)).uid, Number(user[1]));
  },
);

test(".tgz: npm install -g --offline with an empty cache and no registry, then the same", needsRoot, async () => {
  const prefix = join(work, "npm-prefix");
  const cache = join(work, "npm-cache");
  await mkdir(cache, { recursive: true });
  assert.deepEqual(await readdir(cache), [], "empty cache");
  const npm = await which("npm");
  assert.ok(npm !== undefined);
  await inNs("env", [
    "npm_config_registry=http://registry.invalid/",
    npm,
    "install",
    "--global",
    "--offline",
    "--no-audit",
    "--no-fund",
    "--prefix",
    prefix,
    "--cache",
    cache,
    tgz,
  ]);
  const bin = join(prefix, "bin", "snapshelf");
  const store = join(work, "npm-store");
  const cli: Cli = (args) => [
    "env",
    [
      `PATH=${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`,
      bin,
      args[0]!,
      "--dir",
      store,
      ...args.slice(1),
    ],
  ];
  await importBuildServeInstall(cli, fixtures, join(work, "dl-npm"), Date.now());
  // the installed copy carries its own dependencies, not this checkout's
  const installed = await realpath(bin);
  assert.ok(installed.startsWith(await realpath(prefix)), installed);
  for (const dep of ["commander", "polka", "tar", "undici", "yaml"]) {
    await stat(join(prefix, "lib", "node_modules", "snapshelf", "node_modules", dep, "package.json"));
  }
});

test("lintian finds no errors or warnings in the .deb", { ...needsRoot, timeout: 600_000 }, async () => {
  const lintian = await ensureTool("lintian", ["lintian"]);
  const res = await runCommand(lintian, ["--fail-on", "error,warning", deb], { timeoutMs: 600_000 });
  assert.equal(res.code, 0, res.stdout + res.stderr);
});
