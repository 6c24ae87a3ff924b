/**
 * What a rollback leaves behind: `current` names an older generation, but the
 * records still hold what the newer one was built from. The next `build` would
 * publish that again, silently undoing the rollback. So rollback records where
 * it went (state/rolled-back.json, with a digest of the records index at that
 * moment); `status` reports it, and `build` refuses until the records change
 * (the operator removed, overrode or released something) or --force.
 * A build, a switch or a rollback to the newest generation ends the state.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { StoreLayout } from "../store/layout.js";
import { readCurrentGeneration } from "../store/state.js";
import { SnapshelfError } from "../util/errors.js";
import { errnoCode, unlinkQuiet, writeJsonAtomic } from "../util/fs.js";

export interface RolledBack {
  readonly from: number;
  readonly to: number;
  /** SHA3-384 of state/records.json when the rollback happened ("" when there was none). */
  readonly records: string;
  readonly time: string;
}

function markerPath(layout: StoreLayout): string {
  return join(layout.state, "rolled-back.json");
}

async function recordsDigest(layout: StoreLayout): Promise<string> {
  try {
    return createHash("sha3-384")
      .update(await readFile(layout.records))
      .digest("hex");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return "";
    throw err;
  }
}

/** Called by rollback (holding the lock): remember the state, or end it when back at the newest generation. */
export async function noteRollback(
  layout: StoreLayout,
  from: number | undefined,
  to: number,
  newest: number,
  now = new Date(),
): Promise<void> {
  if (from === undefined || to >= newest) return clearRollback(layout);
  const marker: RolledBack = { from, to, records: await recordsDigest(layout), time: now.toISOString() };
  await writeJsonAtomic(markerPath(layout), marker);
}

export async function clearRollback(layout: StoreLayout): Promise<void> {
  await unlinkQuiet(markerPath(layout));
}

/** The rollback in effect: its generation still in service. */
export async function readRollback(
  layout: StoreLayout,
): Promise<(RolledBack & { recordsChanged: boolean }) | undefined> {
  let m: RolledBack;
  try {
    m = JSON.parse(await readFile(markerPath(layout), "utf8")) as RolledBack;
  } catch {
    return undefined;
  }
  if (typeof m?.from !== "number" || typeof m.to !== "number" || readCurrentGeneration(layout) !== m.to)
    return undefined;
  return { ...m, recordsChanged: (await recordsDigest(layout)) !== m.records };
}

/** Throws unless a build may go ahead: no rollback in effect, or records changed since, or forced. */
export async function checkBuildAfterRollback(layout: StoreLayout, force: boolean): Promise<RolledBack | undefined> {
  const r = await readRollback(layout);
  if (r === undefined || r.recordsChanged || force) return r;
  throw new SnapshelfError(
    "rolled-back",
    `cannot build: generation ${r.to} is in service by rollback from ${r.from}, and the records are still those generation ${r.from} was built from; change them first (remove, override, release) or build --force to publish them again`,
  );
}
