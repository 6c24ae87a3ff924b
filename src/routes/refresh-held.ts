/**
 * `held` in a snap action request's context entries (store-protocol.md §4.1): snapd >= 2.61
 * sends `"held": {"by": [...]}` for an installed snap whose refreshes are held, naming the
 * snaps holding it or `system` (store API version 55 and later; snapd leaves it out for a store
 * that announced a lower `Snap-Store-Version`). It tells the store why a device keeps a revision;
 * it does not change which revision is the answer, so snapshelf checks its shape and answers as
 * without it. Pure.
 */

/** Why `held` is malformed, or undefined when it is absent, null or `{"by": [strings]}`. */
export function heldError(held: unknown): string | undefined {
  if (held === undefined || held === null) return undefined;
  const shape = `"held" must be {"by": [snap names]}`;
  if (typeof held !== "object" || Array.isArray(held)) return shape;
  const by = (held as { by?: unknown }).by;
  if (by === undefined || by === null) return undefined;
  if (!Array.isArray(by) || !by.every((n) => typeof n === "string")) return shape;
  return undefined;
}
