/**
 * What a staged snap must agree with before it is recorded: its blob against
 * the snap-revision (digest, size), the snap-declaration against the name in
 * its meta/snap.yaml; and how verified assertions become records. Shared by
 * the import use-case and by export (which checks what it fetches with the
 * importer's own rules before writing a bundle).
 */
import { createHash } from "node:crypto";
import { headerString } from "../assertions/parse.js";
import { type Assertion, newestByKey, refKey } from "../assertions/types.js";
import { digestHexToBase64Url } from "../blobs/store.js";
import type { AssertionRecord, RevisionRecord } from "../model/records.js";
import type { SnapYamlInfo } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";

export function objectId(raw: Buffer): string {
  return createHash("sha3-384").update(raw).digest("hex");
}

/** The top-level string headers of an assertion (for queries; bytes stay on disk). */
export function stringHeaders(a: Assertion): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a.headers).sort()) {
    const v = a.headers[k];
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

export function toAssertionRecord(a: Assertion): AssertionRecord {
  return {
    type: a.type,
    primaryKey: a.primaryKey,
    revision: a.revision,
    format: a.format,
    object: objectId(a.raw),
    headers: stringHeaders(a),
  };
}

function findLatest(pool: Map<string, Assertion>, type: string, pk: readonly string[]): Assertion | undefined {
  return pool.get(refKey(type, pk));
}

export function poolOf(assertions: readonly Assertion[]): Map<string, Assertion> {
  return newestByKey(assertions);
}

/** Checks a staged blob against the verified assertions; returns its revision record. */
export function crossCheck(
  source: string,
  sha3hex: string,
  size: number,
  yaml: string,
  info: SnapYamlInfo,
  pool: Map<string, Assertion>,
): RevisionRecord {
  const digest = digestHexToBase64Url(sha3hex);
  const provenance = info.provenance ?? "global-upload";
  const rev = findLatest(pool, "snap-revision", [digest, provenance]);
  if (!rev) {
    throw new SnapshelfError(
      "no-snap-revision",
      `cannot import ${source}: no snap-revision assertion for sha3-384 ${digest} (give its assertions with --assert or a .assert file beside it)`,
    );
  }
  const snapSize = headerString(rev, "snap-size");
  if (snapSize !== String(size)) {
    throw new SnapshelfError(
      "blob-size-mismatch",
      `cannot import ${source}: size ${size} does not match snap-revision snap-size ${snapSize ?? "?"}`,
    );
  }
  const snapId = headerString(rev, "snap-id") ?? "";
  const decl = findLatest(pool, "snap-declaration", ["16", snapId]);
  if (!decl)
    throw new SnapshelfError(
      "no-snap-declaration",
      `cannot import ${source}: no snap-declaration for snap-id ${snapId}`,
    );
  const declName = headerString(decl, "snap-name") ?? "";
  if (declName === "")
    throw new SnapshelfError("snap-revoked", `cannot import ${source}: snap-id ${snapId} is revoked (empty snap-name)`);
  if (declName !== info.name) {
    throw new SnapshelfError(
      "snap-name-mismatch",
      `cannot import ${source}: snap-declaration of ${snapId} names "${declName}" but meta/snap.yaml says "${info.name}"`,
    );
  }
  const revision = Number(headerString(rev, "snap-revision"));
  return {
    name: info.name,
    snapId,
    revision,
    sha3_384: sha3hex,
    size,
    createdAt: headerString(rev, "timestamp") ?? "",
    snapYaml: yaml,
    info,
  };
}
