/**
 * `/_status/check`: the health path load balancers probe (Enterprise Store's).
 * 200 with the generation in service; the server answers 503 before it has
 * one, as for every dynamic route. HEAD is answered like GET, without a body.
 */
import { type DynamicRoute, jsonResponse } from "./types.js";

export const statusCheckRoute: DynamicRoute = {
  kind: "dynamic",
  id: "status-check",
  method: "GET",
  pattern: "/_status/check",
  handle: (_req, env) => jsonResponse(200, { status: "ok", generation: env.generation ?? 0 }),
};
