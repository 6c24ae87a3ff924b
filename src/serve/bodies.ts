/**
 * Request bodies the shim reads (refresh, cohorts), bounded per request and
 * in total across connections. A body is counted as it arrives (a declared
 * Content-Length that cannot fit is refused before anything is read); past
 * the budget the request gets 503 with `Retry-After` and its connection is
 * closed, and what a body held is given back when it is read, refused, or its
 * connection closes. So 250 connections each stalling a nearly full body
 * hold at most the budget, not 250 bodies.
 *
 * Small bodies (every refresh of up to a few hundred snaps) have a reserve of
 * their own, so devices keep refreshing while large bodies fill the rest.
 */
import type { IncomingMessage } from "node:http";
import { MAX_BODY } from "../routes/limits.js";
import { SnapshelfError } from "../util/errors.js";

export { MAX_BODY };
/** Bytes of request bodies held at once per process: 8 bodies of MAX_BODY, or thousands of refresh-alls (7.5 KB for 20 snaps). */
export const BODY_BUDGET = 32 * 1024 * 1024;
/** Bodies up to this size (a refresh-all of ~250 snaps) may also use the reserve. */
export const SMALL_BODY = 64 * 1024;
/** The part of the budget only small bodies may use. */
export const SMALL_BODY_RESERVE = 4 * 1024 * 1024;
/** Seconds a refused client is told to wait (snapd retries 5xx answers with its own back-off). */
export const BUSY_RETRY_AFTER = 2;

export class BodyBudget {
  used = 0;
  constructor(
    readonly total = BODY_BUDGET,
    readonly reserve = SMALL_BODY_RESERVE,
    readonly small = SMALL_BODY,
  ) {}

  private limit(bodySize: number): number {
    return bodySize <= this.small ? this.total : this.total - this.reserve;
  }

  /** Whether a body of `size` bytes would fit now. */
  fits(size: number): boolean {
    return this.used + size <= this.limit(size);
  }

  /** Takes `n` more bytes for a body that then holds `bodySize`; false (nothing taken) past the budget. */
  take(n: number, bodySize: number): boolean {
    if (this.used + n > this.limit(bodySize)) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }
}

function tooLarge(): SnapshelfError {
  return new SnapshelfError("too-large", `cannot read request: body larger than ${MAX_BODY} bytes`);
}

function busy(): SnapshelfError {
  return new SnapshelfError(
    "store-busy",
    `cannot read request: too many request bodies in flight, retry in ${BUSY_RETRY_AFTER} seconds`,
  );
}

/** Reads a request body within MAX_BODY and the budget. */
export function readBody(req: IncomingMessage, budget: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > MAX_BODY) {
      reject(tooLarge());
      return;
    }
    if (!budget.fits(declared)) {
      reject(busy());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let taken = 0;
    let done = false;
    const finish = (): void => {
      done = true;
      req.off("data", onData);
      chunks.length = 0;
      budget.give(taken);
      taken = 0;
    };
    // the error is made only when it is needed: every request's socket closes after its body
    // was read, and building an error (its stack) there was ~5 % of a refresh's CPU time
    const fail = (err: () => SnapshelfError): void => {
      if (done) return;
      // stop reading (and buffering); the error goes out with `Connection: close`
      req.pause();
      finish();
      reject(err());
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_BODY) fail(tooLarge);
      else if (!budget.take(c.length, size)) fail(busy);
      else {
        taken += c.length;
        chunks.push(c);
      }
    };
    req.on("data", onData);
    req.on("end", () => {
      if (done) return;
      const body = Buffer.concat(chunks);
      finish();
      resolve(body);
    });
    // a client that goes away mid-body is not a server error; what it sent is given back at once
    req.on("error", (err: Error) =>
      fail(() => new SnapshelfError("request-aborted", `cannot read request: ${err.message}`)),
    );
    req.on("close", () => fail(() => new SnapshelfError("request-aborted", "cannot read request: connection closed")));
  });
}
