/**
 * snapd's JSON shapes (store-protocol.md §4.4, §6, §7, §8, §9) and pure
 * conversions from catalogue entries to them, in the public store's shape:
 * kebab-case keys in alphabetical order, null where it has no value, absolute
 * download URLs (test/golden/files/real-store holds its recorded answers);
 * `type` is never null (snapd rejects the whole response).
 */
import type { Publisher, RevisionEntry, SnapEntry } from "../catalogue/types.js";
import type { Epoch } from "../model/types.js";

export interface WirePublisher {
  readonly id: string;
  readonly username: string;
  readonly "display-name": string;
  readonly validation: string;
}

export interface WireDownload {
  readonly deltas: readonly never[];
  readonly "sha3-384": string;
  readonly size: number;
  readonly url: string;
}

export interface RenderContext {
  /** Base URL without a trailing slash, e.g. `http://store.internal:8000`. */
  readonly baseUrl: string;
  /** The store's name for people (the catalogue page's heading); default: the base URL's host. */
  readonly storeName?: string;
}

export function blobUrlPath(sha3hex: string): string {
  return `/blobs/${sha3hex}.snap`;
}

export function downloadUrl(ctx: RenderContext, rev: RevisionEntry): string {
  return ctx.baseUrl + blobUrlPath(rev.sha3_384);
}

export function toWirePublisher(p: Publisher): WirePublisher {
  return { "display-name": p.displayName, id: p.id, username: p.username, validation: p.validation };
}

function toWireEpoch(e: Epoch): { read: readonly number[]; write: readonly number[] } {
  return { read: e.read, write: e.write };
}

function wireType(t: string): string {
  return t === "application" || t === "" ? "app" : t;
}

/** `links` as the store sends them; records older than the field derive them from contact and website. */
function wireLinks(snap: SnapEntry): Record<string, readonly string[]> {
  const m = snap.meta;
  if (m.links !== undefined) return Object.fromEntries(Object.entries(m.links).map(([k, v]) => [k, [...v]]));
  const out: Record<string, readonly string[]> = {};
  if (m.contact !== undefined && m.contact !== "") out["contact"] = [m.contact];
  if (m.website !== undefined && m.website !== "") out["website"] = [m.website];
  return out;
}

/**
 * Snap-level fields (same for every revision). Keys are in the real store's order
 * (alphabetical, like every object it sends); unknown values are null as there.
 */
export function toSnapLevel(snap: SnapEntry, rev: RevisionEntry | undefined) {
  const m = snap.meta;
  const featured = new Set(m.featuredCategories ?? []);
  return {
    categories: (m.categories ?? []).map((name) => ({ featured: featured.has(name), name })),
    contact: m.contact ?? null,
    description: m.description ?? rev?.description ?? "",
    license: m.license ?? null,
    links: wireLinks(snap),
    media: (m.media ?? []).map((x) => ({ height: x.height ?? null, type: x.type, url: x.url, width: x.width ?? null })),
    name: snap.name,
    prices: { ...(m.prices ?? {}) },
    private: m.private ?? false,
    publisher: toWirePublisher(snap.publisher),
    "snap-id": snap.snapId,
    "store-url": m.storeUrl ?? null,
    summary: m.summary ?? rev?.summary ?? "",
    title: m.title ?? snap.name,
    website: m.website ?? null,
  };
}

/** Revision-level fields, in the real store's (alphabetical) order. */
export function toRevisionLevel(rev: RevisionEntry, ctx: RenderContext) {
  const download: WireDownload = { deltas: [], "sha3-384": rev.sha3_384, size: rev.size, url: downloadUrl(ctx, rev) };
  return {
    architectures: rev.architectures,
    base: rev.base ?? null,
    "common-ids": rev.commonIds ?? [],
    confinement: rev.confinement,
    "created-at": rev.createdAt,
    download,
    epoch: toWireEpoch(rev.epoch),
    revision: rev.revision,
    type: wireType(rev.type),
    version: rev.version,
  };
}

/**
 * `resources` of a revision: its components (snapd >= 2.62 asks for them in refresh and info
 * answers, `snap download` always), in the store's shape (store-protocol.md §4.4: `created-at`,
 * `description`, `download` {`sha3-384`, `size`, absolute `url`}, `name`, `revision`,
 * `type` `component/<type>`, `version`; snapd 2.68.3's `storeResource`). A revision without
 * components has an empty list, as the store's other empty lists; 2.57.6 ignores the field.
 */
export function toResources(rev: RevisionEntry, ctx: RenderContext) {
  return (rev.resources ?? []).map((r) => ({
    "created-at": r.createdAt,
    description: r.description,
    download: { "sha3-384": r.sha3_384, size: r.size, url: ctx.baseUrl + blobUrlPath(r.sha3_384) },
    name: r.name,
    revision: r.revision,
    type: r.type,
    version: r.version,
  }));
}

/** An object with the keys of `o` in the real store's (alphabetical) order. */
export function sortedKeys<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = (o as Record<string, unknown>)[k];
  return out as T;
}

/** The `snap` object of a v2/snaps/refresh result (§4.4): every field snapd asks for, snap-yaml the blob's own. */
export function toStoreSnap(snap: SnapEntry, rev: RevisionEntry, ctx: RenderContext) {
  return sortedKeys({
    ...toSnapLevel(snap, rev),
    ...toRevisionLevel(rev, ctx),
    resources: toResources(rev, ctx),
    "snap-yaml": rev.snapYaml,
  });
}
