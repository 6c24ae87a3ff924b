/**
 * The catalogue: a pure, deterministically ordered view of everything the
 * store holds. Built by `buildCatalogue` (a fold over the store's records),
 * consumed by the route renderers (both the static build and the shim).
 */
import type { AssertionRecord } from "../model/records.js";
import type { SnapMeta, SnapYamlInfo } from "../model/types.js";

export interface Publisher {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  /** verified | unproven | starred (legacy `certified` is mapped to `verified`). */
  readonly validation: string;
}

/** What the protocol needs of a stored revision: snap.yaml's facts plus the blob's and the store's. */
export interface RevisionEntry
  extends Pick<
    SnapYamlInfo,
    | "version"
    | "type"
    | "base"
    | "confinement"
    | "grade"
    | "architectures"
    | "epoch"
    | "summary"
    | "description"
    | "apps"
    | "defaultProviders"
  > {
  readonly revision: number;
  /** lower-case hex SHA3-384 of the blob (store JSON form). */
  readonly sha3_384: string;
  readonly size: number;
  /** The store's `created-at` when a bundle carried it, else the snap-revision assertion's timestamp. */
  readonly createdAt: string;
  /** The store's common ids when a bundle carried them, else those of snap.yaml's apps. */
  readonly commonIds?: readonly string[];
  /** The blob's meta/snap.yaml, verbatim. */
  readonly snapYaml: string;
  /** Its components, the highest revision of each paired with it (absent when it has none). */
  readonly resources?: readonly ResourceEntry[];
}

/** A component of a revision, as the store serves it in `resources` (src/catalogue/resources.ts). */
export interface ResourceEntry {
  /** The component's name. */
  readonly name: string;
  /** `component/<type>`, as the store says it. */
  readonly type: string;
  readonly revision: number;
  readonly version: string;
  /** lower-case hex SHA3-384 of the component blob. */
  readonly sha3_384: string;
  readonly size: number;
  readonly createdAt: string;
  readonly description: string;
}

/** One release event in a channel's history. */
export interface Release {
  readonly revision: number;
  /** RFC 3339 time of the release (from the input that recorded it). */
  readonly releasedAt: string;
  /** Global order of release events: later releases have larger seq. */
  readonly seq: number;
}

/**
 * The releases of one (channel, arch key). `arch` is a device architecture or
 * `all` (revisions built for every architecture); for a device architecture X
 * the effective history of a channel merges X and `all` by `seq`.
 */
export interface ChannelReleases {
  readonly track: string;
  readonly risk: string;
  readonly branch?: string;
  readonly arch: string;
  /** Oldest first; the last element is what the channel currently holds. */
  readonly history: readonly Release[];
}

export interface SnapEntry {
  readonly name: string;
  readonly snapId: string;
  readonly publisher: Publisher;
  readonly meta: SnapMeta;
  /** Sorted by revision number. */
  readonly revisions: readonly RevisionEntry[];
  /** Sorted by track (latest first, then by name), risk order, branch, arch. */
  readonly channels: readonly ChannelReleases[];
}

/** An assertion as the catalogue holds it: exactly its record (full primary key, content address, string headers). */
export type AssertionEntry = AssertionRecord;

export interface Catalogue {
  /** Sorted by name. */
  readonly snaps: readonly SnapEntry[];
  /** Sorted by type, primary key, revision. */
  readonly assertions: readonly AssertionEntry[];
  /** Device architectures the store answers for (info files are rendered per arch). */
  readonly arches: readonly string[];
}
