/**
 * Retention: keep the last N revisions per channel and arch key.
 *
 * For every (snap, channel, arch key) release history, the N most recently
 * released distinct revisions are kept; a revision goes when it was released
 * somewhere and no history keeps it. Never released revisions (imported
 * without --release, waiting for a `release`) and revisions an override pins
 * are always kept. Histories are taken per arch key, not merged with `all`,
 * so this never keeps fewer than the merged view would. With N = 1 only the
 * heads stay: an epoch bridge further back in a history goes too, so keep
 * N large enough for the epoch transitions your devices still make.
 *
 * The policy lives in snapshelf.json (`keepRevisions`, `retainOnImport`);
 * `gc` applies it, `gc --keep-revisions N` applies N once.
 */

import type { Records, ReleaseRecord } from "../model/records.js";
import { type ChangeOptions, change } from "../store/change.js";
import type { StoreLayout } from "../store/layout.js";
import { readSettings, type StoreSettings, writeSettings } from "../store/state.js";
import { SnapshelfError } from "../util/errors.js";
import { type Removal, withoutRevisions } from "./remove.js";

const key = (name: string, revision: number) => `${name}\0${revision}`;

/** Validates a retention count: a positive integer (or zero, with `allowZero`). */
export function checkKeep(n: number, what: string, allowZero = false): number {
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new SnapshelfError(
      "invalid-retention",
      `cannot use ${n} ${what}: want a ${allowZero ? "non-negative" : "positive"} integer`,
    );
  }
  return n;
}

/** Pure: the revisions a keep-N policy drops, sorted by name then revision. */
export function selectRetention(records: Records, keep: number): { name: string; revision: number }[] {
  checkKeep(keep, "revisions to keep");
  const present = new Set(records.revisions.map((r) => key(r.name, r.revision)));
  const groups = new Map<string, ReleaseRecord[]>();
  for (const e of records.releases) {
    if (!present.has(key(e.name, e.revision))) continue;
    const g = `${e.name}\0${e.channel}\0${e.arch}`;
    const list = groups.get(g) ?? [];
    list.push(e);
    groups.set(g, list);
  }
  const released = new Set<string>();
  const kept = new Set<string>();
  for (const list of groups.values()) {
    list.sort((a, b) => a.seq - b.seq);
    const distinct: string[] = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      if (e === undefined) continue;
      const k = key(e.name, e.revision);
      released.add(k);
      if (distinct.length < keep && !distinct.includes(k)) distinct.push(k);
    }
    for (const k of distinct) kept.add(k);
  }
  for (const o of records.overrides ?? []) kept.add(key(o.name, o.revision));
  return records.revisions
    .filter((r) => released.has(key(r.name, r.revision)) && !kept.has(key(r.name, r.revision)))
    .map((r) => ({ name: r.name, revision: r.revision }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.revision - b.revision));
}

/** Pure: `records` with a keep-N policy applied. */
export function applyRetention(records: Records, keep: number): Removal {
  return withoutRevisions(records, selectRetention(records, keep));
}

/** The policy as import applies it: only with `retainOnImport` (else `records` unchanged). */
export async function retentionAtImport(
  layout: StoreLayout,
  records: Records,
): Promise<Pick<Removal, "records" | "removed">> {
  const settings = await readSettings(layout);
  if (settings.retainOnImport !== true || settings.keepRevisions === undefined) return { records, removed: [] };
  return applyRetention(records, settings.keepRevisions);
}

/** Pure: the retention settings after `snapshelf retention` (undefined keep = off). */
export function withRetention(settings: StoreSettings, keep: number | undefined, onImport: boolean): StoreSettings {
  const { keepRevisions: _k, retainOnImport: _o, ...rest } = settings;
  if (keep === undefined) return rest;
  return {
    ...rest,
    keepRevisions: checkKeep(keep, "revisions to keep"),
    ...(onImport ? { retainOnImport: true } : {}),
  };
}

/** Stores the retention policy (locked, audited). It takes effect at the next gc (or import, with onImport). */
export async function setRetention(
  layout: StoreLayout,
  keep: number | undefined,
  onImport: boolean,
  opts: ChangeOptions = {},
): Promise<StoreSettings> {
  return change(layout, "set retention", opts, async () => {
    const settings = withRetention(await readSettings(layout), keep, onImport);
    await writeSettings(layout, settings);
    return {
      result: settings,
      audit: {
        op: "retention",
        detail: { keepRevisions: settings.keepRevisions ?? null, onImport: settings.retainOnImport === true },
      },
    };
  });
}
