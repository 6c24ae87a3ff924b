/**
 * The real store's recorded answers (test/golden/files/real-store/recorded) and a comparison of
 * shapes: which keys an answer has, in which order, and which values are null. Used to keep the
 * upstream double and snapshelf's own answers in the real store's shape.
 */
import { readFile } from "node:fs/promises";
import { isObject } from "../../src/util/json-shape.js";
import { goldenPath } from "./golden.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export async function recorded(name: "info-hello-world" | "find-hello-world" | "refresh-go"): Promise<JsonObject> {
  return JSON.parse(await readFile(goldenPath(`real-store/recorded/${name}.json`), "utf8")) as JsonObject;
}

export { isObject };

/** Objects whose keys are data (a link kind, a currency), not a shape. */
const MAP_KEYS = new Set(["links", "prices"]);

/** The keys of every object at `path` (list indices as `[]`) over some answers, in first-seen order. */
export function keysAt(answers: readonly Json[], path: string): string[] {
  const out: string[] = [];
  const visit = (v: Json | undefined, p: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, `${p}[]`);
      return;
    }
    if (!isObject(v)) return;
    if (p === path) for (const k of Object.keys(v)) if (!out.includes(k)) out.push(k);
    const last = p.split(".").pop() ?? "";
    if (MAP_KEYS.has(last)) return;
    for (const [k, x] of Object.entries(v)) visit(x, p === "" ? k : `${p}.${k}`);
  };
  for (const a of answers) visit(a, "");
  return out;
}

/**
 * Where `got` differs in shape from the union of `want` answers, one line each: keys the real store
 * sends that `got` lacks (`missing`), keys it never sends (`extra`), keys out of the store's
 * (alphabetical) order, values of another JSON type (null is the store's "no value" and matches
 * any type). Only object paths that occur in `got` are compared.
 */
export function shapeProblems(
  want: readonly Json[],
  got: Json,
  /** Keys the store sends only when `fields` asks for them, which the recorded request did not (or did). */
  optional: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const paths = new Set<string>();
  const types = new Map<string, Set<string>>();
  const typeOf = (v: Json): string => (v === null ? "null" : Array.isArray(v) ? "list" : typeof v);
  const collect = (v: Json, p: string, into: (p: string, v: Json) => void): void => {
    into(p, v);
    if (Array.isArray(v)) for (const x of v) collect(x, `${p}[]`, into);
    else if (isObject(v)) {
      const last = p.split(".").pop() ?? "";
      if (MAP_KEYS.has(last)) return;
      for (const [k, x] of Object.entries(v)) collect(x, p === "" ? k : `${p}.${k}`, into);
    }
  };
  for (const w of want) {
    collect(w, "", (p, v) => {
      const t = types.get(p) ?? new Set<string>();
      t.add(typeOf(v));
      types.set(p, t);
    });
  }
  collect(got, "", (p, v) => {
    if (isObject(v) && !MAP_KEYS.has(p.split(".").pop() ?? "")) paths.add(p);
    const wantTypes = types.get(p);
    const t = typeOf(v);
    if (wantTypes !== undefined && t !== "null" && !wantTypes.has("null") && !wantTypes.has(t)) {
      problems.push(`${p || "(top)"}: ${t}, the real store sends ${[...wantTypes].join("/")}`);
    }
  });
  for (const p of [...paths].sort()) {
    const wantKeys = keysAt(want, p);
    if (wantKeys.length === 0) continue;
    const gotKeys = keysAt([got], p);
    const missing = wantKeys.filter((k) => !gotKeys.includes(k) && !optional.includes(k));
    const extra = gotKeys.filter((k) => !wantKeys.includes(k) && !optional.includes(k));
    if (missing.length > 0) problems.push(`${p || "(top)"}: missing ${missing.join(", ")}`);
    if (extra.length > 0) problems.push(`${p || "(top)"}: extra ${extra.join(", ")}`);
    const sorted = [...gotKeys].sort();
    if (gotKeys.join(",") !== sorted.join(",")) problems.push(`${p || "(top)"}: keys not in alphabetical order`);
  }
  return problems;
}

/** Every leaf of an answer: `path -> value` (lists by index). */
export function leaves(v: Json, p = "", out = new Map<string, Json>()): Map<string, Json> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(p, []);
    for (const [i, x] of v.entries()) leaves(x, `${p}[${i}]`, out);
  } else if (isObject(v)) {
    if (Object.keys(v).length === 0) out.set(p, {});
    for (const [k, x] of Object.entries(v)) leaves(x, p === "" ? k : `${p}.${k}`, out);
  } else out.set(p, v);
  return out;
}
