/**
 * Offline search (store-protocol.md §7): an inverted index over name, title,
 * summary, description, publisher and categories, built once per catalogue
 * (per generation the shim loads, never per request), and the ranking and
 * filters both `GET /v2/snaps/find` and the v1 fallback
 * `GET /api/v1/snaps/search` answer from.
 *
 * Ranking: the exact name first, then names starting with the query, then
 * the snaps matching the most of the query's words (the others are left out)
 * by where the words match (name, title, publisher, category, summary,
 * description; whole words before word prefixes); ties by name.
 */
import { type ChannelMapEntry, channelMap } from "../catalogue/resolve.js";
import type { Catalogue, SnapEntry } from "../catalogue/types.js";
import { LATEST_TRACK, shortChannelName } from "../model/channel.js";
import { toRevisionLevel, toSnapLevel } from "../wire/snap.js";
import { type GenerationState, StateKey } from "./generation-state.js";
import {
  type DynamicEnv,
  type DynamicRoute,
  deviceArch,
  errorResponse,
  HAL_TYPE,
  jsonResponse,
  type RouteRequest,
  type RouteResponse,
} from "./types.js";

/** Longest query (`q`, `name`) accepted, in characters. */
export const MAX_QUERY = 200;
/** Most results one search returns. */
export const MAX_RESULTS = 500;
/** Most query words considered. */
const MAX_TERMS = 16;

const WEIGHTS = { name: 30, title: 15, publisher: 10, category: 8, summary: 6, description: 3 } as const;
type Field = keyof typeof WEIGHTS;
/** A query word that is only the start of an indexed word counts this much of its weight. */
const PREFIX_FACTOR = 0.6;
/** A query word inside the name, not at a word start (`offline` in `hellooffline`). */
const NAME_SUBSTRING = 12;
const PER_MATCHED_TERM = 1000;
const NAME_PREFIX_BONUS = 10_000;
const EXACT_NAME_BONUS = 1_000_000;
const ARCH = /^[a-z0-9]+$/;

/** Lower case, accents dropped: what queries and indexed text are compared in. */
export function normalise(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase();
}

/** The words of a text (letters and digits). */
export function words(s: string): string[] {
  return normalise(s)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "");
}

export interface SearchIndex {
  /** Snaps in catalogue order (by name). */
  readonly snaps: readonly SnapEntry[];
  /** Lower-case names, parallel to `snaps`. */
  readonly names: readonly string[];
  /** word -> snap number -> best field weight of that word in that snap. */
  readonly postings: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** Every indexed word, sorted (prefix lookups by binary search). */
  readonly sortedWords: readonly string[];
  /** Channel maps of every snap for a device architecture (computed on first use per known architecture). */
  channelMaps(arch: string): ReadonlyMap<string, readonly ChannelMapEntry[]>;
}

function newestRevision(snap: SnapEntry) {
  return snap.revisions[snap.revisions.length - 1];
}

/** The text of each searchable field of a snap. */
export function searchFields(snap: SnapEntry): Record<Field, string> {
  const rev = newestRevision(snap);
  return {
    name: snap.name,
    title: snap.meta.title ?? "",
    publisher: `${snap.publisher.username} ${snap.publisher.displayName}`,
    category: (snap.meta.categories ?? []).join(" "),
    summary: snap.meta.summary ?? rev?.summary ?? "",
    description: snap.meta.description ?? rev?.description ?? "",
  };
}

/** Builds the index of a catalogue (pure; done once per generation). */
export function buildSearchIndex(catalogue: Catalogue): SearchIndex {
  const postings = new Map<string, Map<number, number>>();
  catalogue.snaps.forEach((snap, i) => {
    const fields = searchFields(snap);
    for (const field of Object.keys(WEIGHTS) as Field[]) {
      for (const w of words(fields[field])) {
        let p = postings.get(w);
        if (p === undefined) {
          p = new Map();
          postings.set(w, p);
        }
        p.set(i, Math.max(p.get(i) ?? 0, WEIGHTS[field]));
      }
    }
  });
  const known = new Set(catalogue.arches);
  const maps = new Map<string, Map<string, readonly ChannelMapEntry[]>>();
  const compute = (arch: string) => new Map(catalogue.snaps.map((s) => [s.name, channelMap(s, arch)] as const));
  return {
    snaps: catalogue.snaps,
    names: catalogue.snaps.map((s) => s.name.toLowerCase()),
    postings,
    sortedWords: [...postings.keys()].sort(),
    channelMaps: (arch) => {
      if (!known.has(arch)) return compute(arch); // never cache what a request names freely
      let m = maps.get(arch);
      if (m === undefined) {
        m = compute(arch);
        maps.set(arch, m);
      }
      return m;
    },
  };
}

