/**
 * Trust across the air gap beyond Canonical's signatures: operator keys and
 * rollback protection for bundles, kept in `state/trust.json`.
 *
 * - Operator keys (`import --signed-by FILE.pub`, remembered like trusted
 *   roots): once a store knows one, every bundle must carry a valid signature
 *   over its bundle.json by one of them (src/bundle/signature.ts); bundle.json
 *   lists every other entry with its size and sha3-384, which the reader has
 *   checked. `--allow-unsigned` lets an unsigned or foreign-signed bundle in,
 *   and the audit log says so; a signature by a known key that does not
 *   verify is always refused.
 * - No rollback, no freeze: the last bundle imported per snap is remembered
 *   (export time, signing key and its counter); a bundle older than it is
 *   refused unless `--allow-older` (audited). `status` shows the export time
 *   per snap and warns when it is too old.
 *
 * trust.json is written (atomically) just before the records, inside the same
 * import: an import cut short between the two leaves the store's records as
 * they were and its trust state only stricter.
 */
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { BundleOrigin } from "../bundle/contents.js";
import { type BundleDoc, parseBundleDoc } from "../bundle/format.js";
import { checkSignature, type OperatorPublicKey, parsePublicKey } from "../bundle/signature.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError, writeJsonAtomic } from "../util/fs.js";
import type { StoreLayout } from "./layout.js";

export const TRUST_FORMAT = 1;

export interface OperatorKeyRecord {
  readonly keyId: string;
  /** The minisign public key's base64 line. */
  readonly publicKey: string;
  readonly added: string;
}

/** The last bundle imported for a snap. */
export interface SnapExportRecord {
  /** When it was exported; absent for a version 1 bundle. */
  readonly exportedAt?: string;
  readonly keyId?: string;
  readonly counter?: number;
  readonly bundle: string;
  readonly importedAt: string;
}

export interface TrustState {
  readonly operatorKeys: readonly OperatorKeyRecord[];
  readonly snaps: Readonly<Record<string, SnapExportRecord>>;
}

export interface BundleTrustOptions {
  /** Operator public key files (minisign) to add to the store. */
  readonly signedBy?: readonly string[];
  /** Import bundles that no known operator key signed (audited). */
  readonly allowUnsigned?: boolean;
  /** Import bundles older than the last one imported for their snap (audited). */
  readonly allowOlder?: boolean;
}

export function trustPath(layout: StoreLayout): string {
  return join(layout.state, "trust.json");
}

export async function readTrust(layout: StoreLayout): Promise<TrustState> {
  const path = trustPath(layout);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return { operatorKeys: [], snaps: {} };
    throw new SnapshelfError("bad-state", `cannot read ${path}: ${fsErrorReason(err)}`);
  }
  const bad = (reason: string): SnapshelfError => new SnapshelfError("bad-state", `cannot read ${path}: ${reason}`);
  let v: {
    format?: unknown;
    "operator-keys"?: { "key-id": string; "public-key": string; added: string }[];
    snaps?: Record<
      string,
      { "exported-at"?: string; "key-id"?: string; counter?: number; bundle: string; "imported-at": string }
    >;
  };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    throw bad("not JSON");
  }
  if (v.format !== TRUST_FORMAT || !Array.isArray(v["operator-keys"]) || typeof v.snaps !== "object")
    throw bad(`not a trust file of format ${TRUST_FORMAT}`);
  const snaps: Record<string, SnapExportRecord> = {};
  for (const [name, s] of Object.entries(v.snaps)) {
    snaps[name] = {
      ...(s["exported-at"] === undefined ? {} : { exportedAt: s["exported-at"] }),
      ...(s["key-id"] === undefined ? {} : { keyId: s["key-id"] }),
      ...(s.counter === undefined ? {} : { counter: s.counter }),
      bundle: s.bundle,
      importedAt: s["imported-at"],
    };
  }
  return {
    operatorKeys: v["operator-keys"].map((k) => ({ keyId: k["key-id"], publicKey: k["public-key"], added: k.added })),
    snaps,
  };
}

async function writeTrust(layout: StoreLayout, t: TrustState): Promise<void> {
  const snaps: Record<string, unknown> = {};
  for (const name of Object.keys(t.snaps).sort()) {
    const s = t.snaps[name]!;
    snaps[name] = {
      ...(s.exportedAt === undefined ? {} : { "exported-at": s.exportedAt }),
      ...(s.keyId === undefined ? {} : { "key-id": s.keyId }),
      ...(s.counter === undefined ? {} : { counter: s.counter }),
      bundle: s.bundle,
      "imported-at": s.importedAt,
    };
  }
  await writeJsonAtomic(trustPath(layout), {
    format: TRUST_FORMAT,
    "operator-keys": [...t.operatorKeys]
      .sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0))
      .map((k) => ({ "key-id": k.keyId, "public-key": k.publicKey, added: k.added })),
    snaps,
  });
}

export interface BundleTrustResult {
  /** Writes the new trust state (call just before the records commit). */
  commit(): Promise<void>;
  /** For the import's audit entry: exceptions made, keys added. */
  readonly audit: Readonly<Record<string, unknown>>;
  readonly notes: readonly string[];
}

