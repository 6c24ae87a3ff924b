/**
 * Naming assertions: by store path and in messages.
 */
import type { Assertion } from "./types.js";
import { assertionPath, reducePrimaryKey } from "./types.js";

/** The assertion's path under `v2/assertions/` (type + reduced primary key), e.g. `account/canonical`. */
export function assertionRef(a: Assertion): string {
  return assertionPath(a.type, a.primaryKey);
}

/** How messages name an assertion: `<type> (<reduced primary key joined by "/">)`, e.g. `snap-declaration (16/abc)`. */
export function describeAssertion(a: Assertion): string {
  return `${a.type} (${reducePrimaryKey(a.type, a.primaryKey).join("/")})`;
}
