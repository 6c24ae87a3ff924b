/**
 * GET /v2/snaps/find (store-protocol.md §7): offline search over the
 * catalogue. Ranking: exact name, name prefix, name substring, then title,
 * summary, description; ties by name.
 */
import { channelMap } from "../catalogue/resolve.js";
import type { SnapEntry } from "../catalogue/types.js";
import { shortChannelName } from "../model/channel.js";
import { toRevisionLevel, toSnapLevel } from "../wire/snap.js";
import {
  type DynamicEnv,
  type DynamicRoute,
  deviceArch,
  errorResponse,
  jsonResponse,
  type RouteRequest,
} from "./types.js";

const MAX_QUERY = 200;

function score(snap: SnapEntry, q: string): number {
  if (q === "") return 1;
  const name = snap.name.toLowerCase();
  if (name === q) return 100;
  if (name.startsWith(q)) return 80;
  if (name.includes(q)) return 60;
  const title = (snap.meta.title ?? "").toLowerCase();
  if (title.includes(q)) return 40;
  const rev = snap.revisions[snap.revisions.length - 1];
  if ((snap.meta.summary ?? rev?.summary ?? "").toLowerCase().includes(q)) return 30;
  if ((snap.meta.description ?? rev?.description ?? "").toLowerCase().includes(q)) return 10;
  if (snap.publisher.username.toLowerCase() === q) return 20;
  return 0;
}

export function handleFind(req: RouteRequest, env: DynamicEnv) {
  const q = (req.query.get("q") ?? "").trim().toLowerCase();
  const nameQ = (req.query.get("name") ?? "").trim().toLowerCase();
  const category = req.query.get("category") ?? req.query.get("section") ?? "";
  const arch = req.query.get("architecture") ?? deviceArch(req) ?? "amd64";
  const confinements = (req.query.get("confinement") ?? "").split(",").filter((c) => c !== "");
  if (q.length > MAX_QUERY || nameQ.length > MAX_QUERY)
    return errorResponse(400, "bad-query", "cannot search: query too long");
  const hits: { s: number; snap: SnapEntry; json: unknown }[] = [];
  for (const snap of env.index.catalogue.snaps) {
    if (category !== "" && category !== "featured" && !(snap.meta.categories ?? []).includes(category)) continue;
    let s: number;
    if (nameQ !== "") {
      const prefix = nameQ.endsWith("*");
      const stem = prefix ? nameQ.slice(0, -1) : nameQ;
      s = prefix ? (snap.name.startsWith(stem) ? 1 : 0) : snap.name === stem ? 1 : 0;
    } else s = score(snap, q);
    if (s === 0) continue;
    const entry = channelMap(snap, arch)[0];
    if (!entry) continue;
    if (confinements.length > 0 && !confinements.includes(entry.revision.confinement)) continue;
    const rev = toRevisionLevel(entry.revision, env.ctx);
    hits.push({
      s,
      snap,
      json: {
        name: snap.name,
        "snap-id": snap.snapId,
        snap: toSnapLevel(snap, entry.revision),
        revision: { ...rev, download: { size: entry.revision.size }, channel: shortChannelName(entry.channel) },
      },
    });
  }
  hits.sort((a, b) => b.s - a.s || (a.snap.name < b.snap.name ? -1 : a.snap.name > b.snap.name ? 1 : 0));
  return jsonResponse(200, { results: hits.map((h) => h.json) });
}

export const findRoute: DynamicRoute = {
  kind: "dynamic",
  id: "find",
  method: "GET",
  pattern: "/v2/snaps/find",
  handle: handleFind,
};
