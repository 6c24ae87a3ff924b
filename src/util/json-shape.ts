/**
 * Checking the shape of parsed JSON we did not write ourselves (bundle.json,
 * upstream store responses) without `any`: each accessor either returns a
 * typed value or throws through `fail`, naming the offending field by its
 * path (`store.publisher.id`, `channel-map[3].revision`).
 */

/** Builds the error for a bad field (`path` is e.g. `channel-map[2].revision`). */
export type ShapeFail = (path: string, reason: string) => Error;

export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Whether `v` is a JSON object (not null, not a list). `V` is what its members are
 * known to be when `v` is parsed JSON typed `unknown` (narrowing a typed union needs none).
 */
export function isObject<V = unknown>(v: unknown): v is Record<string, V> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `parent.key`, or `key` at the top level. */
export function fieldPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** `v` as a JSON object (not null, not a list). */
export function asObject(v: unknown, path: string, fail: ShapeFail): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw fail(path, `expected an object, got ${describe(v)}`);
  return v as JsonObject;
}

/** `v` as a JSON list. */
export function asList(v: unknown, path: string, fail: ShapeFail): readonly unknown[] {
  if (!Array.isArray(v)) throw fail(path, `expected a list, got ${describe(v)}`);
  return v;
}

/** A required object member. */
export function objectField(o: JsonObject, key: string, path: string, fail: ShapeFail): JsonObject {
  return asObject(o[key], fieldPath(path, key), fail);
}

/** A required list member. */
export function listField(o: JsonObject, key: string, path: string, fail: ShapeFail): readonly unknown[] {
  return asList(o[key], fieldPath(path, key), fail);
}

/** A list member that may be absent or null (then empty). */
export function optionalListField(o: JsonObject, key: string, path: string, fail: ShapeFail): readonly unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  return asList(v, fieldPath(path, key), fail);
}

/** A required string member (`""` allowed unless `nonEmpty`). */
export function stringField(
  o: JsonObject,
  key: string,
  path: string,
  fail: ShapeFail,
  opts: { readonly nonEmpty?: boolean; readonly pattern?: RegExp } = {},
): string {
  const v = o[key];
  const p = fieldPath(path, key);
  if (typeof v !== "string") throw fail(p, v === undefined ? "missing" : `expected a string, got ${describe(v)}`);
  if (opts.nonEmpty && v === "") throw fail(p, "empty");
  if (opts.pattern && !opts.pattern.test(v)) throw fail(p, `invalid value ${JSON.stringify(v)}`);
  return v;
}

/** A string member that may be absent or null (then `undefined`). */
export function optionalStringField(o: JsonObject, key: string, path: string, fail: ShapeFail): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw fail(fieldPath(path, key), `expected a string, got ${describe(v)}`);
  return v;
}

/** A required integer member within [min, max]. */
export function intField(
  o: JsonObject,
  key: string,
  path: string,
  fail: ShapeFail,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = o[key];
  const p = fieldPath(path, key);
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw fail(p, v === undefined ? "missing" : `expected an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) throw fail(p, `${v} is out of range ${min}..${max}`);
  return v;
}

/** An integer member that may be absent or null. */
export function optionalIntField(o: JsonObject, key: string, path: string, fail: ShapeFail): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return intField(o, key, path, fail);
}

/** A list of strings. */
export function stringList(v: unknown, path: string, fail: ShapeFail): string[] {
  return asList(v, path, fail).map((x, i) => {
    if (typeof x !== "string") throw fail(`${path}[${i}]`, `expected a string, got ${describe(x)}`);
    return x;
  });
}

/** Parses JSON text; a syntax error goes through `fail` with an empty path. */
export function parseJson(text: string, fail: ShapeFail): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // one line: JSON.parse quotes the input, newlines included
    throw fail("", `invalid JSON: ${(err as Error).message.replace(/\s+/g, " ")}`);
  }
}
