/**
 * Answers the shim has written but its client has not taken yet, bounded in total across
 * connections like request bodies (bodies.ts). A client that asks for a multi-MiB refresh answer
 * and never reads it leaves the answer in this process's memory (beyond what the kernel's socket
 * buffers take); 200 of them held gigabytes. Now:
 * - an answer still unsent after `end()` is counted until its response closes (sent, or the
 *   connection gone): a large one is encoded once before it is sent, so its bytes are what waits;
 *   a small one (sent as a string, encoded on the way) counts twice its size;
 * - a large answer that would not fit is not sent: 503 with `Retry-After` (store-busy), and the
 *   connection is closed; small answers (every refresh-all of a few hundred snaps) have a reserve;
 *   while no large answer fits, a large request is refused that way before it is answered;
 * - a client that takes nothing for SEND_TIMEOUT_MS is disconnected (nginx's `send_timeout`), so
 *   what it held comes back.
 * Only answers that stay unsent are counted: the usual answer leaves in one write, at no cost.
 */
import type { ServerResponse } from "node:http";
import { errorResponse, type RouteResponse } from "../routes/types.js";
import { BodyBudget, BUSY_RETRY_AFTER } from "./bodies.js";

/** Bytes of unsent answers held at once per process (see above for how they are counted). */
export const ANSWER_BUDGET = 64 * 1024 * 1024;
/** Answers up to this size are sent whatever the budget says until the reserve is used too. */
export const SMALL_ANSWER = 256 * 1024;
/** The part of the budget only small answers may use. */
export const SMALL_ANSWER_RESERVE = 8 * 1024 * 1024;
/** A client that takes no byte for this long is disconnected (nginx's send_timeout default). */
export const SEND_TIMEOUT_MS = 60_000;

export function answerBudget(): BodyBudget {
  return new BodyBudget(ANSWER_BUDGET, SMALL_ANSWER_RESERVE, SMALL_ANSWER);
}

/**
 * A request body this large asks for a large answer (an action's answer is 10 to 20 times its part
 * of the request): while no large answer fits, it is refused before it is answered, so a crowd of
 * such requests does not render megabytes each only to throw them away.
 */
export const LARGE_REQUEST = 16 * 1024;

/** Whether a request of `bodyBytes` is refused unanswered: large, while no large answer fits. */
export function refusedUnanswered(bodyBytes: number, budget: BodyBudget): boolean {
  return bodyBytes > LARGE_REQUEST && !budget.fits(SMALL_ANSWER + 1);
}

/** 503 store-busy, `Retry-After`, and the connection closed. */
export function busyAnswer(): RouteResponse {
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
  send: (res: ServerResponse, r: RouteResponse, body?: Buffer) => void,
): void {
  const bytes = r.bodyBytes ?? Buffer.byteLength(r.body);
  if (bytes <= SMALL_ANSWER) {
    // as a string, encoded on the way to the socket: counted twice (string and encoding)
    send(res, r);
    if (!res.writableFinished && budget.take(2 * bytes, bytes)) res.once("close", () => budget.give(2 * bytes));
    return;
  }
  if (!budget.fits(bytes)) {
    // the client asks again later; the answer is not kept
    send(res, busyAnswer());
    return;
  }
  // encoded once, so the string can go at once: what waits for the client is these bytes alone
  send(res, r, Buffer.from(r.body, "utf8"));
  if (!res.writableFinished && budget.take(bytes, bytes)) res.once("close", () => budget.give(bytes));
}
