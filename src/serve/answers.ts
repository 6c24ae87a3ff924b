/**
 * Answers the shim has written but its client has not taken yet, bounded in total across
 * connections like request bodies (bodies.ts). A client that asks for a multi-MiB refresh answer
 * and never reads it leaves the answer in this process's memory (beyond what the kernel's socket
 * buffers take); 200 of them held gigabytes. Now:
 * - an answer still unsent after `end()` is counted until its response closes (sent, or the
 *   connection gone), at twice its size (the string, and its encoding on the way to the socket);
 * - a large answer that would not fit is not sent: 503 with `Retry-After` (store-busy), and the
 *   connection is closed; small answers (every refresh-all of a few hundred snaps) have a reserve;
 * - a client that takes nothing for SEND_TIMEOUT_MS is disconnected (nginx's `send_timeout`), so
 *   what it held comes back.
 * Only answers that stay unsent are counted: the usual answer leaves in one write, at no cost.
 */
import type { ServerResponse } from "node:http";
import { errorResponse, type RouteResponse } from "../routes/types.js";
import { BodyBudget, BUSY_RETRY_AFTER } from "./bodies.js";

/** Bytes of unsent answers held at once per process (counted twice their size: see above). */
export const ANSWER_BUDGET = 128 * 1024 * 1024;
/** Answers up to this size are sent whatever the budget says until the reserve is used too. */
export const SMALL_ANSWER = 256 * 1024;
/** The part of the budget only small answers may use. */
export const SMALL_ANSWER_RESERVE = 16 * 1024 * 1024;
/** A client that takes no byte for this long is disconnected (nginx's send_timeout default). */
export const SEND_TIMEOUT_MS = 60_000;

export function answerBudget(): BodyBudget {
  return new BodyBudget(ANSWER_BUDGET, SMALL_ANSWER_RESERVE, 2 * SMALL_ANSWER);
}

function busy(): RouteResponse {
  const r = errorResponse(
    503,
    "store-busy",
    `cannot answer: too many answers waiting for their clients, retry in ${BUSY_RETRY_AFTER} seconds`,
  );
  return { ...r, headers: { ...(r.headers ?? {}), "Retry-After": String(BUSY_RETRY_AFTER), Connection: "close" } };
}

/** Sends `r` with `send` if it fits the budget (else a 503), and counts it while it stays unsent. */
export function sendCounted(
  res: ServerResponse,
  r: RouteResponse,
  budget: BodyBudget,
  send: (res: ServerResponse, r: RouteResponse) => void,
): void {
  const held = 2 * (r.bodyBytes ?? Buffer.byteLength(r.body));
  if (held > 2 * SMALL_ANSWER && !budget.fits(held)) {
    // not worth rendering for a client that would then hold it: it asks again later
    send(res, busy());
    return;
  }
  send(res, r);
  if (!res.writableFinished && budget.take(held, held)) res.once("close", () => budget.give(held));
}
