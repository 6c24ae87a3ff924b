/**
 * GET /v2/assertions/<type>/<key...> (and the v1 path): verbatim bytes from
 * the tree, selected by `max-format` and, for sequence-forming types,
 * `sequence=latest|N` (store-protocol.md §10).
 *
 * Tree layout: the assertion with reduced key path P is `v2/assertions/P/_.assert`;
 * a leaf file under a directory per key cannot collide with a longer key
 * (a snap-revision with a non-default provenance lives below the default one).
 * Older revisions kept for older clients: `P/_.format-N.assert`; the latest
 * sequence of a validation set: `<seq-key path>/latest/_.assert`.
 */

import { assertionPath, assertionType, fullPrimaryKey, reducePrimaryKey, refKey } from "../assertions/types.js";
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import type { AssertionEntry } from "../catalogue/types.js";
import {
  ASSERTION_TYPE,
  errorResponse,
  PROBLEM_TYPE,
  type RouteRequest,
  type StaticRoute,
  type TreeFile,
} from "./types.js";
import { assertionsWeb } from "./web.js";

// base64url digests may start with "-" or "_"; only a leading "." (".", "..", dotfiles) is unsafe
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._@+=-]*$/;

/** The URL path snapd asks for an assertion (trailing default-valued optional keys left out). */
export function assertionUrlPath(type: string, primaryKey: readonly string[]): string {
  return `/v2/assertions/${assertionPath(type, primaryKey)}`;
}

function isSequenceForming(type: string): boolean {
  return assertionType(type)?.sequenceForming === true;
}

function keyDir(type: string, key: readonly string[]): string {
  return `v2/assertions/${type}/${key.join("/")}`;
}

function newestWithin(list: readonly AssertionEntry[], maxFormat: number): AssertionEntry | undefined {
  return list.find((a) => a.format <= maxFormat);
}

function* assertionFiles(index: CatalogueIndex): Iterable<TreeFile> {
  for (const list of index.assertions.values()) {
    const newest = list[0];
    if (!newest) continue;
    const key = reducePrimaryKey(newest.type, newest.primaryKey);
    if (!key.every((k) => SAFE_SEGMENT.test(k))) continue; // never written, never served
    const dir = keyDir(newest.type, key);
    yield { path: `${dir}/_.assert`, body: { object: newest.object } };
    // for clients that cannot read the newest format: the newest revision of each lower format
    const formats = [...new Set(list.map((a) => a.format))].filter((f) => f < newest.format).sort((a, b) => a - b);
    for (const f of formats) {
      const a = newestWithin(list, f);
      if (a) yield { path: `${dir}/_.format-${f}.assert`, body: { object: a.object } };
    }
  }
  for (const [seqKey, seqs] of index.sequences) {
    const last = seqs[seqs.length - 1];
    if (last === undefined) continue;
    const list = index.assertions.get(`${seqKey}/${last}`);
    const newest = list?.[0];
    if (!newest) continue;
    const key = newest.primaryKey.slice(0, -1);
    if (!key.every((k) => SAFE_SEGMENT.test(k))) continue;
    yield { path: `${keyDir(newest.type, key)}/latest/_.assert`, body: { object: newest.object } };
  }
}

function selectAssertion(req: RouteRequest, index: CatalogueIndex): string | undefined {
  const type = req.params["type"] ?? "";
  const rest = (req.params["*"] ?? req.params["wild"] ?? "").split("/").filter((s) => s !== "");
  if (!SAFE_SEGMENT.test(type) || rest.length === 0 || !rest.every((s) => SAFE_SEGMENT.test(s))) return undefined;
  const seq = req.query.get("sequence");
  if (seq !== null && isSequenceForming(type)) {
    if (seq === "latest") return `${keyDir(type, rest)}/latest/_.assert`;
    if (!/^[1-9][0-9]*$/.test(seq)) return undefined;
    rest.push(seq);
  }
  const full = fullPrimaryKey(type, rest);
  if (!full) return undefined;
  const dir = keyDir(type, reducePrimaryKey(type, full));
  const maxFormatText = req.query.get("max-format");
  if (maxFormatText === null || !/^[0-9]+$/.test(maxFormatText)) return `${dir}/_.assert`;
  const maxFormat = Number(maxFormatText);
  const list = index.assertions.get(refKey(type, full));
  const newest = list?.[0];
  if (!list || !newest || newest.format <= maxFormat) return `${dir}/_.assert`;
  const a = newestWithin(list, maxFormat);
  return a ? `${dir}/_.format-${a.format}.assert` : undefined;
}

function assertionNotFound(): ReturnType<StaticRoute["notFound"]> {
  // snapd only reads error bodies whose Content-Type is exactly application/json or application/problem+json
  return errorResponse(404, "not-found", "not found", PROBLEM_TYPE);
}

export const assertionsRoute: StaticRoute = {
  kind: "static",
  id: "assertions",
  pattern: "/v2/assertions/:type/*",
  contentType: ASSERTION_TYPE,
  treePrefix: "v2/assertions/",
  usesBaseUrl: false,
  files: assertionFiles,
  // an assertion's files depend on that assertion alone (and its other revisions: kept with it)
  split: { kind: "per-snap" },
  select: selectAssertion,
  notFound: assertionNotFound,
  web: assertionsWeb("/v2/assertions/", SAFE_SEGMENT),
};

/** snapd <= 2.49 asked the v1 path; same files. */
export const assertionsV1Route: StaticRoute = {
  ...assertionsRoute,
  id: "assertions-v1",
  pattern: "/api/v1/snaps/assertions/:type/*",
  files: () => [],
  split: { kind: "per-snap" },
  web: assertionsWeb("/api/v1/snaps/assertions/", SAFE_SEGMENT),
};
