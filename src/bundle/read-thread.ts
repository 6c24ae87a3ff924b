/**
 * Bundles unpacked on worker threads. Unpacking hashes every entry as it is
 * written, and hashing is the limit: one bundle keeps one CPU busy, so import
 * reads as many bundles at once as there are CPUs, each on a thread of this
 * small pool (started on first use, unreferenced when idle, so it never keeps
 * the process alive). Errors come back as the same `SnapshelfError`. Where no
 * thread can be started, the bundle is read on this one.
 */
import { Worker } from "node:worker_threads";
import { copyThreads } from "../blobs/copy-thread.js";
import { SnapshelfError } from "../util/errors.js";
import type { BundleContents, BundleReader } from "./contents.js";
import { readBundle } from "./read.js";
import type { ReadJob } from "./read-worker.js";

interface Reply {
  readonly id: number;
  readonly progress?: number;
  readonly contents?: BundleContents;
  readonly error?: { readonly code?: string; readonly message: string; readonly status?: number };
}

interface Slot {
  worker: Worker | undefined;
  busy: boolean;
}

const slots: Slot[] = [];
const waiting: (() => void)[] = [];
let nextId = 1;

function workerOf(slot: Slot): Worker | undefined {
  if (slot.worker) return slot.worker;
  let w: Worker;
  try {
    w = new Worker(new URL("./read-worker.js", import.meta.url));
  } catch {
    return undefined; // no thread to be had (resource limits): the caller reads here
  }
  const forget = (): void => {
    if (slot.worker === w) slot.worker = undefined;
  };
  w.on("error", forget);
  w.on("exit", forget);
  w.unref();
  slot.worker = w;
  return w;
}

async function idleSlot(): Promise<Slot> {
  while (slots.length < copyThreads()) slots.push({ worker: undefined, busy: false });
  for (;;) {
    const slot = slots.find((s) => !s.busy);
    if (slot) {
      slot.busy = true;
      return slot;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
}

/** `readBundle` on a pool thread: same arguments, same contents, same errors. */
export const readBundleOnThread: BundleReader = async (path, stagingDir, opts = {}) => {
  const slot = await idleSlot();
  const w = workerOf(slot);
  if (w === undefined) {
    try {
      return await readBundle(path, stagingDir, opts);
    } finally {
      slot.busy = false;
      waiting.shift()?.();
    }
  }
  w.ref();
  const id = nextId++;
  try {
    return await new Promise<BundleContents>((resolve, reject) => {
      const done = (): void => {
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
      };
      const onMessage = (m: Reply): void => {
        if (m.id !== id) return;
        if (m.progress !== undefined) {
          opts.onProgress?.(m.progress);
          return;
        }
        done();
        if (m.contents) resolve(m.contents);
        else if (m.error?.code !== undefined) reject(new SnapshelfError(m.error.code, m.error.message, m.error.status));
        else reject(new Error(m.error?.message ?? "bundle reader thread answered nothing"));
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (): void => onError(new Error("bundle reader thread exited"));
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      const job: ReadJob = { id, path, staging: stagingDir };
      w.postMessage(job);
    });
  } finally {
    w.unref();
    slot.busy = false;
    waiting.shift()?.();
  }
};
