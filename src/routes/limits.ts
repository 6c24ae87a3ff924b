/**
 * Figures every renderer of the route table agrees on: the shim (src/serve) and
 * the nginx configuration (src/nginx) announce and enforce the same values.
 */

/** Announced on every response: find's v1 fallback needs < 20; HEAD's `held` needs >= 55. */
export const STORE_VERSION = "60";
/** The largest request body the shim reads (a refresh of thousands of snaps fits easily). */
export const MAX_BODY = 4 * 1024 * 1024;
/** The body of a 416 (a Range no byte of the file satisfies), from serve and nginx alike. */
export const RANGE_NOT_SATISFIABLE_BODY = JSON.stringify({
  "error-list": [{ code: "range-not-satisfiable", message: "cannot serve range: requested range not satisfiable" }],
});
