/**
 * The facts about a revision that only the store knows (or reports besides snap.yaml):
 * `created-at`, `common-ids`, `confinement`, `epoch`. The store's answers (upstream/wire)
 * and bundle.json (bundle/format) carry them under the same names; one parser reads both.
 */
import { type JsonObject, optionalStringField, type ShapeFail, stringList } from "../util/json-shape.js";
import { parseEpoch } from "./epoch.js";
import type { Epoch } from "./types.js";

export interface RevisionFacts {
  readonly createdAt?: string;
  readonly commonIds?: string[];
  readonly confinement?: string;
  readonly epoch?: Epoch;
}

export interface RevisionFactsOptions {
  /** An empty `created-at` or `confinement` is left out (the store sends "" for "not known"). */
  readonly emptyIsAbsent?: boolean;
  /** `created-at` must be a time `Date.parse` reads (an empty one is not). */
  readonly checkTime?: boolean;
}

/** Reads the revision facts of `o` (at `p`, for messages); absent or null fields are left out. */
export function parseRevisionFacts(
  o: JsonObject,
  p: string,
  fail: ShapeFail,
  opts: RevisionFactsOptions = {},
): RevisionFacts {
  const createdAt = optionalStringField(o, "created-at", p, fail);
  if (opts.checkTime && createdAt !== undefined && Number.isNaN(Date.parse(createdAt)))
    throw fail(`${p}.created-at`, `invalid time ${JSON.stringify(createdAt)}`);
  const ids = o["common-ids"];
  const commonIds = ids === undefined || ids === null ? undefined : stringList(ids, `${p}.common-ids`, fail);
  const confinement = optionalStringField(o, "confinement", p, fail);
  let epoch: Epoch | undefined;
  if (o["epoch"] !== undefined && o["epoch"] !== null) {
    try {
      epoch = parseEpoch(o["epoch"]);
    } catch (err) {
      throw fail(`${p}.epoch`, (err as Error).message);
    }
  }
  const kept = (v: string | undefined): v is string => v !== undefined && !(opts.emptyIsAbsent && v === "");
  return {
    ...(kept(createdAt) ? { createdAt } : {}),
    ...(commonIds === undefined ? {} : { commonIds }),
    ...(kept(confinement) ? { confinement } : {}),
    ...(epoch === undefined ? {} : { epoch }),
  };
}
