/**
 * Copy-and-hash of large blob files on worker threads. A worker reads the
 * input and hashes each chunk with sha3-384 while earlier chunks are being
 * written to the temporary file, then fsyncs: a chunk never crosses a thread
 * boundary of ours (no copies through postMessage). Import runs
 * several of these at once (one per CPU), which is what lifts it to the
 * hashing limit of the machine: on the main thread, the copy's reads and
 * writes took turns with hashing (import ran at ~0.57x of `openssl dgst
 * -sha3-384`).
 *
 * A pool (src/util/worker-pool.ts) of one worker per CPU, at most
 * `MAX_WORKERS`. When every worker is busy, `copyOnThread` returns
 * undefined and the caller copies on the main thread.
 * Progress is reported per chunk, so callers keep their progress lines and
 * fault points (the crash tests kill the process there).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { WorkerPool } from "../util/worker-pool.js";

/** Hashing threads at most. */
const MAX_WORKERS = 4;
const CHUNK_SIZE = 1 << 20;
/** Chunks in flight per copy: one being read and hashed, the others being written. */
const RING = 4;

// CommonJS, evaluated in the worker: one job at a time; every reply names its job. A ring of buffers:
// chunk n is read and hashed here while the thread pool writes the chunks before it, each at its own
// offset (so the writes may finish in any order).
const SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const RING = ${RING};
const bufs = Array.from({ length: RING }, () => Buffer.allocUnsafe(${CHUNK_SIZE}));
const writeAt = (fd, b, position) =>
  new Promise((resolve, reject) => {
    let off = 0;
    const step = () =>
      fs.write(fd, b, off, b.length - off, position + off, (err, n) => {
        if (err) return reject(err);
        off += n;
        if (off < b.length) step();
        else resolve();
      });
    step();
  });
async function copy({ src, dst, wantSize, maxSize }, post) {
  let fin, fout;
  const pending = Array.from({ length: RING }, () => Promise.resolve());
  try {
    const hash = createHash("sha3-384");
    fin = fs.openSync(src, "r");
    fout = fs.openSync(dst, "wx", 0o644);
    let size = 0;
    for (let i = 0; ; i++) {
      const k = i % RING;
      await pending[k];
      const buf = bufs[k];
      const n = fs.readSync(fin, buf, 0, buf.length, null);
      if (n === 0) break;
      if (wantSize !== undefined && size + n > wantSize) return { limit: "want", size: size + n };
      if (maxSize !== undefined && size + n > maxSize) return { limit: "max", size: size + n };
      const piece = buf.subarray(0, n);
      hash.update(piece);
      pending[k] = writeAt(fout, piece, size);
      pending[k].catch(() => undefined);
      size += n;
      post({ progress: size });
    }
    await Promise.all(pending);
    fs.fsyncSync(fout);
    return { hex: hash.digest("hex"), size };
  } catch (e) {
    return { error: { message: String(e && e.message), code: e && e.code } };
  } finally {
    await Promise.allSettled(pending);
    if (fin !== undefined) fs.closeSync(fin);
    if (fout !== undefined) fs.closeSync(fout);
  }
}
parentPort.on("message", (job) => {
  const post = (m) => parentPort.postMessage({ id: job.id, ...m });
  copy(job, post).then(post);
});
`;

export interface CopyLimits {
  /** More bytes than this: stop (`limit: "want"`). */
  readonly wantSize?: number | undefined;
  /** More bytes than this: stop (`limit: "max"`). */
  readonly maxSize?: number | undefined;
}

export type CopyOutcome =
  | { readonly hex: string; readonly size: number }
  /** The input had more bytes than a limit allowed; `dst` holds a partial copy. */
  | { readonly limit: "want" | "max"; readonly size: number };

interface Reply {
  readonly hex?: string;
  readonly size?: number;
  readonly limit?: "want" | "max";
  readonly error?: { readonly message: string; readonly code?: string };
}

/** How many blobs can be copied on threads at once on this machine. */
export function copyThreads(): number {
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

const pool = new WorkerPool(() => new Worker(SOURCE, { eval: true }), copyThreads);

/**
 * Copies `src` to the new file `dst` (created exclusively, fsynced) while
 * hashing it, on an idle pool worker; undefined when none is free. Rejects
 * with the file system error (its `code` kept) if a file cannot be read or
 * written; the caller removes `dst`.
 */
export function copyOnThread(
  src: string,
  dst: string,
  limits: CopyLimits,
  onProgress: (bytes: number) => void,
): Promise<CopyOutcome> | undefined {
  const lease = pool.tryLease();
  if (!lease) return undefined;
  const w = lease.worker;
  if (!w) {
    lease.release();
    return undefined;
  }
  const job = { src, dst, wantSize: limits.wantSize, maxSize: limits.maxSize };
  return pool.run<Reply>(w, job, onProgress, "copy").then(
    (m) => {
      lease.release();
      if (m.error) throw Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {});
      if (m.limit !== undefined) return { limit: m.limit, size: m.size ?? 0 };
      return { hex: m.hex ?? "", size: m.size ?? 0 };
    },
    (err: unknown) => {
      lease.release();
      throw err;
    },
  );
}
