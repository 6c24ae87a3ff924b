/**
 * Header checks: value formats (§2.3) and the type-specific mandatory headers
 * of the types an offline store serves (§4). Internal to `src/assertions`;
 * failures throw {@link Invalid} with a snapd-worded reason that the parser
 * turns into a `SnapshelfError`.
 */
import { isObject } from "../util/json-shape.js";
import { digestProblem } from "./encoding.js";
import { tryDecodePublicKey } from "./keys.js";
import { parseRfc3339 } from "./time.js";
import type { HeaderValue } from "./types.js";

/** A malformed assertion; `message` is the reason, without any `cannot ...` prefix. */
export class Invalid extends Error {}

/** Headers as parsed (maps are prototype-less objects). */
export type Headers = Readonly<Record<string, HeaderValue>>;

const q = (s: string): string => JSON.stringify(s);

export const VALID_ACCOUNT_ID = /^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$/;
export const VALID_ACCOUNT_KEY_NAME = /^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$/;
export const VALID_PROVENANCE = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
export const VALID_SNAP_ID = /^[a-z0-9A-Z]{32}$/;
const VALID_VALIDATION_SET_NAME = /^[a-z0-9](?:-?[a-z0-9])*$/;
const ALMOST_VALID_SNAP_NAME = /^[a-z0-9-]*[a-z][a-z0-9-]*$/;
const MAX_UINT64 = 18446744073709551615n;

/** Whether `name` is a valid snap (or resource) name (`naming.ValidateSnap`). */
export function isValidSnapName(name: string): boolean {
  return (
    name.length >= 2 &&
    name.length <= 40 &&
    ALMOST_VALID_SNAP_NAME.test(name) &&
    !name.startsWith("-") &&
    !name.endsWith("-") &&
    !name.includes("--")
  );
}

function has(m: Headers, name: string): boolean {
  return Object.hasOwn(m, name);
}

/** A string header that must exist (it may be empty). */
export function existsString(m: Headers, name: string, what = "header"): string {
  if (!has(m, name)) throw new Invalid(`${q(name)} ${what} is mandatory`);
  const v = m[name];
  if (typeof v !== "string") throw new Invalid(`${q(name)} ${what} must be a string`);
  return v;
}

/** A mandatory non-empty string header. */
export function notEmptyString(m: Headers, name: string, what = "header"): string {
  const v = existsString(m, name, what);
  if (v === "") throw new Invalid(`${q(name)} ${what} should not be empty`);
  return v;
}

/** An optional string header (`undefined` when absent). */
export function optionalString(m: Headers, name: string, what = "header"): string | undefined {
  if (!has(m, name)) return undefined;
  const v = m[name];
  if (typeof v !== "string") throw new Invalid(`${q(name)} ${what} must be a string`);
  return v;
}

