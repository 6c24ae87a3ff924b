/**
 * Small filesystem helpers shared by every writer: nothing is ever visible
 * half-written under its final name (temporary name in the same directory,
 * fsync, rename, fsync the directory).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SnapshelfError } from "./errors.js";
import { faultPoint } from "./fault.js";

/** True for errno-style errors carrying `code`. */
export function isErrnoError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string";
}

/** The `code` of an errno-style error (`ENOENT`, ...), undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  return isErrnoError(err) ? err.code : undefined;
}

/**
 * A temporary name next to `path` (same directory, so the final rename is
 * atomic): `.<base>.tmp-<pid>-<rand>`. The leading dot keeps it out of
 * directory listings that skip hidden files.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
}

/** `mkdir -p`. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/**
 * Flushes a directory's entries (a rename is only durable once its directory
 * is). Filesystems that cannot fsync a directory (EINVAL) are tolerated.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } catch (err) {
    if (!(isErrnoError(err) && err.code === "EINVAL")) throw err;
  } finally {
    await fh.close();
  }
}

/** True when `path` exists (any type); only ENOENT/ENOTDIR count as absent. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrnoError(err) && (err.code === "ENOENT" || err.code === "ENOTDIR")) return false;
    throw err;
  }
}

/** Removes `path`, ignoring a missing file (cleanup of temporaries). */
export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!(isErrnoError(err) && err.code === "ENOENT")) throw err;
  }
}

/**
 * Writes `data` to `path` atomically: temporary name in the same directory,
 * write, fsync, rename, fsync the directory. On failure the temporary is
 * removed and `path` is untouched. The directory must exist.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    faultPoint("atomic:before-rename");
    await rename(tmp, path);
    faultPoint("atomic:after-rename");
  } catch (err) {
    await unlinkQuiet(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}

/**
 * Writes `value` as JSON (2-space indent, trailing newline) atomically. Key
 * order is the caller's: build values with sorted keys for deterministic output.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text: string | undefined = JSON.stringify(value, null, 2);
  // JSON.stringify returns undefined for undefined/functions: never write "undefined".
  if (text === undefined)
    throw new SnapshelfError("invalid-json", `cannot write ${path}: value is not representable as JSON`);
  await writeFileAtomic(path, `${text}\n`);
}

/**
 * The reason part of a filesystem error, without Node's `ENOENT: ` prefix and
 * `, open '<path>'` suffix (callers name the file themselves):
 * `no such file or directory`, `permission denied`, ...
 */
export function fsErrorReason(err: unknown): string {
  if (err instanceof SnapshelfError) return err.message;
  if (isErrnoError(err)) {
    const m = /^[A-Z0-9_]+: (.*?)(?:, [a-z_]+(?: '.*')?)?$/s.exec(err.message);
    if (m?.[1]) return m[1];
  }
  return err instanceof Error ? err.message : String(err);
}
