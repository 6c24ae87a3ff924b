/**
 * Bundles unpacked on worker threads. Unpacking hashes every entry as it is
 * written, and hashing is the limit: one bundle keeps one CPU busy, so import
 * reads as many bundles at once as there are CPUs, each on a thread of a
 * small pool (src/util/worker-pool.ts). Errors come back as the same `SnapshelfError`. Where no
 * thread can be started, the bundle is read on this one.
 */
import { Worker } from "node:worker_threads";
import { copyThreads } from "../blobs/copy-thread.js";
import { SnapshelfError } from "../util/errors.js";
import { WorkerPool } from "../util/worker-pool.js";
import type { BundleContents, BundleReader } from "./contents.js";
import { readBundle } from "./read.js";
import type { ReadJob } from "./read-worker.js";

interface Reply {
  readonly contents?: BundleContents;
  readonly error?: { readonly code?: string; readonly message: string };
}

const pool = new WorkerPool(() => new Worker(new URL("./read-worker.js", import.meta.url)), copyThreads);

/** `readBundle` on a pool thread: same arguments, same contents, same errors. */
export const readBundleOnThread: BundleReader = async (path, stagingDir, opts = {}) => {
  const lease = await pool.waitLease();
  try {
    if (lease.worker === undefined) return await readBundle(path, stagingDir, opts);
    const job: Omit<ReadJob, "id"> = { path, staging: stagingDir };
    const m = await pool.run<Reply>(lease.worker, job, (n) => opts.onProgress?.(n), "bundle reader");
    if (m.contents) return m.contents;
    if (m.error?.code !== undefined) throw new SnapshelfError(m.error.code, m.error.message);
    throw new Error(m.error?.message ?? "bundle reader thread answered nothing");
  } finally {
    lease.release();
  }
};
