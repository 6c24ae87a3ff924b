/**
 * THE route table: every store endpoint snapshelf answers. The builder
 * renders the static routes into the tree, the shim mounts all of them, and
 * the nginx template is generated from the same list.
 */
import { assertionsRoute, assertionsV1Route } from "./assertions.js";
import { categoriesRoute, namesRoute, sectionsRoute } from "./catalog.js";
import { cataloguePageRoute } from "./catalogue-page.js";
import { cohortsRoute, noncesRoute, sessionsRoute } from "./device.js";
import { findRoute } from "./find.js";
import { infoRoute } from "./info.js";
import { refreshRoute } from "./refresh.js";
import { searchV1Route } from "./search.js";
import { statusCheckRoute } from "./status-check.js";
import type { DynamicRoute, Route, StaticRoute } from "./types.js";

export const ROUTES: readonly Route[] = [
  refreshRoute,
  infoRoute,
  findRoute,
  searchV1Route,
  assertionsRoute,
  assertionsV1Route,
  sectionsRoute,
  namesRoute,
  categoriesRoute,
  cataloguePageRoute,
  noncesRoute,
  sessionsRoute,
  cohortsRoute,
  statusCheckRoute,
];

export const STATIC_ROUTES: readonly StaticRoute[] = ROUTES.filter((r): r is StaticRoute => r.kind === "static");
export const DYNAMIC_ROUTES: readonly DynamicRoute[] = ROUTES.filter((r): r is DynamicRoute => r.kind === "dynamic");

/** Blobs are served from the store's blobs/ directory under this URL prefix. */
export const BLOBS_PREFIX = "/blobs/";
export const SNAP_CONTENT_TYPE = "application/octet-stream";

/** Content type of a tree file, from the static route that owns its path. */
export function contentTypeOfTreePath(path: string): string | undefined {
  return STATIC_ROUTES.find(
    (r) => path === r.treePrefix || (r.treePrefix.endsWith("/") && path.startsWith(r.treePrefix)),
  )?.contentType;
}
