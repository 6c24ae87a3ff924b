/**
 * Route table types. A static route knows the files it pre-renders into the
 * tree and how a live request selects one of them (for query-selected files
 * such as per-architecture info); a dynamic route is a pure handler. The
 * builder, the shim and the nginx template all read the same table.
 */
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import type { SnapEntry } from "../catalogue/types.js";
import type { RenderContext } from "../wire/snap.js";
import type { GenerationState } from "./generation-state.js";

/** A file of the tree: rendered bytes, or a stored assertion object copied verbatim. */
export type TreeFileBody = { readonly text: string } | { readonly object: string };

export interface TreeFile {
  /** Path relative to the tree root, `/`-separated, portable characters only. */
  readonly path: string;
  readonly body: TreeFileBody;
}

export interface RouteRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: Buffer;
}

export interface RouteResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** `body`'s length in UTF-8 bytes, when the route knows it without scanning the body. */
  readonly bodyBytes?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface StaticRoute {
  readonly kind: "static";
  readonly id: string;
  /** polka pattern, e.g. `/v2/snaps/info/:name`. */
  readonly pattern: string;
  readonly contentType: string;
  /** The part of the tree this route's files live in (a directory ending in `/`, or one file). */
  readonly treePrefix: string;
  /** Whether rendered files embed the base URL (download URLs). */
  readonly usesBaseUrl: boolean;
  files(index: CatalogueIndex, ctx: RenderContext): Iterable<TreeFile>;
  /**
   * Tree path for a live request, or undefined when nothing can match: derived
   * from `web` (`selectFromWeb` in src/routes/web.ts), except where the
   * catalogue must decide (what `web.defer` hands to the shim).
   */
  select(req: RouteRequest, index: CatalogueIndex): string | undefined;
  /** The answer when `select` finds nothing (snapd needs JSON errors, never an empty 404). */
  notFound(req: RouteRequest): RouteResponse;
  /** How a live request selects a file, said so that web servers without our code can do it (the nginx generator); see src/routes/web.ts. */
  readonly web: WebSelect;
  /** How a build renders this route one snap at a time (reusing what did not change). */
  readonly split: RouteSplit;
}

/**
 * The route's files by snap, for builds that re-render only changed snaps:
 *
 * - `per-snap`: `files` over an index holding one snap (and that snap's own
 *   assertions) gives exactly that snap's files, and over an index with no
 *   snaps, the files of the remaining assertions; the union is `files` of the
 *   whole catalogue.
 * - `joined`: every file depends on all snaps, through one piece of text per
 *   snap: `join` of the pieces, in catalogue order, is `files` of the whole
 *   catalogue.
 */
export type RouteSplit =
  | { readonly kind: "per-snap" }
  | {
      readonly kind: "joined";
      piece(snap: SnapEntry, arches: readonly string[], ctx: RenderContext): string;
      join(pieces: readonly string[], ctx: RenderContext): readonly TreeFile[];
    };

/** `files` of a joined route: the join of every snap's piece. */
export function joinedFiles(split: RouteSplit, index: CatalogueIndex, ctx: RenderContext): readonly TreeFile[] {
  if (split.kind !== "joined") throw new Error("joinedFiles: not a joined route");
  return split.join(
    index.catalogue.snaps.map((s) => split.piece(s, index.catalogue.arches, ctx)),
    ctx,
  );
}

export interface DynamicEnv {
  readonly index: CatalogueIndex;
  /** What the handlers keep for the generation answering (its caches, its search index). */
  readonly state: GenerationState;
  readonly ctx: RenderContext;
  /** Opaque random token (device nonces and sessions). */
  readonly token: () => string;
  /** The generation answering (the health check reports it). */
  readonly generation?: number;
}

export interface DynamicRoute {
  readonly kind: "dynamic";
  readonly id: string;
  readonly method: "GET" | "POST";
  readonly pattern: string;
  handle(req: RouteRequest, env: DynamicEnv): RouteResponse;
}

export type Route = StaticRoute | DynamicRoute;

export const JSON_TYPE = "application/json";
export const HAL_TYPE = "application/hal+json";
export const PROBLEM_TYPE = "application/problem+json";
export const ASSERTION_TYPE = "application/x.ubuntu.assertion";

export function jsonResponse(status: number, value: unknown, contentType = JSON_TYPE): RouteResponse {
  return { status, contentType, body: JSON.stringify(value) };
}

export function errorResponse(status: number, code: string, message: string, contentType = JSON_TYPE): RouteResponse {
  return jsonResponse(status, { "error-list": [{ code, message }] }, contentType);
}

export function headerValue(req: RouteRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Device architecture from v2 or v1 header names (snapd sends both, depending on the endpoint). */
export function deviceArch(req: RouteRequest): string | undefined {
  return headerValue(req, "snap-device-architecture") ?? headerValue(req, "x-ubuntu-architecture");
}

/** Where a request value comes from. A query parameter is present when its name is in the query (even empty); a header when non-empty. */
export type WebSource = { readonly query: string } | { readonly header: string };

export interface WebValue {
  /** Sources in order of preference: the first present one gives the value. */
  readonly from: readonly WebSource[];
  /** Regex (unanchored source; it is matched whole) a present value must match, else the request is not found. */
  readonly match: string;
  /**
   * When no source is present: a fallback value, `"not-found"`, or `"omit"`
   * (only for values used as an optional `{/name}` segment of the template).
   */
  readonly absent: { readonly value: string } | "not-found" | "omit";
}

export interface WebRule {
  /** Regex source over the URL path (below the base URL's path), `^...$`, named groups become `{name}`. */
  readonly path: string;
  /** Request values, used as `{name}` (or `{/name}`: a `/`-prefixed segment, nothing when omitted) in `file`. */
  readonly values?: Readonly<Record<string, WebValue>>;
  /** Tree path template, e.g. `v2/snaps/info/{name}.{arch}.json`. */
  readonly file: string;
}

export interface WebDefer {
  /** Query parameter that, when present, needs the catalogue to choose among a file's variants. */
  readonly query: string;
  /** Tree files (template results) for which requests carrying `query` go to the shim. */
  files(index: CatalogueIndex): Iterable<string>;
}

export interface WebSelect {
  /** Tried in order: the first rule whose `path` matches decides. No rule matching means not found. */
  readonly rules: readonly WebRule[];
  readonly defer?: WebDefer;
}

/** The outcome of a request under a `WebSelect`. */
export type WebOutcome =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "defer"; readonly path: string }
  | { readonly kind: "not-found" };
