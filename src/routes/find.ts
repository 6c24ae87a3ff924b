/**
 * GET /v2/snaps/find (store-protocol.md §7): offline search, answered from
 * the search index of the catalogue in service (src/routes/search.ts, built
 * once per generation). Honours `q`, `name` (`foo*` for a prefix),
 * `category` (`featured` is every snap), `channel` (snapd's narrow scope),
 * `architecture`, `confinement` and `fields`; `Content-Type` is exactly
 * `application/json`, as snapd requires.
 */
import { shortChannelName } from "../model/channel.js";
import { sortedKeys, toRevisionLevel, toSnapLevel } from "../wire/snap.js";
import { parseSearchQuery, pickFields, type SearchHit, search, searchIndexOf } from "./search.js";
import { type DynamicEnv, type DynamicRoute, jsonResponse, type RouteRequest, type RouteResponse } from "./types.js";

/** One v2 result: snap-level fields, and the shown revision's fields with its channel (§7.2). */
export function toFindResult(hit: SearchHit, env: DynamicEnv, fields: ReadonlySet<string> | undefined) {
  const { download, ...rev } = toRevisionLevel(hit.entry.revision, env.ctx);
  // the real store's order: alphabetical keys (`channel` and the download's size among the revision's)
  return {
    name: hit.snap.name,
    revision: pickFields(
      // search results carry only the size of the download (snapd asks info or refresh for the rest)
      sortedKeys({ ...rev, download: { size: download.size }, channel: shortChannelName(hit.entry.channel) }),
      fields,
    ),
    snap: pickFields(toSnapLevel(hit.snap, hit.entry.revision), fields),
    "snap-id": hit.snap.snapId,
  };
}

export function handleFind(req: RouteRequest, env: DynamicEnv): RouteResponse {
  const parsed = parseSearchQuery(req, {
    category: "category",
    commonId: "common-id",
    // snapd sends channel=stable unless the scope is wide (then every risk is searched)
    narrow: (q) => q.get("channel") ?? undefined,
  });
  if ("status" in parsed) return parsed;
  const fieldsText = req.query.get("fields");
  const fields =
    fieldsText === null
      ? undefined
      : new Set(
          fieldsText
            .split(",")
            .map((f) => f.trim())
            .filter((f) => f !== ""),
        );
  const hits = search(searchIndexOf(env.state), parsed);
  return jsonResponse(200, { results: hits.map((h) => toFindResult(h, env, fields)) });
}

export const findRoute: DynamicRoute = {
  kind: "dynamic",
  id: "find",
  method: "GET",
  pattern: "/v2/snaps/find",
  handle: handleFind,
};
