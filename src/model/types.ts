/**
 * Pure domain types shared by every module. No I/O here.
 */

/** A risk, in order of decreasing stability. */
export const RISKS = ["stable", "candidate", "beta", "edge"] as const;
export type Risk = (typeof RISKS)[number];

/** Architectures snapd knows (Debian names). `all` is a revision property, never a device. */
export const KNOWN_ARCHES = ["amd64", "arm64", "armhf", "i386", "ppc64el", "s390x", "riscv64"] as const;

/** An epoch as snapd sends it: which epochs a revision can read and write. */
export interface Epoch {
  readonly read: readonly number[];
  readonly write: readonly number[];
}

/** A fully qualified channel: track is never empty (`latest` is explicit). */
export interface Channel {
  readonly track: string;
  readonly risk: Risk;
  readonly branch?: string;
}

/** What `meta/snap.yaml` says about a revision (what the protocol needs). */
export interface SnapYamlInfo {
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly description: string;
  /** app, base, os, snapd, gadget, kernel (snap.yaml `type`, default `app`). */
  readonly type: string;
  /** `base` from snap.yaml; absent when not set. */
  readonly base?: string;
  readonly confinement: string;
  readonly grade: string;
  /** Defaults to ["all"] like snapd when snap.yaml has none. */
  readonly architectures: readonly string[];
  readonly epoch: Epoch;
  /** App names, sorted. */
  readonly apps: readonly string[];
  /** The apps' `common-id`s (by app name, deduplicated); absent when none has one. */
  readonly commonIds?: readonly string[];
  /** Content plugs' default providers (snap names), sorted, deduplicated. */
  readonly defaultProviders: readonly string[];
  /** Non-default provenance, if declared. */
  readonly provenance?: string;
  /** Title from snap.yaml, if any. */
  readonly title?: string;
  readonly license?: string;
}

export interface Media {
  readonly type: string;
  readonly url: string;
  readonly width?: number;
  readonly height?: number;
}

/** Store-side metadata of a snap (from bundles; raw imports fall back to snap.yaml). */
export interface SnapMeta {
  readonly title?: string;
  readonly summary?: string;
  readonly description?: string;
  readonly license?: string;
  readonly contact?: string;
  readonly website?: string;
  readonly storeUrl?: string;
  readonly media?: readonly Media[];
  /** Category names, in the store's order. */
  readonly categories?: readonly string[];
  /** The categories the store marks featured (absent in records older than this field). */
  readonly featuredCategories?: readonly string[];
  /** The store's `links` (kind -> URLs); absent: derived from contact and website. */
  readonly links?: Readonly<Record<string, readonly string[]>>;
  /** Currency -> price (absent: `{}`). */
  readonly prices?: Readonly<Record<string, string>>;
  /** Absent: false. */
  readonly private?: boolean;
  /** The track risk-only requests resolve in (absent = `latest`). */
  readonly defaultTrack?: string;
  /** How `snapshelf export` was asked for this snap, summed over imports: what `export --since` follows. */
  readonly exported?: ExportedWith;
}

/** The channels (as requested: `stable`, `2.x/edge`) and device architectures an export asked for. */
export interface ExportedWith {
  readonly channels: readonly string[];
  readonly arches: readonly string[];
}
