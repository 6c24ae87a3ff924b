/**
 * The one commit path of every change to a store: take the store lock, read
 * the records, run the change, write what it decided (the parts, then the
 * records index: the commit point), run what comes after the commit (gc's
 * deletions), append the audit line, clean the staging directory, release the
 * lock. import, release, default-track, override, delete-override, remove,
 * retention, gc, build, rollback and sync all go through here; the lock is
 * src/util/lock.ts.
 */
import { mkdir, rm } from "node:fs/promises";
import type { Records } from "../model/records.js";
import { faultPoint } from "../util/fault.js";
import { acquireLock, lockState } from "../util/lock.js";
import type { StoreLayout } from "./layout.js";
import {
  type AuditEntry,
  appendAudit,
  readRecords,
  refuseReplica,
  type StoreLockOptions,
  storeLockTarget,
  writeRecords,
} from "./state.js";

export type ChangeOptions = StoreLockOptions;

/** What a change decided; the commit path carries it out in this order. */
export interface Outcome<T> {
  readonly result: T;
  /** The new records (absent: unchanged). Objects they name must be in place already. */
  readonly records?: Records;
  /** Work after the commit point, e.g. deleting what the new records no longer name. */
  readonly afterCommit?: () => Promise<void>;
  /** The audit line (absent: nothing changed worth a line). */
  readonly audit?: AuditEntry;
  /** The audit line's time (default now). */
  readonly at?: Date;
}

/** The store lock's state as the next change would find it (for `status`). */
export function storeLockState(layout: StoreLayout): ReturnType<typeof lockState> {
  return lockState(storeLockTarget(layout));
}

/**
 * Runs the change `fn` (which may stage files and put objects in place, but
 * writes neither records nor the audit log) under the store lock, then
 * commits its outcome. `verb` names it in messages: `cannot <verb>: ...`.
 */
export async function change<T>(
  layout: StoreLayout,
  verb: string,
  opts: ChangeOptions,
  fn: () => Promise<Outcome<T>>,
): Promise<T> {
  await refuseReplica(layout, verb, opts);
  await mkdir(layout.state, { recursive: true });
  const lock = await acquireLock(storeLockTarget(layout), verb, opts);
  try {
    const outcome = await fn();
    const op = outcome.audit?.op ?? "change";
    if (outcome.records !== undefined) {
      faultPoint(`${op}:before-records`);
      await writeRecords(layout, outcome.records);
      faultPoint(`${op}:after-records`);
    }
    await outcome.afterCommit?.();
    if (outcome.audit !== undefined) await appendAudit(layout, outcome.audit, outcome.at);
    return outcome.result;
  } finally {
    try {
      await rm(layout.tmp, { recursive: true, force: true });
    } finally {
      await lock.release();
    }
  }
}

/** `change` for the changes of the records: `fn` gets the records as they are under the lock. */
export function changeRecords<T>(
  layout: StoreLayout,
  verb: string,
  opts: ChangeOptions,
  fn: (records: Records) => Promise<Outcome<T>>,
): Promise<T> {
  return change(layout, verb, opts, async () => {
    const records = await readRecords(layout);
    faultPoint("change:records-read");
    return fn(records);
  });
}
