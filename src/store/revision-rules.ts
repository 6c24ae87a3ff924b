/**
 * One revision, one file, forever: a snap's revision number names exactly one
 * blob. An import that brings another blob (another sha3-384) for a revision
 * the store holds, or held (its snap-revision assertion stays in the records
 * after `remove`), or two blobs for one revision at once, is refused naming
 * both digests. Pure: no I/O.
 */
import { digestBase64UrlToHex } from "../blobs/store.js";
import type { AssertionRecord, RevisionRecord } from "../model/records.js";

export interface IncomingRevision {
  readonly source: string;
  readonly record: RevisionRecord;
}

export interface RevisionClash {
  readonly source: string;
  readonly name: string;
  readonly revision: number;
  /** The digest the store (or an earlier input) has for that revision, hex. */
  readonly have: string;
  /** The incoming blob's digest, hex. */
  readonly incoming: string;
  /** The earlier input of the same import that has `have`, when the clash is between two inputs. */
  readonly other?: string;
}

/** The first incoming revision whose number already names another blob, or undefined. */
export function findRevisionClash(
  stored: readonly RevisionRecord[],
  storedAssertions: readonly AssertionRecord[],
  incoming: readonly IncomingRevision[],
): RevisionClash | undefined {
  const key = (snapId: string, name: string, revision: number): string =>
    snapId !== "" ? `${snapId}\0${revision}` : `name:${name}\0${revision}`;
  const known = new Map<string, string>();
  const givenBy = new Map<string, string>();
  for (const r of stored) {
    known.set(key(r.snapId, r.name, r.revision), r.sha3_384);
    known.set(key("", r.name, r.revision), r.sha3_384);
  }
  for (const a of storedAssertions) {
    if (a.type !== "snap-revision") continue;
    const snapId = a.headers["snap-id"] ?? "";
    const revision = Number(a.headers["snap-revision"]);
    const digest = a.primaryKey[0];
    if (snapId === "" || !Number.isSafeInteger(revision) || digest === undefined) continue;
    const k = key(snapId, "", revision);
    if (!known.has(k)) known.set(k, digestBase64UrlToHex(digest));
  }
  for (const { source, record } of incoming) {
    for (const k of [key(record.snapId, record.name, record.revision), key("", record.name, record.revision)]) {
      const have = known.get(k);
      if (have !== undefined && have !== record.sha3_384) {
        const other = givenBy.get(k);
        const clash = { source, name: record.name, revision: record.revision, have, incoming: record.sha3_384 };
        return other === undefined ? clash : { ...clash, other };
      }
    }
    for (const k of [key(record.snapId, record.name, record.revision), key("", record.name, record.revision)]) {
      known.set(k, record.sha3_384);
      givenBy.set(k, source);
    }
  }
  return undefined;
}

export function revisionClashMessage(c: RevisionClash): string {
  const where = c.other === undefined ? "is already in the store" : `is also ${c.other},`;
  return (
    `cannot import ${c.source}: ${c.name} revision ${c.revision} ${where} with another blob ` +
    `(sha3-384 ${c.have}, this one ${c.incoming}): a revision names one file forever`
  );
}
