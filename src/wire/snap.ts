/**
 * snapd's JSON shapes (store-protocol.md §4.4, §6, §7, §8, §9) and pure
 * conversions from catalogue entries to them. Keys are kebab-case like the
 * public store's; `type` is never null (snapd rejects the whole response).
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
  readonly url: string;
  readonly "sha3-384": string;
  readonly size: number;
  readonly deltas: readonly never[];
}

export interface RenderContext {
  /** Base URL without a trailing slash, e.g. `http://store.internal:8000`. */
  readonly baseUrl: string;
}

export function blobUrlPath(sha3hex: string): string {
  return `/blobs/${sha3hex}.snap`;
}

export function downloadUrl(ctx: RenderContext, rev: RevisionEntry): string {
  return ctx.baseUrl + blobUrlPath(rev.sha3_384);
}

export function toWirePublisher(p: Publisher): WirePublisher {
  return { id: p.id, username: p.username, "display-name": p.displayName, validation: p.validation };
}

function toWireEpoch(e: Epoch): { read: readonly number[]; write: readonly number[] } {
  return { read: e.read, write: e.write };
}

function wireType(t: string): string {
  return t === "application" || t === "" ? "app" : t;
}

/** Snap-level fields (same for every revision). */
export function toSnapLevel(snap: SnapEntry, rev: RevisionEntry | undefined) {
  const m = snap.meta;
  return {
    name: snap.name,
    "snap-id": snap.snapId,
    publisher: toWirePublisher(snap.publisher),
    title: m.title ?? snap.name,
    summary: m.summary ?? rev?.summary ?? "",
    description: m.description ?? rev?.description ?? "",
    license: m.license ?? null,
    contact: m.contact ?? null,
    website: m.website ?? null,
    "store-url": m.storeUrl ?? null,
    media: (m.media ?? []).map((x) => ({ ...x })),
    categories: (m.categories ?? []).map((name) => ({ name, featured: false })),
    links: {},
    prices: {},
    private: false,
    "common-ids": [],
  };
}

/** Revision-level fields. */
export function toRevisionLevel(rev: RevisionEntry, ctx: RenderContext) {
  const download: WireDownload = { url: downloadUrl(ctx, rev), "sha3-384": rev.sha3_384, size: rev.size, deltas: [] };
  return {
    revision: rev.revision,
    version: rev.version,
    type: wireType(rev.type),
    base: rev.base ?? null,
    confinement: rev.confinement,
    grade: rev.grade,
    architectures: rev.architectures,
    epoch: toWireEpoch(rev.epoch),
    "created-at": rev.createdAt,
    download,
  };
}

/**
 * `resources` of a revision: its components (snapd >= 2.62 asks for them in refresh and info
 * answers, `snap download` always). The catalogue holds no components, so every revision is
 * answered like a snap without any: an empty list, as the store's other empty lists (`deltas`,
 * `common-ids`). snapd 2.68 reads an absent or empty list alike (no components); 2.57.6 ignores it.
 */
export function toResources(): readonly never[] {
  return [];
}

/** The `snap` object of a v2/snaps/refresh result (§4.4): every field snapd asks for. */
export function toStoreSnap(snap: SnapEntry, rev: RevisionEntry, ctx: RenderContext) {
  return {
    ...toSnapLevel(snap, rev),
    ...toRevisionLevel(rev, ctx),
    "snap-yaml": rev.snapYaml,
    resources: toResources(),
  };
}
