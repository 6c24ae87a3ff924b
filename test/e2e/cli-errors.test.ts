/**
 * Errors an operator can act on, produced for real: a closed stdout (every
 * verb ends quietly, status 0), usage errors (status 2), and a disk that is
 * full, read-only or not ours (a small tmpfs mounted here, remounted
 * read-only; a store written by root and used as `nobody`): one line
 * `cannot <do thing>: <reason> (store DIR)`, status 1, never a raw Node error
 * code or a stack. Mounting needs root (CI runs as root); without it those
 * tests are skipped.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { removeWorkDir, repoRoot, runCommand, tmpWorkDir } from "../support/realclient.js";
import { cliPath, snapshelf, snapshelfRaw } from "../support/snapshelf.js";

const REAL_ASSERTIONS = join(repoRoot(), "..", "shared", "real-store", "assertions");

let work: string;
let store: string;

before(async () => {
  work = await tmpWorkDir("cli-errors");
  store = join(work, "store");
  await snapshelf(["import", "--dir", store, REAL_ASSERTIONS]);
  // a base URL devices can reach (client-config refuses a loopback one)
  await snapshelf(["build", "--dir", store, "--base-url", "http://store.internal:9/"]);
});

after(async () => {
  await removeWorkDir(work);
});

/** Runs the CLI with its stdout a pipe whose reading end is already closed. */
function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    // nobody reads: the first write the CLI makes meets a closed pipe (EPIPE)
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function assertOneLine(stderr: string, re: RegExp): void {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line:\n${stderr}`);
  assert.match(lines[0] ?? "", re);
  assert.doesNotMatch(stderr, /\bE[A-Z]{3,}\b|\n\s+at /, "no raw error code, no stack");
}

describe("a closed stdout ends every verb quietly with status 0", () => {
  const verbs: string[][] = [
    ["status"],
    ["list"],
    ["generations"],
    ["generations", "--json"],
    ["log"],
    ["verify"],
    ["nginx-config"],
    ["client-config"],
    ["build", "--base-url", "http://store.internal:9/"],
    ["gc", "--dry-run"],
    ["rollback"],
  ];
  for (const v of verbs) {
    test(v.join(" "), async () => {
      const res = await withClosedStdout([...v, "--dir", store]);
      assert.equal(res.code, 0, res.stderr);
      assert.doesNotMatch(res.stderr, /EPIPE|\n\s+at |^error:/m, res.stderr);
    });
  }
  test("a change is never cut short by its closed output: import completes", async () => {
    const fresh = join(work, "fresh");
    await snapshelf(["init", "--dir", fresh, "--base-url", "http://store.internal:9/"]);
    const res = await withClosedStdout(["import", "--dir", fresh, REAL_ASSERTIONS]);
    assert.equal(res.code, 0, res.stderr);
    assert.match((await snapshelf(["status", "--dir", fresh])).stdout, /0 overrides, 3 assertions/);
  });
  test("--help and --version", async () => {
    for (const a of [["--help"], ["--version"], ["status", "--help"]]) {
      const res = await withClosedStdout(a);
      assert.equal(res.code, 0, res.stderr);
      assert.doesNotMatch(res.stderr, /EPIPE|\n\s+at /, res.stderr);
    }
  });
  test("a real pipe closed early: snapshelf status | head -c 1", async () => {
    const res = await runCommand("bash", [
      "-c",
      `"$0" "$1" status --dir "$2" | head -c 1 >/dev/null; echo "rc=\${PIPESTATUS[0]}" >&2`,
      process.execPath,
      cliPath(),
      store,
    ]);
    assert.match(res.stderr, /^rc=0$/m, res.stderr);
    assert.doesNotMatch(res.stderr, /EPIPE|\n\s+at /, res.stderr);
  });
});

describe("usage errors exit 2", () => {
  const cases: Array<[string[], RegExp]> = [
    [["no-such-verb"], /unknown command/],
    [["status", "--no-such-option"], /unknown option/],
    [["rollback", "x"], /a generation is a positive integer/],
    [
      ["nginx-config", "--tls-cert", "x"],
      /^error: cannot generate nginx configuration: --tls-cert and --tls-key go together$/m,
    ],
  ];
  for (const [args, re] of cases) {
    test(args.join(" "), async () => {
      const res = await snapshelfRaw([...args, "--dir", store]);
      assert.equal(res.code, 2, `${res.stdout}${res.stderr}`);
      assert.match(res.stderr, re);
    });
  }
  test("--help documents the exit statuses", async () => {
    const res = await snapshelf(["--help"]);
    assert.match(res.stdout, /Exit status: 0 done; 1 refused .*\n.*; 2 usage .*; 3 unexpected/);
  });
  test("a refused operation exits 1", async () => {
    const res = await snapshelfRaw(["rollback", "--dir", store, "99"]);
    assert.equal(res.code, 1, res.stderr);
  });
});

test("a port already in use (EADDRINUSE) reads as words", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  try {
    const port = (taken.address() as AddressInfo).port;
    const res = await snapshelfRaw(["serve", "--dir", store, "--host", "127.0.0.1", "--port", String(port)]);
    assert.equal(res.code, 1, `${res.stdout}${res.stderr}`);
    assertOneLine(
      res.stderr,
      new RegExp(`^error: cannot serve the store: address already in use.* \\(store ${store}\\)$`),
    );
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

describe("the system refuses: disk full, read-only, permission denied", () => {
  let mnt: string;
  let small: string;
  let mounted = false;

  before(async () => {
    mnt = join(work, "mnt");
    await mkdir(mnt, { recursive: true });
    const res = await runCommand("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", mnt]);
    mounted = res.code === 0;
    if (!mounted) return;
    small = join(mnt, "store");
    await snapshelf(["build", "--dir", small, "--base-url", "http://127.0.0.1:9/"]);
  });

  after(async () => {
    if (mounted) await runCommand("umount", [mnt]);
  });

  test("disk full (ENOSPC)", async (t) => {
    if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
    // fill the file system to the last block
    await writeFile(join(mnt, "filler"), Buffer.alloc(600 * 1024)).catch(() => {});
    for (const [args, action] of [
      [["build", "--base-url", "http://127.0.0.1:8/"], "build"],
      [["import", REAL_ASSERTIONS], "import"],
    ] as const) {
      const res = await snapshelfRaw([...args, "--dir", small]);
      assert.equal(res.code, 1, `${res.stdout}${res.stderr}`);
      assertOneLine(
        res.stderr,
        new RegExp(`^error: cannot ${action}: no space left on device.* \\(store ${small}\\)$`),
      );
    }
    // output redirected to a file on the full disk
    const redirected = await runCommand("bash", [
      "-c",
      `"$0" "$1" nginx-config --dir "$2" > "$3"`,
      process.execPath,
      cliPath(),
      store,
      join(mnt, "nginx.conf"),
    ]);
    assert.equal(redirected.code, 1, redirected.stderr);
    assertOneLine(redirected.stderr, /^error: cannot write the output: no space left on device$/);
    await runCommand("rm", ["-f", join(mnt, "filler")]);
  });

  test("read-only file system (EROFS)", async (t) => {
    if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
    const ro = await runCommand("mount", ["-o", "remount,ro", mnt]);
    assert.equal(ro.code, 0, ro.stderr);
    try {
      const res = await snapshelfRaw(["build", "--dir", small, "--base-url", "http://127.0.0.1:8/"]);
      assert.equal(res.code, 1, `${res.stdout}${res.stderr}`);
      assertOneLine(res.stderr, new RegExp(`^error: cannot build: read-only file system.* \\(store ${small}\\)$`));
      // reading still works
      assert.match((await snapshelf(["status", "--dir", small])).stdout, /in service: +generation 1/);
    } finally {
      await runCommand("mount", ["-o", "remount,rw", mnt]);
    }
  });

  test("permission denied (EACCES): root's store used as nobody", async (t) => {
    if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
    const probe = await runCommand("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "true"]);
    if (probe.code !== 0) return t.skip("setpriv cannot run as nobody here");
    const res = await runCommand("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      process.execPath,
      cliPath(),
      "import",
      "--dir",
      small,
      REAL_ASSERTIONS,
    ]);
    assert.equal(res.code, 1, `${res.stdout}${res.stderr}`);
    assertOneLine(res.stderr, new RegExp(`^error: cannot import: permission denied.* \\(store ${small}\\)$`));
  });
});
