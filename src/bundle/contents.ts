/**
 * What a bundle contributes to an import, once unpacked and its entries
 * checked: files for the ordinary verification pipeline, plus the store
 * metadata and channel map the public store had. Nothing here is trusted
 * until the importer has verified it.
 */
import type { SnapMeta } from "../model/types.js";

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

/** What the public store said of a revision beyond its blob (applied once the blob is verified). */
export interface BundleRevisionFacts {
  readonly name: string;
  readonly revision: number;
  /** The store's `created-at` (RFC 3339). */
  readonly createdAt?: string;
  readonly commonIds?: readonly string[];
}

/** A file the reader wrote itself and hashed while writing it (so it need not be read again). */
export interface StagedDigest {
  readonly sha3_384: string;
  readonly size: number;
}

export interface BundleContents {
  /** Extracted .snap files (inside the import's staging directory). */
  readonly snapFiles: readonly string[];
  /**
   * The extracted files' sha3-384 and size as computed while they were written (by path), when
   * the reader knows them. The importer still checks these against the assertions; it only
   * skips copying and hashing the file a second time.
   */
  readonly staged?: ReadonlyMap<string, StagedDigest>;
  /** Extracted component (`.comp`) files, imported like loose ones (bundle version 3). */
  readonly componentFiles?: readonly string[];
  /** Extracted assertion files (streams). */
  readonly assertionFiles: readonly string[];
  /** The channel map at export time, per (channel, arch). */
  readonly releases: readonly BundleRelease[];
  /** Store metadata per snap name. */
  readonly meta: Readonly<Record<string, SnapMeta>>;
  /** Per-revision store facts (absent in bundles that carry none). */
  readonly revisionFacts?: readonly BundleRevisionFacts[];
  /** bundle.json's bytes and signature (absent where the contents did not come from a bundle reader). */
  readonly bundle?: BundleOrigin;
}

/** What the operator-signature and rollback checks need of a bundle (src/bundle/trust.ts). */
export interface BundleOrigin {
  /** The bundle as given (its file, or its parts file). */
  readonly source: string;
  /** bundle.json exactly as read (what the signature covers). */
  readonly json: string;
  /** `bundle.json.minisig`, when the bundle carries one. */
  readonly signature?: string;
}

/** Reads a bundle into `stagingDir` (created by the caller, removed after the import). */
export type BundleReader = (
  path: string,
  stagingDir: string,
  opts?: { readonly onProgress?: (bytesRead: number) => void },
) => Promise<BundleContents>;