const SEARCH_INDEX = new StateKey((index) => buildSearchIndex(index.catalogue));

/** The search index of a loaded generation: built on first use, then kept as long as the generation is. */
export function searchIndexOf(state: GenerationState): SearchIndex {
  return state.get(SEARCH_INDEX);
}

function lowerBound(list: readonly string[], key: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? "") < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Best score of one query word per snap. */
function termScores(idx: SearchIndex, term: string): Map<number, number> {
  const out = new Map<number, number>();
  const add = (i: number, s: number) => out.set(i, Math.max(out.get(i) ?? 0, s));
  for (const [i, w] of idx.postings.get(term) ?? []) add(i, w);
  if (term.length >= 2) {
    for (let k = lowerBound(idx.sortedWords, term); k < idx.sortedWords.length; k++) {
      const w = idx.sortedWords[k] ?? "";
      if (!w.startsWith(term)) break;
      if (w === term) continue;
      for (const [i, weight] of idx.postings.get(w) ?? []) add(i, Math.round(weight * PREFIX_FACTOR));
    }
  }
  idx.names.forEach((name, i) => {
    if (name.includes(term)) add(i, NAME_SUBSTRING);
  });
  return out;
}

export interface RankedSnap {
  readonly snap: SnapEntry;
  readonly score: number;
}

/** Snaps matching a text query, best first. An empty query matches every snap (by name). */
export function rankByQuery(idx: SearchIndex, q: string): RankedSnap[] {
  const query = normalise(q).trim();
  const terms = [...new Set(words(query))].slice(0, MAX_TERMS);
  if (terms.length === 0) return idx.snaps.map((snap) => ({ snap, score: 0 }));
  const total = new Map<number, number>();
  const matched = new Map<number, number>();
  for (const t of terms) {
    for (const [i, s] of termScores(idx, t)) {
      total.set(i, (total.get(i) ?? 0) + PER_MATCHED_TERM + s);
      matched.set(i, (matched.get(i) ?? 0) + 1);
    }
  }
  // only the snaps matching the most query words (all of them, when any snap does): `hello offline`
  // should not list every snap whose description says "offline"
  const most = Math.max(0, ...matched.values());
  const asName = terms.join("-");
  const out: RankedSnap[] = [];
  for (const [i, s] of total) {
    const name = idx.names[i] ?? "";
    const snap = idx.snaps[i];
    if (snap === undefined) continue;
    let score = s;
    if (name === query || name === asName) score += EXACT_NAME_BONUS;
    else if (name.startsWith(query) || name.startsWith(asName)) score += NAME_PREFIX_BONUS;
    else if ((matched.get(i) ?? 0) < most) continue;
    out.push({ snap, score });
  }
  return out.sort((a, b) => b.score - a.score || (a.snap.name < b.snap.name ? -1 : a.snap.name > b.snap.name ? 1 : 0));
}

/** Snaps by name: `foo` exactly, or `foo*` every name starting with `foo`. */
export function rankByName(idx: SearchIndex, name: string): RankedSnap[] {
  const n = normalise(name).trim();
  const prefix = n.endsWith("*");
  const stem = prefix ? n.slice(0, -1) : n;
  return idx.snaps
    .filter((_s, i) => (prefix ? (idx.names[i] ?? "").startsWith(stem) : idx.names[i] === stem))
    .map((snap) => ({ snap, score: 0 }));
}

export interface SearchRequest {
  readonly q?: string;
  readonly name?: string;
  readonly category?: string;
  readonly arch: string;
  /** Only snaps with a release in this channel (`stable`, `2.x/beta`): snapd's narrow scope. */
  readonly channel?: string;
  readonly confinements?: readonly string[];
  readonly commonId?: string;
  readonly private?: boolean;
}

export interface SearchHit {
  readonly snap: SnapEntry;
  /** The release shown: of `channel` when given, else the default track's stable, else the first of the channel map. */
  readonly entry: ChannelMapEntry;
}

function channelMatches(e: ChannelMapEntry, channel: string, defaultTrack: string): boolean {
  const p = channel.split("/");
  if (p.length === 1) return e.channel.track === defaultTrack && e.channel.risk === p[0];
  return e.channel.track === p[0] && e.channel.risk === p[1];
}

