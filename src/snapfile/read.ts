/**
 * Reads `meta/snap.yaml` out of a `.snap` (a squashfs image) with
 * `unsquashfs -cat`, which writes the file to stdout and nothing to disk.
 */
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { SnapYamlInfo } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError } from "../util/fs.js";
import { parseSnapYaml } from "./snap-yaml.js";

/** Squashfs superblock magic 0x73717368, little-endian on disk: "hsqs". */
const SQUASHFS_MAGIC = Buffer.from("hsqs", "latin1");
const TIMEOUT_MS = 60_000;
/** snap.yaml is small; anything larger than this is not one we serve. */
const MAX_OUTPUT = 1 << 20;
const MAX_STDERR = 64 << 10;

export interface ReadSnapYamlOptions {
  /** The name errors give the file (e.g. the operator's input when reading a staged copy). */
  readonly displayName?: string;
  /** The unsquashfs binary (default: `unsquashfs` from PATH). */
  readonly unsquashfs?: string;
  /** Kill unsquashfs after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** The file to read (default `meta/snap.yaml`; a component's is `meta/component.yaml`). */
  readonly member?: "meta/snap.yaml" | "meta/component.yaml";
}

/** First non-empty line of unsquashfs's stderr, for the error message. */
function firstLine(text: string): string {
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t !== "") return t;
  }
  return "";
}

/** Checks the squashfs magic before spawning anything: a fast, clean error for non-snaps. */
async function checkMagic(snapPath: string, fail: (code: string, reason: string) => SnapshelfError): Promise<void> {
  let head: Buffer;
  try {
    const fh = await open(snapPath, "r");
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw fail("invalid-snap", "not a regular file");
      head = Buffer.alloc(SQUASHFS_MAGIC.length);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof SnapshelfError) throw err;
    throw fail("snap-read-failed", fsErrorReason(err));
  }
  if (!head.equals(SQUASHFS_MAGIC)) throw fail("invalid-snap", "not a valid snap (no squashfs magic)");
}

/**
 * The text of `meta/snap.yaml` inside the snap at `snapPath`.
 *
 * Runs `unsquashfs -cat <path> meta/snap.yaml` (no shell, 60 s timeout, at
 * most 1 MiB of output). `-cat` only writes to stdout, never to the working
 * directory (no `squashfs-root/`).
 */
export async function readSnapYaml(snapPath: string, opts: ReadSnapYamlOptions = {}): Promise<string> {
  const member = opts.member ?? "meta/snap.yaml";
  const fail = (code: string, reason: string): SnapshelfError =>
    new SnapshelfError(code, `cannot read ${basename(member)} from ${opts.displayName ?? snapPath}: ${reason}`);
  await checkMagic(snapPath, fail);

  const bin = opts.unsquashfs ?? "unsquashfs";
  const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  // An absolute path can never be taken for an option, even if the name starts with "-".
  const args = ["-cat", resolve(snapPath), member];

  const stdout = await new Promise<Buffer>((resolvePromise, reject) => {
    const child = spawn(bin, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // Untranslated messages, so the first stderr line is predictable.
      env: { ...process.env, LC_ALL: "C" },
    });
    const out: Buffer[] = [];
    let outLen = 0;
    let errText = "";
    let failure: SnapshelfError | undefined;
    const abort = (e: SnapshelfError): void => {
      if (failure === undefined) failure = e;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(
      () => abort(fail("snap-read-failed", `unsquashfs timed out after ${Math.round(timeoutMs / 1000)}s`)),
      timeoutMs,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      outLen += chunk.length;
      if (outLen > MAX_OUTPUT) {
        abort(fail("invalid-snap", `not a valid snap (${member} larger than ${MAX_OUTPUT} bytes)`));
        return;
      }
      out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (errText.length < MAX_STDERR) errText += chunk.toString("utf8");
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      if (isErrnoError(err) && err.code === "ENOENT") {
        reject(fail("unsquashfs-missing", "unsquashfs not found (install squashfs-tools)"));
      } else {
        reject(fail("snap-read-failed", `unsquashfs failed to start (${fsErrorReason(err)})`));
      }
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (failure !== undefined) {
        reject(failure);
      } else if (code === 0) {
        resolvePromise(Buffer.concat(out, outLen));
      } else {
        const detail =
          firstLine(errText) || (signal ? `unsquashfs killed by ${signal}` : `unsquashfs exit status ${code}`);
        reject(fail("invalid-snap", `not a valid snap (${detail})`));
      }
    });
  });

  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(stdout);
  } catch {
    throw fail("invalid-snap", `not a valid snap (${member} is not valid UTF-8)`);
  }
}

/** `readSnapYaml` + `parseSnapYaml`, errors naming `snapPath`. */
export async function readSnapInfo(snapPath: string, opts: ReadSnapYamlOptions = {}): Promise<SnapYamlInfo> {
  return parseSnapYaml(await readSnapYaml(snapPath, opts), snapPath);
}
