/**
 * sha3-384 on a worker thread, for large blobs. Inline, hashing takes turns
 * with dispatching the reads and writes of the copy on the main thread
 * (import ran at ~0.75x of `openssl dgst -sha3-384`); on its own thread it
 * overlaps them and the copy runs at about the hashing limit.
 *
 * One worker per process, started on first use, referenced only while a blob
 * is being hashed (it never keeps the process alive). One blob at a time: a
 * second concurrent caller gets `undefined` and hashes inline. Chunks are
 * copied to the worker (the copy still writes them); at most a few are in
 * flight, so memory stays bounded whatever the blob size.
 */
import { Worker } from "node:worker_threads";

export interface Sha3Session {
  update(chunk: Buffer): Promise<void>;
  /** The hex digest; ends the session. */
  digest(): Promise<string>;
  /** Ends the session without a digest (the copy failed). Idempotent. */
  release(): void;
}

// CommonJS, evaluated in the worker: one hash at a time, reset by `end`; every reply names its session.
const SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
let hash = createHash("sha3-384");
parentPort.on("message", (m) => {
  if (m.chunk !== undefined) {
    hash.update(m.chunk);
    parentPort.postMessage({ id: m.id, ack: true });
  } else {
    const hex = hash.digest("hex");
    hash = createHash("sha3-384");
    parentPort.postMessage({ id: m.id, hex });
  }
});
`;

const MAX_IN_FLIGHT = 4;

let worker: Worker | undefined;
let busy = false;
let nextId = 1;

interface Reply {
  readonly id: number;
  readonly ack?: boolean;
  readonly hex?: string;
}

function sharedWorker(): Worker | undefined {
  if (worker) return worker;
  try {
    const w = new Worker(SOURCE, { eval: true });
    const forget = (): void => {
      if (worker === w) worker = undefined;
    };
    w.on("error", forget);
    w.on("exit", forget);
    w.unref();
    worker = w;
    return w;
  } catch {
    return undefined;
  }
}

/** A hashing session on the shared worker, or undefined (busy or unavailable: hash inline). */
export function threadedSha3(): Sha3Session | undefined {
  if (busy) return undefined;
  const w = sharedWorker();
  if (!w) return undefined;
  busy = true;
  w.ref();
  const id = nextId++;
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let finish: ((hex: string) => void) | undefined;
  let abort: ((err: Error) => void) | undefined;
  let released = false;

  const onMessage = (m: Reply): void => {
    if (m.id !== id) return; // a reply to an earlier, released session
    if (m.ack) {
      inFlight--;
      wake?.();
      wake = undefined;
    } else if (m.hex !== undefined) finish?.(m.hex);
  };
  const onError = (err: Error): void => {
    failure = err;
    wake?.();
    abort?.(err);
  };
  const onExit = (): void => onError(new Error("hashing thread exited"));
  w.on("message", onMessage);
  w.on("error", onError);
  w.on("exit", onExit);

  const release = (): void => {
    if (released) return;
    released = true;
    w.off("message", onMessage);
    w.off("error", onError);
    w.off("exit", onExit);
    // chunks of this session may still be queued: end it, so the next session starts from a fresh hash
    if (finish === undefined && !failure) w.postMessage({ id, end: true });
    w.unref();
    busy = false;
  };

  return {
    async update(chunk: Buffer): Promise<void> {
      while (inFlight >= MAX_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
      inFlight++;
      w.postMessage({ id, chunk });
    },
    digest(): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        if (failure) {
          release();
          reject(failure);
          return;
        }
        finish = (hex) => {
          release();
          resolve(hex);
        };
        abort = (err) => {
          release();
          reject(err);
        };
        w.postMessage({ id, end: true });
      });
    },
    release,
  };
}