/** Ranked, filtered search: what a device may install, best first, at most MAX_RESULTS. */
export function search(idx: SearchIndex, req: SearchRequest): SearchHit[] {
  if (req.private === true) return []; // no private snaps offline (nobody logs in)
  const commonId = req.commonId ?? "";
  const ranked = req.name !== undefined && req.name !== "" ? rankByName(idx, req.name) : rankByQuery(idx, req.q ?? "");
  const maps = idx.channelMaps(req.arch);
  const category = req.category ?? "";
  const out: SearchHit[] = [];
  for (const { snap } of ranked) {
    if (category !== "" && category !== "featured" && !(snap.meta.categories ?? []).includes(category)) continue;
    const entries = maps.get(snap.name) ?? [];
    const track = snap.meta.defaultTrack ?? LATEST_TRACK;
    const entry =
      req.channel !== undefined
        ? entries.find((e) => channelMatches(e, req.channel ?? "", track))
        : (entries.find((e) => e.channel.track === track && e.channel.risk === "stable") ?? entries[0]);
    if (entry === undefined) continue;
    // the shown revision's AppStream ids (the store's, or snap.yaml's apps' common-id)
    if (commonId !== "" && !(entry.revision.commonIds ?? []).includes(commonId)) continue;
    if (req.confinements && req.confinements.length > 0 && !req.confinements.includes(entry.revision.confinement))
      continue;
    out.push({ snap, entry });
    if (out.length >= MAX_RESULTS) break;
  }
  return out;
}

/** Keeps only the keys named in `fields` (all of them when `fields` is undefined). */
export function pickFields<T extends Record<string, unknown>>(
  o: T,
  fields: ReadonlySet<string> | undefined,
): Partial<T> {
  if (fields === undefined) return o;
  return Object.fromEntries(Object.entries(o).filter(([k]) => fields.has(k))) as Partial<T>;
}

function list(v: string | null): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The common query of both search endpoints, or an error answer. */
export function parseSearchQuery(
  req: RouteRequest,
  keys: { category: string; commonId: string; narrow: (q: URLSearchParams) => string | undefined },
): SearchRequest | RouteResponse {
  const q = req.query.get("q") ?? "";
  const name = req.query.get("name") ?? "";
  if (q.length > MAX_QUERY || name.length > MAX_QUERY) {
    return errorResponse(400, "bad-query", `cannot search: query longer than ${MAX_QUERY} characters`);
  }
  const arch = req.query.get("architecture") ?? deviceArch(req) ?? "amd64";
  if (!ARCH.test(arch))
    return errorResponse(400, "bad-query", `cannot search: invalid architecture ${JSON.stringify(arch.slice(0, 40))}`);
  const channel = keys.narrow(req.query);
  const commonId = req.query.get(keys.commonId);
  return {
    q,
    name,
    category: req.query.get(keys.category) ?? "",
    arch,
    ...(channel !== undefined ? { channel } : {}),
    confinements: list(req.query.get("confinement")),
    ...(commonId !== null ? { commonId } : {}),
    private: req.query.get("private") === "true",
  };
}

// ---- v1 fallback: GET /api/v1/snaps/search (hal+json) --------------------------

/** One v1 search result (snapd's `snapDetails`, store/details.go). */
export function toV1Details(hit: SearchHit, env: DynamicEnv) {
  const snap = toSnapLevel(hit.snap, hit.entry.revision);
  const rev = toRevisionLevel(hit.entry.revision, env.ctx);
  return {
    package_name: hit.snap.name,
    snap_id: hit.snap.snapId,
    revision: rev.revision,
    version: rev.version,
    title: snap.title,
    summary: snap.summary,
    description: snap.description,
    architecture: rev.architectures,
    channel: shortChannelName(hit.entry.channel),
    confinement: rev.confinement,
    content: rev.type,
    base: rev.base ?? "",
    license: snap.license ?? "",
    origin: hit.snap.publisher.username,
    developer_id: hit.snap.publisher.id,
    developer_name: hit.snap.publisher.displayName,
    developer_validation: hit.snap.publisher.validation,
    publisher: hit.snap.publisher.displayName,
    binary_filesize: rev.download.size,
    download_url: rev.download.url,
    download_sha3_384: rev.download["sha3-384"],
    last_updated: hit.entry.releasedAt,
    prices: snap.prices,
    private: snap.private,
    media: snap.media,
    common_ids: rev["common-ids"],
    contact: snap.contact ?? "",
    support_url: "",
  };
}

export function handleSearchV1(req: RouteRequest, env: DynamicEnv): RouteResponse {
  const parsed = parseSearchQuery(req, {
    category: "section",
    commonId: "common_id",
    // v1's default scope is stable; `scope=wide` searches every risk
    narrow: (q) => (q.get("scope") === "wide" ? undefined : "stable"),
  });
  if ("status" in parsed) return parsed;
  const hits = search(searchIndexOf(env.state), parsed);
  return jsonResponse(200, { _embedded: { "clickindex:package": hits.map((h) => toV1Details(h, env)) } }, HAL_TYPE);
}

export const searchV1Route: DynamicRoute = {
  kind: "dynamic",
  id: "search-v1",
  method: "GET",
  pattern: "/api/v1/snaps/search",
  handle: handleSearchV1,
};
