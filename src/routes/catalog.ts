/**
 * Sections (v1), categories (v2) and the command-not-found names catalogue
 * (store-protocol.md §8, §9): one file each, exact content types.
 */
import type { SnapEntry } from "../catalogue/types.js";
import { errorResponse, HAL_TYPE, JSON_TYPE, joinedFiles, type RouteSplit, type StaticRoute } from "./types.js";
import { fixedFileWeb, selectFromWeb } from "./web.js";

/** Every category used by a snap, plus `featured` (snap find with no query asks for it). */
function sectionNamesOf(lists: Iterable<readonly string[]>): string[] {
  const names = new Set<string>(["featured"]);
  for (const l of lists) for (const c of l) names.add(c);
  return [...names].sort();
}

function newestRevision(snap: SnapEntry) {
  return snap.revisions[snap.revisions.length - 1];
}

/** A snap's entry in the names catalogue, as JSON. */
function namesEntry(s: SnapEntry): string {
  const rev = newestRevision(s);
  return JSON.stringify({
    package_name: s.name,
    version: rev?.version ?? "",
    summary: s.meta.summary ?? rev?.summary ?? "",
    apps: rev?.apps ?? [],
    aliases: [],
  });
}

function joinNames(entries: readonly string[]): string {
  // snapd reads this as a token stream: `_embedded` must be the first key, `clickindex:package` the first inside
  return `{"_embedded":{"clickindex:package":[${entries.join(",")}]}}`;
}

/** A one-file route joined from one piece per snap. */
function single(
  id: string,
  pattern: string,
  path: string,
  contentType: string,
  piece: (snap: SnapEntry) => string,
  join: (pieces: readonly string[]) => string,
): StaticRoute {
  const split: RouteSplit = {
    kind: "joined",
    piece: (snap) => piece(snap),
    join: (pieces) => [{ path, body: { text: join(pieces) } }],
  };
  const web = fixedFileWeb(pattern, path);
  return {
    kind: "static",
    id,
    pattern,
    contentType,
    treePrefix: path,
    usesBaseUrl: false,
    files: (index, ctx) => joinedFiles(split, index, ctx),
    split,
    web,
    select: selectFromWeb(pattern, web),
    notFound: () => errorResponse(404, "not-found", "not found"),
  };
}

const categoriesOf = (snap: SnapEntry): string => JSON.stringify(snap.meta.categories ?? []);
const sectionsOfPieces = (pieces: readonly string[]): string[] =>
  sectionNamesOf(pieces.map((p) => JSON.parse(p) as string[]));

export const sectionsRoute = single(
  "sections",
  "/api/v1/snaps/sections",
  "api/v1/snaps/sections.json",
  HAL_TYPE,
  categoriesOf,
  (pieces) =>
    JSON.stringify({ _embedded: { "clickindex:sections": sectionsOfPieces(pieces).map((name) => ({ name })) } }),
);

export const namesRoute = single(
  "names",
  "/api/v1/snaps/names",
  "api/v1/snaps/names.json",
  HAL_TYPE,
  namesEntry,
  joinNames,
);

export const categoriesRoute = single(
  "categories",
  "/v2/snaps/categories",
  "v2/snaps/categories.json",
  JSON_TYPE,
  categoriesOf,
  (pieces) => JSON.stringify({ categories: sectionsOfPieces(pieces).map((name) => ({ name })) }),
);
