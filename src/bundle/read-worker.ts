/**
 * The bundle reader on a worker thread (started by src/bundle/read-thread.ts):
 * one job at a time, each answered with the bundle's contents or its error.
 */
import { parentPort } from "node:worker_threads";
import { SnapshelfError } from "../util/errors.js";
import { readBundle } from "./read.js";

export interface ReadJob {
  readonly id: number;
  readonly path: string;
  readonly staging: string;
}

parentPort?.on("message", (job: ReadJob) => {
  // progress at most every 16 MiB: a message per MiB read would cost more than it tells
  let reported = 0;
  const onProgress = (bytes: number): void => {
    if (bytes - reported < 16 * 1024 * 1024) return;
    reported = bytes;
    parentPort?.postMessage({ id: job.id, progress: bytes });
  };
  readBundle(job.path, job.staging, { onProgress }).then(
    (contents) => parentPort?.postMessage({ id: job.id, contents }),
    (err: unknown) =>
      parentPort?.postMessage({
        id: job.id,
        error:
          err instanceof SnapshelfError
            ? { code: err.code, message: err.message }
            : { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      }),
  );
});