/** Decimal integer: no sign, no leading zeros (`0` itself allowed), within the safe range. */
export function parseDecimal(s: string, label: string): number {
  if (!/^[0-9]+$/.test(s)) throw new Invalid(`${label} is not an integer: ${s}`);
  if (s.length > 1 && s.startsWith("0")) throw new Invalid(`${label} has invalid prefix zeros: ${s}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Invalid(`${label} is out of range: ${s}`);
  return n;
}

/** An optional integer header with a default (`format`, `revision`, `body-length`). */
export function intWithDefault(m: Headers, name: string, defl: number): number {
  if (!has(m, name)) return defl;
  const v = m[name];
  if (typeof v !== "string") throw new Invalid(`${q(name)} header is not an integer`);
  return parseDecimal(v, `${q(name)} header`);
}

/** A mandatory integer header. */
export function intHeader(m: Headers, name: string, what = "header"): number {
  return parseDecimal(notEmptyString(m, name, what), `${q(name)} ${what}`);
}

/** A mandatory integer header that must be at least 1 (snap revisions, sequences). */
export function positiveInt(m: Headers, name: string, what = "header"): number {
  const n = intHeader(m, name, what);
  if (n < 1) throw new Invalid(`${q(name)} ${what} must be >=1: ${n}`);
  return n;
}

/** A mandatory unsigned 64-bit size header (`snap-size`). */
export function uint64Header(m: Headers, name: string): bigint {
  const s = notEmptyString(m, name);
  if (!/^[0-9]+$/.test(s)) throw new Invalid(`${q(name)} header is not an unsigned integer: ${s}`);
  if (s.length > 1 && s.startsWith("0")) throw new Invalid(`${q(name)} header has invalid prefix zeros: ${s}`);
  const n = BigInt(s);
  if (n > MAX_UINT64) throw new Invalid(`${q(name)} header is out of range: ${s}`);
  return n;
}

/** A mandatory RFC 3339 date header, in nanoseconds since the epoch. */
export function dateHeader(m: Headers, name: string, what = "header"): bigint {
  const s = notEmptyString(m, name, what);
  const t = parseRfc3339(s);
  if (t === undefined) throw new Invalid(`${q(name)} ${what} is not a RFC3339 date: ${q(s)}`);
  return t;
}

/** An optional RFC 3339 date header. */
export function optionalDate(m: Headers, name: string): bigint | undefined {
  const s = optionalString(m, name);
  if (s === undefined) return undefined;
  const t = parseRfc3339(s);
  if (t === undefined) throw new Invalid(`${q(name)} header is not a RFC3339 date: ${q(s)}`);
  return t;
}

/** A mandatory base64url SHA3-384 digest header. */
export function digestHeader(m: Headers, name: string): string {
  const s = notEmptyString(m, name);
  const problem = digestProblem(name, s);
  if (problem !== undefined) throw new Invalid(problem);
  return s;
}

/** A mandatory header matching `re`. */
export function matching(m: Headers, name: string, re: RegExp, what = "header"): string {
  const s = notEmptyString(m, name, what);
  if (!re.test(s)) throw new Invalid(`${q(name)} ${what} contains invalid characters: ${q(s)}`);
  return s;
}

/** An optional list of strings (`undefined` when absent), each matching `re` if given. */
export function optionalStringList(m: Headers, name: string, what = "header", re?: RegExp): string[] | undefined {
  if (!has(m, name)) return undefined;
  const v = m[name];
  if (!Array.isArray(v)) throw new Invalid(`${q(name)} ${what} must be a list of strings`);
  const out: string[] = [];
  for (const e of v as readonly HeaderValue[]) {
    if (typeof e !== "string") throw new Invalid(`${q(name)} ${what} must be a list of strings`);
    if (re !== undefined && !re.test(e)) throw new Invalid(`${q(name)} ${what} contains an invalid element: ${q(e)}`);
    out.push(e);
  }
  return out;
}

function optionalMap(m: Headers, name: string): void {
  if (has(m, name) && !isObject(m[name])) throw new Invalid(`${q(name)} header must be a map`);
}

/** One `revision-authority` entry of a snap-declaration (§4.3). */
export interface RevisionAuthority {
  readonly accountId: string;
  readonly provenance: readonly string[];
  readonly minRevision: number;
  /** 0 = no upper bound. */
  readonly maxRevision: number;
}

/** The `revision-authority` entries of a (parsed, hence valid) snap-declaration's headers. */
export function revisionAuthorities(m: Headers): RevisionAuthority[] {
  if (!has(m, "revision-authority")) return [];
  const v = m["revision-authority"];
  const wrong = "revision-authority stanza must be a list of maps";
  if (!Array.isArray(v)) throw new Invalid(wrong);
  const list = v as readonly HeaderValue[];
  if (list.length === 0) throw new Invalid("revision-authority stanza cannot be empty");
  return list.map((e) => {
    if (!isObject(e)) throw new Invalid(wrong);
    const accountId = matching(e, "account-id", VALID_ACCOUNT_ID, "in revision authority");
    const provenance = optionalStringList(e, "provenance", "provenance in revision authority", VALID_PROVENANCE) ?? [];
    if (provenance.length === 0) throw new Invalid("provenance in revision authority cannot be empty");
    const minRevision = has(e, "min-revision") ? positiveInt(e, "min-revision", "in revision authority") : 1;
    const maxRevision = has(e, "max-revision") ? positiveInt(e, "max-revision", "in revision authority") : 0;
    if (maxRevision !== 0 && maxRevision < minRevision) {
      throw new Invalid("optional max-revision cannot be less than min-revision in revision-authority");
    }
    return { accountId, provenance, minRevision, maxRevision };
  });
}

function checkStoreUrl(m: Headers): void {
  const s = optionalString(m, "url");
  if (s === undefined || s === "") return;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Invalid(`"url" header must be a valid URL: ${s}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Invalid(`"url" header scheme must be "https" or "http": ${s}`);
  }
  if (u.host === "") throw new Invalid(`"url" header must have a host: ${s}`);
  if (u.search !== "") throw new Invalid(`"url" header must not have a query: ${s}`);
  if (u.hash !== "") throw new Invalid(`"url" header must not have a fragment: ${s}`);
}

