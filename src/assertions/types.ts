/**
 * The table of assertion types snapd knows (assertions.md §3): primary keys,
 * optional primary keys with their defaults, sequence forming, and the
 * highest format a snapd 2.57.6 client accepts. Pure data, no I/O.
 */

/** One assertion type. */
export interface AssertionTypeInfo {
  readonly name: string;
  /** Primary-key header names, in order. */
  readonly primaryKey: readonly string[];
  /**
   * Optional primary-key headers (always a suffix of `primaryKey`) and their
   * defaults. A missing optional header takes its default; a value equal to
   * the default is left out of reduced keys and URL paths.
   */
  readonly optionalDefaults: Readonly<Record<string, string>>;
  /** The last primary-key header (`sequence`) numbers a sequence; the rest is the sequence key. */
  readonly sequenceForming: boolean;
  /**
   * Highest `format` snapd 2.57.6 accepts (what it sends as `max-format`).
   * For types 2.57.6 does not know (`inSnapd2576: false`), the HEAD value.
   */
  readonly maxFormat: number;
  /** Whether snapd 2.57.6 knows the type at all (resources, registry and confdb are newer). */
  readonly inSnapd2576: boolean;
  /** Request types signed by the device/requester itself: no `authority-id`, never served. */
  readonly noAuthority: boolean;
  /** Has a mandatory RFC 3339 `timestamp` header (checked against the signing key's validity, §9 step 6). */
  readonly timestamped: boolean;
}

/** Default of the optional `provenance` primary key. */
export const DEFAULT_PROVENANCE = "global-upload";

const NO_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({});
const PROVENANCE_DEFAULT: Readonly<Record<string, string>> = Object.freeze({ provenance: DEFAULT_PROVENANCE });

interface TypeSpec {
  readonly pk: readonly string[];
  readonly optional?: Readonly<Record<string, string>>;
  readonly seq?: boolean;
  readonly max?: number;
  readonly head?: boolean;
  readonly noAuthority?: boolean;
  readonly timestamped?: boolean;
}

// asserts/asserts.go@2.57.6 (type registry, maxSupportedFormat) plus the newer types. snapd 2.68.3
// accepts higher formats of three 2.57.6 types (snap-declaration 6, account-key 1, system-user 2:
// its maxSupportedFormat); the routes serve any format a request's max-format allows, so only
// 2.57.6's values, what export asks the upstream store for, are kept here.
// 2.68.3 renamed `registry` to `confdb` and added `confdb-control` (signed by the device, never
// served by a store); `registry` stays for assertions fetched from a store of that time.
const SPECS: Readonly<Record<string, TypeSpec>> = {
  account: { pk: ["account-id"], timestamped: true },
  "account-key": { pk: ["public-key-sha3-384"] },
  "base-declaration": { pk: ["series"], timestamped: true },
  model: { pk: ["series", "brand-id", "model"], timestamped: true },
  preseed: { pk: ["series", "brand-id", "model", "system-label"], timestamped: true },
  repair: { pk: ["brand-id", "repair-id"], seq: true, timestamped: true },
  serial: { pk: ["brand-id", "model", "serial"], timestamped: true },
  "snap-build": { pk: ["snap-sha3-384"], timestamped: true },
  "snap-declaration": { pk: ["series", "snap-id"], max: 5, timestamped: true },
  "snap-developer": { pk: ["snap-id", "publisher-id"] },
  "snap-revision": { pk: ["snap-sha3-384", "provenance"], optional: PROVENANCE_DEFAULT, timestamped: true },
  store: { pk: ["store"], timestamped: true },
  "system-user": { pk: ["brand-id", "email"], max: 1 },
  validation: { pk: ["series", "snap-id", "approved-snap-id", "approved-snap-revision"], timestamped: true },
  "validation-set": { pk: ["series", "account-id", "name", "sequence"], seq: true, timestamped: true },
  "snap-resource-revision": {
    pk: ["snap-id", "resource-name", "resource-sha3-384", "provenance"],
    optional: PROVENANCE_DEFAULT,
    head: true,
    timestamped: true,
  },
  "snap-resource-pair": {
    pk: ["snap-id", "resource-name", "resource-revision", "snap-revision", "provenance"],
    optional: PROVENANCE_DEFAULT,
    head: true,
    timestamped: true,
  },
  registry: { pk: ["account-id", "name"], head: true, timestamped: true },
  confdb: { pk: ["account-id", "name"], head: true, timestamped: true },
  "confdb-control": { pk: ["brand-id", "model", "serial"], head: true, noAuthority: true },
  "account-key-request": { pk: ["public-key-sha3-384"], noAuthority: true },
  "device-session-request": { pk: ["brand-id", "model", "serial"], noAuthority: true, timestamped: true },
  "serial-request": { pk: [], noAuthority: true },
};

/** Every known assertion type by name (sorted by name). */
export const ASSERTION_TYPES: ReadonlyMap<string, AssertionTypeInfo> = new Map(
  Object.keys(SPECS)
    .sort()
    .map((name): [string, AssertionTypeInfo] => {
      const s = SPECS[name]!;
      const info: AssertionTypeInfo = Object.freeze({
        name,
        primaryKey: Object.freeze([...s.pk]),
        optionalDefaults: s.optional ?? NO_DEFAULTS,
        sequenceForming: s.seq ?? false,
        maxFormat: s.max ?? 0,
        inSnapd2576: !(s.head ?? false),
        noAuthority: s.noAuthority ?? false,
        timestamped: s.timestamped ?? false,
      });
      return [name, info];
    }),
);

