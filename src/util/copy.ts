/**
 * File copies that work on every filesystem a store or an export may sit on.
 * `copyFile` (libuv) sets the copy's mode with fchmod, which FAT refuses
 * (EPERM on the kernel's vfat, ENOSYS through FUSE drivers): there the bytes
 * are copied by hand, and the file keeps the mode the filesystem gives it.
 */
import { closeSync, copyFileSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { copyFile, open, unlink } from "node:fs/promises";
import { isErrnoError } from "./fs.js";

/** Errors of a copy that a plain read/write loop avoids. */
const PLAIN_COPY = new Set(["EPERM", "ENOSYS", "ENOTSUP", "EOPNOTSUPP", "EINVAL"]);
const CHUNK = 1 << 20;

function plainCopyWanted(err: unknown): boolean {
  return isErrnoError(err) && PLAIN_COPY.has(err.code ?? "");
}

/** `copyFile(src, dst)`, by hand where the filesystem refuses the copy's mode. `dst` must not exist. */
export async function copyFilePortable(src: string, dst: string): Promise<void> {
  try {
    await copyFile(src, dst);
    return;
  } catch (err) {
    if (!plainCopyWanted(err)) throw err;
    await unlink(dst).catch(() => undefined);
  }
  const from = await open(src, "r");
  try {
    const to = await open(dst, "wx", 0o644);
    try {
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        const { bytesRead } = await from.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        await to.write(buf, 0, bytesRead);
      }
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

/** The synchronous `copyFilePortable` (the build renders synchronously). */
export function copyFileSyncPortable(src: string, dst: string): void {
  try {
    copyFileSync(src, dst);
    return;
  } catch (err) {
    if (!plainCopyWanted(err)) throw err;
    try {
      unlinkSync(dst);
    } catch {
      // not created
    }
  }
  const from = openSync(src, "r");
  try {
    const to = openSync(dst, "wx", 0o644);
    try {
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        const n = readSync(from, buf, 0, CHUNK, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += writeSync(to, buf, off, n - off);
      }
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}