function checkValidationSetSnaps(m: Headers): void {
  const wrong = `"snaps" header must be a list of maps`;
  if (!has(m, "snaps")) throw new Invalid(`"snaps" header is mandatory`);
  const v = m["snaps"];
  if (!Array.isArray(v)) throw new Invalid(wrong);
  const names = new Set<string>();
  const ids = new Map<string, string>();
  for (const e of v as readonly HeaderValue[]) {
    if (!isObject(e)) throw new Invalid(wrong);
    const name = notEmptyString(e, "name", "of snap");
    if (!isValidSnapName(name)) throw new Invalid(`invalid snap name ${q(name)}`);
    const what = `of snap ${q(name)}`;
    const id = matching(e, "id", VALID_SNAP_ID, what);
    const presence = optionalString(e, "presence", what);
    if (presence !== undefined && !["required", "optional", "invalid"].includes(presence)) {
      throw new Invalid(`presence ${what} must be one of required|optional|invalid`);
    }
    const revision = has(e, "revision") ? positiveInt(e, "revision", what) : 0;
    if (revision !== 0 && presence === "invalid") {
      throw new Invalid(`cannot specify revision ${what} at the same time as stating its presence is invalid`);
    }
    if (names.has(name)) throw new Invalid(`cannot list the same snap ${q(name)} multiple times`);
    names.add(name);
    const other = ids.get(id);
    if (other !== undefined) {
      throw new Invalid(
        `cannot specify the same snap id ${q(id)} multiple times, specified for snaps ${q(other)} and ${q(name)}`,
      );
    }
    ids.set(id, name);
  }
}

function checkAccountKey(m: Headers, body: Buffer): void {
  notEmptyString(m, "account-id");
  if (has(m, "name")) matching(m, "name", VALID_ACCOUNT_KEY_NAME);
  const since = dateHeader(m, "since");
  const until = optionalDate(m, "until");
  if (until !== undefined && until < since) throw new Invalid("'until' time cannot be before 'since' time");
  const key = tryDecodePublicKey(body);
  if (typeof key === "string") throw new Invalid(`cannot decode public key: ${key}`);
  if (key.id !== notEmptyString(m, "public-key-sha3-384")) {
    throw new Invalid("public key does not match provided key id");
  }
}

function checkValidationSet(m: Headers, authorityId: string): void {
  const accountId = existsString(m, "account-id");
  if (accountId !== authorityId) {
    throw new Invalid(
      `authority-id and account-id must match, validation-set assertions are expected to be signed by the issuer account: ${q(authorityId)} != ${q(accountId)}`,
    );
  }
  matching(m, "name", VALID_VALIDATION_SET_NAME);
  positiveInt(m, "sequence");
  checkValidationSetSnaps(m);
}

/**
 * Type-specific checks (`assemble*` of snapd) for the types a store serves;
 * other known types get only the generic checks. `body` is the assertion body.
 */
export function checkTypeSpecific(type: string, m: Headers, authorityId: string, body: Buffer): void {
  switch (type) {
    case "account":
      notEmptyString(m, "display-name");
      notEmptyString(m, "validation");
      optionalString(m, "username");
      return;
    case "account-key":
      checkAccountKey(m, body);
      return;
    case "snap-declaration":
      existsString(m, "snap-name");
      notEmptyString(m, "publisher-id");
      optionalStringList(m, "refresh-control");
      optionalMap(m, "plugs");
      optionalMap(m, "slots");
      revisionAuthorities(m);
      return;
    case "snap-revision":
      digestHeader(m, "snap-sha3-384");
      matching(m, "provenance", VALID_PROVENANCE);
      notEmptyString(m, "snap-id");
      uint64Header(m, "snap-size");
      positiveInt(m, "snap-revision");
      notEmptyString(m, "developer-id");
      return;
    case "snap-resource-revision":
      if (!isValidSnapName(notEmptyString(m, "resource-name"))) throw new Invalid(`invalid resource name`);
      digestHeader(m, "resource-sha3-384");
      matching(m, "provenance", VALID_PROVENANCE);
      uint64Header(m, "resource-size");
      positiveInt(m, "resource-revision");
      notEmptyString(m, "developer-id");
      return;
    case "snap-resource-pair":
      if (!isValidSnapName(notEmptyString(m, "resource-name"))) throw new Invalid(`invalid resource name`);
      matching(m, "provenance", VALID_PROVENANCE);
      positiveInt(m, "resource-revision");
      positiveInt(m, "snap-revision");
      notEmptyString(m, "developer-id");
      return;
    case "store":
      notEmptyString(m, "operator-id");
      checkStoreUrl(m);
      optionalStringList(m, "friendly-stores");
      optionalString(m, "location");
      return;
    case "serial": {
      const encoded = notEmptyString(m, "device-key");
      const id = digestHeader(m, "device-key-sha3-384");
      const key = tryDecodePublicKey(encoded);
      if (typeof key === "string") throw new Invalid(`cannot decode device key: ${key}`);
      if (key.id !== id) throw new Invalid("device key does not match provided key id");
      return;
    }
    case "validation-set":
      checkValidationSet(m, authorityId);
      return;
    default:
      return;
  }
}