/** Whether `t` is an assertion type name this module understands. */
export function isKnownType(t: string): boolean {
  return ASSERTION_TYPES.has(t);
}

/** The type's description, or `undefined` for an unknown type. */
export function assertionType(t: string): AssertionTypeInfo | undefined {
  return ASSERTION_TYPES.get(t);
}

function requireType(t: string): AssertionTypeInfo {
  const info = ASSERTION_TYPES.get(t);
  if (info === undefined) throw new TypeError(`unknown assertion type ${JSON.stringify(t)}`);
  return info;
}

/**
 * Drops trailing optional primary-key values equal to their default
 * (`[digest, "global-upload"]` → `[digest]`), as the store's URL paths do.
 * `fullPk` must have one value per primary-key header.
 */
export function reducePrimaryKey(type: string, fullPk: readonly string[]): string[] {
  const info = requireType(type);
  if (fullPk.length !== info.primaryKey.length) {
    throw new TypeError(`primary key has wrong length for ${JSON.stringify(type)} assertion`);
  }
  let n = fullPk.length;
  while (n > 0) {
    const name = info.primaryKey[n - 1]!;
    const defl = info.optionalDefaults[name];
    if (defl === undefined || fullPk[n - 1] !== defl) break;
    n--;
  }
  return fullPk.slice(0, n);
}

/**
 * Completes a possibly reduced primary key (e.g. from a request path) with the
 * defaults of the missing trailing optional headers; `undefined` for an
 * unknown type or an unacceptable length.
 */
export function fullPrimaryKey(type: string, key: readonly string[]): string[] | undefined {
  const info = ASSERTION_TYPES.get(type);
  if (info === undefined) return undefined;
  const names = info.primaryKey;
  const nOptional = Object.keys(info.optionalDefaults).length;
  if (key.length > names.length || key.length < names.length - nOptional) return undefined;
  const full = [...key];
  for (let i = key.length; i < names.length; i++) full.push(info.optionalDefaults[names[i]!]!);
  return full;
}

/**
 * The assertion's path under `v2/assertions/`: type, then the reduced primary
 * key, joined by `/` (`snap-revision/<digest>`, `validation-set/16/acc/name/3`).
 */
export function assertionPath(type: string, fullPk: readonly string[]): string {
  return [type, ...reducePrimaryKey(type, fullPk)].join("/");
}

/**
 * The sequence key of a sequence-forming type (the primary key without its
 * last, `sequence`, value). Throws for other types.
 */
export function sequenceKey(type: string, fullPk: readonly string[]): string[] {
  const info = requireType(type);
  if (!info.sequenceForming) throw new TypeError(`${JSON.stringify(type)} assertions do not form sequences`);
  if (fullPk.length !== info.primaryKey.length) {
    throw new TypeError(`primary key has wrong length for ${JSON.stringify(type)} assertion`);
  }
  return fullPk.slice(0, -1);
}

/** One key per assertion (type + primary key): primary-key values never contain "/", so it is unambiguous. */
export function refKey(type: string, primaryKey: readonly string[]): string {
  return `${type}/${primaryKey.join("/")}`;
}

/**
 * The newest revision of each (type, primary key) among `items`, by `refKey`; added to
 * `into` when given (an existing entry is replaced only by a higher revision).
 */
export function newestByKey<
  T extends { readonly type: string; readonly primaryKey: readonly string[]; readonly revision: number },
>(items: Iterable<T>, into: Map<string, T> = new Map()): Map<string, T> {
  for (const a of items) {
    const k = refKey(a.type, a.primaryKey);
    const prev = into.get(k);
    if (!prev || prev.revision < a.revision) into.set(k, a);
  }
  return into;
}

/** A header value: strings are the only scalars; lists and maps nest arbitrarily (§2.2). */
export type HeaderValue = string | readonly HeaderValue[] | { readonly [k: string]: HeaderValue };

/** One parsed assertion. Immutable. */
export interface Assertion {
  readonly type: string;
  /**
   * All headers as parsed (prototype-less, frozen). Optional primary-key
   * headers that were left out carry their default (`provenance:
   * global-upload`), as in snapd.
   */
  readonly headers: Readonly<Record<string, HeaderValue>>;
  /** The body (`body-length` bytes; empty when there is none). */
  readonly body: Buffer;
  /** The signed bytes: headers, plus `"\n\n"` and the body if there is one (§2.1). */
  readonly content: Buffer;
  /** The base64-decoded signature block, starting with snapd's format byte 0x01 (§2.6). */
  readonly signature: Buffer;
  /** Exact bytes of this one assertion, ending with exactly one `"\n"`. */
  readonly raw: Buffer;
  /** Full primary key, in the type's order, defaults filled in. */
  readonly primaryKey: readonly string[];
  readonly revision: number;
  readonly format: number;
  /** `authority-id`; empty for the no-authority request types. */
  readonly authorityId: string;
  /** `sign-key-sha3-384`: id of the key that signed this assertion. */
  readonly signKeyId: string;
}
