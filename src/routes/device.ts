/**
 * Device session endpoints (store-protocol.md §12.2) and cohorts (§13.1).
 * A device with a serial but no session asks for a nonce and a session before
 * any other request; the tokens are opaque to snapd, so any will do.
 */
import { type DynamicRoute, errorResponse, jsonResponse } from "./types.js";

export const noncesRoute: DynamicRoute = {
  kind: "dynamic",
  id: "device-nonces",
  method: "POST",
  pattern: "/api/v1/snaps/auth/nonces",
  handle: (_req, env) => jsonResponse(200, { nonce: env.token() }),
};

export const sessionsRoute: DynamicRoute = {
  kind: "dynamic",
  id: "device-sessions",
  method: "POST",
  pattern: "/api/v1/snaps/auth/sessions",
  handle: (_req, env) => jsonResponse(200, { macaroon: env.token() }),
};

export const cohortsRoute: DynamicRoute = {
  kind: "dynamic",
  id: "cohorts",
  method: "POST",
  pattern: "/v2/cohorts",
  handle: (req, env) => {
    let names: unknown;
    try {
      names = (JSON.parse((req.body ?? Buffer.alloc(0)).toString("utf8")) as { snaps?: unknown }).snaps;
    } catch {
      return errorResponse(400, "bad-request", "cannot create cohorts: invalid JSON");
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
      return errorResponse(400, "bad-request", 'cannot create cohorts: "snaps" must be a list of names');
    }
    const keys: Record<string, string> = {};
    for (const n of names as string[]) {
      if (!env.index.byName.has(n))
        return errorResponse(404, "snap-not-found", `cannot create cohort: snap "${n}" not found`);
      keys[n] = `offline-cohort-${n}`; // no progressive releases offline: every device sees the same
    }
    return jsonResponse(200, { "cohort-keys": keys });
  },
};