/** The store's operator keys, and those of `signedBy` files it does not know yet (to be added). */
async function operatorKeys(
  layout: StoreLayout,
  state: TrustState,
  signedBy: readonly string[],
  now: Date,
): Promise<{ keys: OperatorPublicKey[]; added: OperatorKeyRecord[] }> {
  const keys: OperatorPublicKey[] = state.operatorKeys.map((k) => parsePublicKey(k.publicKey, trustPath(layout)));
  const added: OperatorKeyRecord[] = [];
  for (const f of signedBy) {
    let text: string;
    try {
      text = await readFile(f, "utf8");
    } catch (err) {
      throw new SnapshelfError("input-unreadable", `cannot read operator key ${f}: ${fsErrorReason(err)}`);
    }
    const k = parsePublicKey(text, f);
    if (keys.some((x) => x.keyId === k.keyId)) continue;
    keys.push(k);
    added.push({ keyId: k.keyId, publicKey: k.line, added: now.toISOString() });
  }
  return { keys, added };
}

/**
 * A bundle's signature against the operator keys (none: nothing to check): the key that verified
 * it, or why it has no trusted signature. A signature by a known key that bundle.json does not
 * name as its signer fails.
 */
function checkBundleSignature(
  b: BundleOrigin,
  doc: BundleDoc,
  keys: readonly OperatorPublicKey[],
  fail: (reason: string) => SnapshelfError,
): { verifiedKey?: string; why?: string } {
  if (keys.length === 0) return {};
  if (b.signature === undefined) return { why: "it is not signed" };
  const check = checkSignature(b.signature, Buffer.from(b.json, "utf8"), keys, fail);
  if (check.key === undefined)
    return { why: `it is signed by operator key ${check.keyId}, which this store does not know` };
  if (doc.signer?.keyId !== check.keyId)
    throw fail(`bundle.json names signer ${doc.signer?.keyId ?? "(none)"}, but key ${check.keyId} signed it`);
  return { verifiedKey: check.keyId };
}

/** Why a snap's bundle is older than the one it was last imported from, if it is (rollback). */
function olderReason(name: string, doc: BundleDoc, last: SnapExportRecord): string | undefined {
  const signer = doc.signer;
  if (doc.exportedAt === undefined) {
    return `it has no export time (bundle format 1), and ${name} was imported from a bundle exported at ${last.exportedAt ?? "?"}`;
  }
  if (
    signer !== undefined &&
    last.keyId === signer.keyId &&
    last.counter !== undefined &&
    signer.counter < last.counter
  ) {
    return `it is export ${signer.counter} of operator key ${signer.keyId}, but ${name} was imported from export ${last.counter}`;
  }
  if (last.exportedAt !== undefined && Date.parse(doc.exportedAt) < Date.parse(last.exportedAt)) {
    return `it was exported at ${doc.exportedAt}, before the bundle of ${name} imported last (exported at ${last.exportedAt})`;
  }
  return undefined;
}

/**
 * Checks every bundle of an import against the store's operator keys (and
 * those `opts.signedBy` adds) and its rollback state. Throws, naming the
 * bundle, before anything is written.
 */
export async function checkBundleTrust(
  layout: StoreLayout,
  bundles: readonly BundleOrigin[],
  opts: BundleTrustOptions,
  now: Date,
): Promise<BundleTrustResult> {
  const state = await readTrust(layout);
  const { keys, added } = await operatorKeys(layout, state, opts.signedBy ?? [], now);
  const snaps: Record<string, SnapExportRecord> = { ...state.snaps };
  const unsigned: string[] = [];
  const older: string[] = [];
  const notes: string[] = [];
  for (const b of bundles) {
    const fail = (reason: string): SnapshelfError =>
      new SnapshelfError("bundle-not-trusted", `cannot import bundle ${b.source}: ${reason}`);
    const doc = parseBundleDoc(b.json, b.source);
    const { verifiedKey, why } = checkBundleSignature(b, doc, keys, fail);
    if (why !== undefined) {
      if (opts.allowUnsigned !== true) {
        const keyList = keys.map((k) => k.keyId).join(", ");
        throw fail(
          `${why}; this store takes only bundles signed by its operator keys (${keyList}) unless --allow-unsigned`,
        );
      }
      unsigned.push(b.source);
      notes.push(`imported bundle ${b.source} without a trusted signature (--allow-unsigned): ${why}`);
    }
    if (doc.kind !== "snap" || doc.name === undefined) continue;
    const last = snaps[doc.name];
    const signer = doc.signer;
    const reason = last === undefined ? undefined : olderReason(doc.name, doc, last);
    if (reason !== undefined) {
      if (opts.allowOlder !== true) throw fail(`${reason}; --allow-older to import it anyway`);
      older.push(b.source);
      notes.push(`imported older bundle ${b.source} (--allow-older): ${reason}`);
    }
    snaps[doc.name] = {
      ...(doc.exportedAt === undefined ? {} : { exportedAt: doc.exportedAt }),
      ...(signer === undefined || verifiedKey === undefined ? {} : { keyId: signer.keyId, counter: signer.counter }),
      bundle: basename(b.source),
      importedAt: now.toISOString(),
    };
  }
  const next: TrustState = { operatorKeys: [...state.operatorKeys, ...added], snaps };
  const changed = added.length > 0 || bundles.some((b) => parseBundleDoc(b.json, b.source).kind === "snap");
  return {
    commit: async () => {
      if (changed) await writeTrust(layout, next);
    },
    audit: {
      ...(added.length > 0 ? { "operator-keys-added": added.map((k) => k.keyId) } : {}),
      ...(unsigned.length > 0 ? { "allow-unsigned": unsigned } : {}),
      ...(older.length > 0 ? { "allow-older": older } : {}),
    },
    notes,
  };
}
