/**
 * Staged publishing (aptly's snapshot / publish / switch): `build --no-switch`
 * makes a generation without serving it, `diff` shows what devices would see
 * change, `switch GEN` puts it in service (the same checked, atomic switch as
 * rollback, audited as a switch).
 */
import { deviceView, diffViews, type ViewChange } from "../catalogue/device-view.js";
import type { StoreLayout } from "../store/layout.js";
import { generationNumbers, readCurrentGeneration } from "../store/state.js";
import { SnapshelfError } from "../util/errors.js";
import { readGeneration } from "./files.js";
import { type RollbackResult, rollback } from "./generations.js";

export function switchGeneration(layout: StoreLayout, generation: number): Promise<RollbackResult> {
  return rollback(layout, generation, {}, "switch");
}

export interface GenerationDiff {
  readonly from: number;
  readonly to: number;
  readonly changes: readonly ViewChange[];
}

/**
 * What devices would see change from generation `a` to `b`. Defaults: `a` is
 * the generation in service, `b` the newest one (a staged build).
 */
export async function diffGenerations(layout: StoreLayout, a?: number, b?: number): Promise<GenerationDiff> {
  const gens = await generationNumbers(layout);
  const current = readCurrentGeneration(layout);
  let from: number | undefined;
  let to: number | undefined;
  if (b !== undefined) [from, to] = [a, b];
  else if (a !== undefined) [from, to] = [current, a];
  else [from, to] = [current, gens.at(-1)];
  if (from === undefined || to === undefined) {
    throw new SnapshelfError("not-found", "cannot diff: nothing built yet (run snapshelf build)");
  }
  for (const g of [from, to]) {
    if (!gens.includes(g)) {
      throw new SnapshelfError(
        "not-found",
        `cannot diff generation ${g}: no such generation (have ${gens.join(", ") || "none"})`,
      );
    }
  }
  const [x, y] = await Promise.all([readGeneration(layout, from), readGeneration(layout, to)]);
  return { from, to, changes: diffViews(deviceView(x.catalogue), deviceView(y.catalogue)) };
}
