/**
 * What a bundle contributes to an import, once unpacked and its entries
 * checked: files for the ordinary verification pipeline, plus the store
 * metadata and channel map the public store had. Nothing here is trusted
 * until the importer has verified it.
 */
import type { SnapMeta } from "../catalogue/types.js";

export interface BundleRelease {
  readonly name: string;
  readonly revision: number;
  /** Full channel name track/risk[/branch]. */
  readonly channel: string;
  /** Device architecture or `all`. */
  readonly arch: string;
  /** When the public store released it (RFC 3339). */
  readonly at: string;
}

export interface BundleContents {
  /** Extracted .snap files (inside the import's staging directory). */
  readonly snapFiles: readonly string[];
  /** Extracted assertion files (streams). */
  readonly assertionFiles: readonly string[];
  /** The channel map at export time, per (channel, arch). */
  readonly releases: readonly BundleRelease[];
  /** Store metadata per snap name. */
  readonly meta: Readonly<Record<string, SnapMeta>>;
}

/** Reads a bundle into `stagingDir` (created by the caller, removed after the import). */
export type BundleReader = (path: string, stagingDir: string) => Promise<BundleContents>;
