/**
 * Sections (v1), categories (v2) and the command-not-found names catalogue
 * (store-protocol.md §8, §9): one file each, exact content types.
 */
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import type { SnapEntry } from "../catalogue/types.js";
import { errorResponse, HAL_TYPE, JSON_TYPE, type StaticRoute } from "./types.js";
import { fixedFileWeb } from "./web.js";

/** Every category used by a snap, plus `featured` (snap find with no query asks for it). */
export function sectionNames(index: CatalogueIndex): string[] {
  const names = new Set<string>(["featured"]);
  for (const s of index.catalogue.snaps) for (const c of s.meta.categories ?? []) names.add(c);
  return [...names].sort();
}

function newestRevision(snap: SnapEntry) {
  return snap.revisions[snap.revisions.length - 1];
}

export function renderNames(index: CatalogueIndex): string {
  // snapd reads this as a token stream: `_embedded` must be the first key, `clickindex:package` the first inside
  const pkgs = index.catalogue.snaps.map((s) => {
    const rev = newestRevision(s);
    return {
      package_name: s.name,
      version: rev?.version ?? "",
      summary: s.meta.summary ?? rev?.summary ?? "",
      apps: rev?.apps ?? [],
      aliases: [],
    };
  });
  return JSON.stringify({ _embedded: { "clickindex:package": pkgs } });
}

function single(
  id: string,
  pattern: string,
  path: string,
  contentType: string,
  render: (i: CatalogueIndex) => string,
): StaticRoute {
  return {
    kind: "static",
    id,
    pattern,
    contentType,
    treePrefix: path,
    usesBaseUrl: false,
    files: (index) => [{ path, body: { text: render(index) } }],
    select: () => path,
    web: fixedFileWeb(pattern, path),
    notFound: () => errorResponse(404, "not-found", "not found"),
  };
}

export const sectionsRoute = single("sections", "/api/v1/snaps/sections", "api/v1/snaps/sections.json", HAL_TYPE, (i) =>
  JSON.stringify({ _embedded: { "clickindex:sections": sectionNames(i).map((name) => ({ name })) } }),
);

export const namesRoute = single("names", "/api/v1/snaps/names", "api/v1/snaps/names.json", HAL_TYPE, renderNames);

export const categoriesRoute = single(
  "categories",
  "/v2/snaps/categories",
  "v2/snaps/categories.json",
  JSON_TYPE,
  (i) => JSON.stringify({ categories: sectionNames(i).map((name) => ({ name })) }),
);
