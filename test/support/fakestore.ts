/**
 * snapd's own fake store (tests/lib/fakestore, built by setup.sh) serving the
 * fixture catalogue: the reference peer, and the floor our store is measured
 * against (test/e2e/fakestore-baseline.test.ts, the bench).
 *
 * `fakestore run --dir DIR --addr HOST:PORT` serves every `DIR/*.snap` and the
 * assertions in `DIR/asserts/*` (one per file). It knows one blob per snap
 * name (the last one its glob finds) and ignores channel, revision and
 * architecture, so DIR gets one blob per snap: the current `latest/stable`
 * release for the architecture, the answer a device with default settings
 * expects. That is the layout that reaches the README's floor (26 of 49
 * with the daemon scenarios, 25 of 47 without).
 */
import { mkdir, readdir, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { freePort, type StartedProcess, startProcess, waitForHttp } from "./process.js";
import { currentRevision, ensureRealclient, hostArch, type Manifest, realclientDir } from "./realclient.js";

export interface Fakestore {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** The directory it serves (symlinks into the fixtures). */
  dir: string;
  /** The blobs it serves, relative to the fixture dir. */
  blobs: string[];
  proc: StartedProcess;
  stop(): Promise<void>;
}

/** Symlinks the fixture catalogue into `dir` in fakestore's layout; returns the blobs chosen. */
export async function layoutFakestoreDir(
  fixtures: string,
  manifest: Manifest,
  dir: string,
  arch: string = hostArch(),
): Promise<string[]> {
  const src = resolve(fixtures);
  const blobs: string[] = [];
  await mkdir(join(dir, "asserts"), { recursive: true });
  for (const snap of manifest.snaps) {
    const rev = currentRevision(manifest, snap.name, "latest/stable", arch);
    if (rev === undefined) continue;
    blobs.push(rev.file);
    await symlink(join(src, rev.file), join(dir, `${snap.name}_${rev.revision}.snap`));
  }
  const assertDir = join(src, manifest["assert-dir"]);
  for (const f of (await readdir(assertDir)).sort()) {
    await symlink(join(assertDir, f), join(dir, "asserts", f));
  }
  return blobs;
}

/**
 * Starts snapd's fakestore on 127.0.0.1 (never another interface) serving the
 * catalogue in `fixtures` from a layout built under `work`. Stop it with
 * `stop()` (e.g. in `t.after`).
 */
export async function startFakestore(opts: {
  fixtures: string;
  manifest: Manifest;
  work: string;
  arch?: string;
  timeoutMs?: number;
}): Promise<Fakestore> {
  await ensureRealclient();
  const dir = join(opts.work, "fakestore");
  const blobs = await layoutFakestoreDir(opts.fixtures, opts.manifest, dir, opts.arch);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // fakestore prints nothing when it is listening: poll it instead
  const proc = await startProcess(
    join(realclientDir(), "fakestore"),
    ["run", "--dir", dir, "--addr", `127.0.0.1:${port}`],
    {
      ready: null,
      logFile: join(opts.work, "fakestore.log"),
    },
  );
  try {
    const status = await waitForHttp(`${url}/`, { timeoutMs: opts.timeoutMs ?? 15_000, proc });
    // its root answers "I'm a teapot": anything else is some other server that won the port
    if (status !== 418) throw new Error(`cannot start fakestore: ${url}/ answered ${status}, not fakestore's 418`);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, dir, blobs, proc, stop: () => proc.stop() };
}
