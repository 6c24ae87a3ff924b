/**
 * Generations: every `build` publishes trees/<N> and switches `current`
 * atomically. `generations` lists them; `rollback` puts another one back in
 * service by rewriting `current` (temp + rename), after checking the tree is
 * whole and every blob it names is still there, so a device is never handed
 * a half tree or a URL that 404s. A running `serve` follows `current` (a
 * stat every second, or SIGHUP at once).
 */

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { blobPath } from "../blobs/store.js";
import { revisionBlobs } from "../catalogue/resources.js";
import { type ChangeOptions, change } from "../store/change.js";
import type { StoreLayout } from "../store/layout.js";
import { generationNumbers, readCurrentGeneration } from "../store/state.js";
import { TREE_META } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { readGeneration } from "./files.js";
import { noteRollback } from "./rollback-state.js";

export interface GenerationSummary {
  readonly generation: number;
  readonly current: boolean;
  /** When the tree was built (modification time of its metadata file, else of its directory). */
  readonly created: string;
  readonly baseUrl?: string;
  readonly snaps?: number;
  readonly revisions?: number;
  readonly assertions?: number;
  /** Why the generation cannot be served, if it cannot. */
  readonly problem?: string;
}

/** Every generation, oldest first. */
export async function listGenerations(layout: StoreLayout): Promise<GenerationSummary[]> {
  const current = readCurrentGeneration(layout);
  const out: GenerationSummary[] = [];
  for (const generation of await generationNumbers(layout)) {
    // the tree metadata is written once by build; the directory's own time moves if anything touches it
    const dir = join(layout.trees, String(generation));
    const st = (await stat(join(dir, TREE_META)).catch(() => undefined)) ?? (await stat(dir));
    const base = { generation, current: generation === current, created: st.mtime.toISOString() };
    try {
      const g = await readGeneration(layout, generation);
      out.push({
        ...base,
        baseUrl: g.meta.baseUrl,
        snaps: g.catalogue.snaps.length,
        revisions: g.catalogue.snaps.reduce((n, s) => n + s.revisions.length, 0),
        assertions: g.catalogue.assertions.length,
      });
    } catch (err) {
      out.push({ ...base, problem: (err as Error).message });
    }
  }
  return out;
}

/** Pure: the generation `rollback` without an argument goes to: the newest one older than `current`. */
export function previousGeneration(generations: readonly number[], current: number | undefined): number | undefined {
  const older = generations.filter((g) => current === undefined || g < current);
  return older.length > 0 ? Math.max(...older) : undefined;
}

/**
 * Throws unless generation N can be served: its catalogue reads and every
 * blob it names is present with the right size.
 */
export async function checkServable(layout: StoreLayout, generation: number, what: string): Promise<void> {
  let g: Awaited<ReturnType<typeof readGeneration>>;
  try {
    g = await readGeneration(layout, generation);
  } catch (err) {
    // "cannot read generation N: FILE: REASON" -> "cannot <what>: FILE: REASON" (no cannot-chains)
    const reason = (err as Error).message.replace(/^cannot read generation \d+: /, "");
    throw new SnapshelfError("tree-corrupt", `cannot ${what}: ${reason}`);
  }
  for (const snap of g.catalogue.snaps) {
    for (const rev of snap.revisions) {
      for (const b of revisionBlobs(rev)) {
        const p = blobPath(layout.blobs, b.sha3_384);
        const st = await stat(p).catch(() => undefined);
        if (!st || st.size !== b.size) {
          throw new SnapshelfError(
            "blob-missing",
            `cannot ${what}: generation ${generation} serves ${snap.name} revision ${rev.revision}, whose blob ${p} is missing or damaged`,
          );
        }
      }
    }
  }
}

export interface RollbackResult {
  readonly from: number | undefined;
  readonly to: number;
}

/** Puts generation `target` (default: the previous one) in service (locked, audited). */
export async function rollback(
  layout: StoreLayout,
  target?: number,
  opts: ChangeOptions = {},
  op = "rollback",
): Promise<RollbackResult> {
  return change(layout, "roll back", opts, async () => {
    const from = readCurrentGeneration(layout);
    const gens = await generationNumbers(layout);
    const to = target ?? previousGeneration(gens, from);
    if (to === undefined) {
      throw new SnapshelfError(
        "not-found",
        from === undefined
          ? "cannot roll back: nothing built yet"
          : `cannot roll back: no generation older than ${from} (see snapshelf generations)`,
      );
    }
    if (!gens.includes(to)) {
      throw new SnapshelfError(
        "not-found",
        `cannot ${op === "switch" ? "switch" : "roll back"} to generation ${to}: no such generation (have ${gens.join(", ") || "none"})`,
      );
    }
    const what = `${op === "switch" ? "switch" : "roll back"} to generation ${to}`;
    await checkServable(layout, to, what);
    if (to !== from) await writeFileAtomic(layout.current, `${to}\n`);
    await noteRollback(layout, from, to, Math.max(...gens));
    return { result: { from, to }, audit: { op, detail: { from: from ?? null, to } } };
  });
}
