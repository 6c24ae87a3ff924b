/**
 * What the routes keep for one loaded generation (the refresh answer cache,
 * rendered `snap` objects, the search index): created where serve loads a
 * generation, handed to the handlers in their `DynamicEnv`, and freed with
 * the generation, not kept in module scope. Each module declares its own
 * part as a `StateKey` with the function that creates it on first use, so
 * this file knows none of them. Pure.
 */
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";

/** One module's part of a generation's state, created from the generation's index on first use. */
export class StateKey<T> {
  constructor(readonly create: (index: CatalogueIndex) => T) {}
}

export class GenerationState {
  private readonly parts = new Map<StateKey<unknown>, unknown>();
  constructor(readonly index: CatalogueIndex) {}

  /** The part `key` names (created now if this generation has none yet). */
  get<T>(key: StateKey<T>): T {
    let part = this.parts.get(key) as T | undefined;
    if (part === undefined) {
      part = key.create(this.index);
      this.parts.set(key, part);
    }
    return part;
  }

  /** The part `key` names, if it was created. */
  peek<T>(key: StateKey<T>): T | undefined {
    return this.parts.get(key) as T | undefined;
  }
}
