/**
 * What the public store said of a revision beyond its blob (a bundle's `created-at` and
 * `common-ids`), applied to the record made from the verified blob. Pure.
 */
import type { BundleRevisionFacts } from "../bundle/contents.js";
import type { RevisionRecord } from "../model/records.js";

/** The record with the store's facts for its name and revision, when a bundle carried them. */
export function withStoreFacts(record: RevisionRecord, facts: readonly BundleRevisionFacts[]): RevisionRecord {
  const f = facts.find((x) => x.name === record.name && x.revision === record.revision);
  if (f === undefined) return record;
  return {
    ...record,
    ...(f.createdAt === undefined ? {} : { createdAt: f.createdAt }),
    ...(f.commonIds === undefined ? {} : { commonIds: f.commonIds }),
  };
}
