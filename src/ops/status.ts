/**
 * status: what is served and what the store holds, at a glance, with the
 * problems a cheap look finds (stat, not hash: `verify` is the deep check).
 * Read-only, no lock.
 */

import { readFile, stat } from "node:fs/promises";
import { CANONICAL_ROOT_KEY_ID } from "../assertions/canonical.js";
import { decodeStream, headerString } from "../assertions/parse.js";
import { blobPath } from "../blobs/store.js";
import { buildCatalogue } from "../catalogue/build-catalogue.js";
import { revisionBlobs } from "../catalogue/resources.js";
import type { Records } from "../model/records.js";
import { storeLockState } from "../store/change.js";
import { assertionObjectPath, type StoreLayout } from "../store/layout.js";
import {
  DEFAULT_BASE_URL,
  generationNumbers,
  readCurrentGeneration,
  readRecords,
  readSettings,
} from "../store/state.js";
import { fsErrorReason } from "../util/fs.js";
import { describeHolder } from "../util/lock.js";
import { readAuditLog } from "./audit-log.js";
import { deviceProblems } from "./device-problems.js";
import { type Downloads, readDownloads } from "./downloads.js";
import { diskUse, readGeneration } from "./files.js";
import { DEFAULT_KEEP_GENERATIONS } from "./gc.js";
import { readRollback } from "./rollback-state.js";

export interface TrustedRoot {
  /** Account id the root speaks for. */
  readonly account: string;
  /** Root account-key ids (public-key-sha3-384). */
  readonly keys: readonly string[];
  readonly builtIn: boolean;
}

export interface StoreStatus {
  readonly dir: string;
  /** Generation in service, if anything was built. */
  readonly generation?: number;
  /** Base URL the tree in service was rendered for. */
  readonly baseUrl?: string;
  /** Base URL the next build uses. */
  readonly configuredBaseUrl: string;
  readonly counts: {
    readonly snaps: number;
    readonly revisions: number;
    readonly releases: number;
    readonly overrides: number;
    readonly assertions: number;
    readonly generations: number;
  };
  /** Bytes. */
  readonly disk: { readonly blobs: number; readonly trees: number; readonly state: number; readonly total: number };
  readonly trustedRoots: readonly TrustedRoot[];
  readonly lastImport?: { readonly time: string; readonly user: string };
  readonly lastChange?: { readonly time: string; readonly user: string; readonly op: string };
  readonly retention: { readonly keepRevisions?: number; readonly onImport: boolean; readonly keepGenerations: number };
  /** Records changed since the tree in service was built. */
  readonly buildPending: boolean;
  /** On a replica made by `snapshelf sync`: the source store (a replica holds no records of its own). */
  readonly replicaOf?: string;
  /** The generation in service was put back by rollback (see ops/rollback-state.ts). */
  readonly rolledBack?: { readonly from: number; readonly recordsChanged: boolean };
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  /** Downloads served by the running `serve` processes since they started. */
  readonly downloads: Downloads;
}

async function rootsOf(layout: StoreLayout, records: Records, problems: string[]): Promise<TrustedRoot[]> {
  const byAccount = new Map<string, string[]>();
  for (const o of records.roots) {
    const p = assertionObjectPath(layout, o);
    try {
      for (const a of decodeStream(await readFile(p), p)) {
        const account = a.type === "account" ? a.primaryKey[0] : headerString(a, "account-id");
        if (account === undefined) continue;
        const keys = byAccount.get(account) ?? [];
        if (a.type === "account-key" && a.primaryKey[0] !== undefined) keys.push(a.primaryKey[0]);
        byAccount.set(account, keys);
      }
    } catch (err) {
      problems.push(`trusted root ${p}: ${fsErrorReason(err)}`);
    }
  }
  return [
    { account: "canonical", keys: [CANONICAL_ROOT_KEY_ID], builtIn: true },
    ...[...byAccount.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([account, keys]) => ({ account, keys: [...new Set(keys)].sort(), builtIn: false })),
  ];
}

/** The store lock as the next change would find it: held (that change fails or waits), or free. */
async function lockNote(layout: StoreLayout): Promise<string | undefined> {
  const lock = await storeLockState(layout);
  if (lock.held) return `store is busy: ${describeHolder(lock.holder)} (the next change fails, or waits with --wait)`;
  if (lock.left === undefined) return undefined;
  return `an interrupted change left ${layout.lock} (${describeHolder(lock.left)}); the lock is free, the next change proceeds`;
}

/** The generation in service: its base URL, whether the records changed since it was built, the blobs to check. */
async function servedState(
  layout: StoreLayout,
  records: Records,
  current: number | undefined,
): Promise<{
  baseUrl?: string;
  buildPending: boolean;
  blobsToCheck: Map<string, { size: number; who: string }>;
  problems: string[];
}> {
  const problems: string[] = [];
  let baseUrl: string | undefined;
  let buildPending = records.revisions.length > 0;
  const blobsToCheck = new Map<string, { size: number; who: string }>();
  for (const r of records.revisions) {
    blobsToCheck.set(r.sha3_384, { size: r.size, who: `${r.name} revision ${r.revision}` });
  }
  if (current === undefined) {
    if (records.revisions.length > 0) problems.push("nothing in service: run snapshelf build");
  } else {
    try {
      const g = await readGeneration(layout, current);
      baseUrl = g.meta.baseUrl;
      buildPending = JSON.stringify(buildCatalogue(records)) !== JSON.stringify(g.catalogue);
      for (const s of g.catalogue.snaps) {
        for (const r of s.revisions) {
          for (const b of revisionBlobs(r))
            blobsToCheck.set(b.sha3_384, { size: b.size, who: `${s.name} revision ${r.revision} (served)` });
        }
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { ...(baseUrl === undefined ? {} : { baseUrl }), buildPending, blobsToCheck, problems };
}

/** Blobs missing or of another size, and assertion objects missing (a stat each, no hashing). */
async function missingObjects(
  layout: StoreLayout,
  records: Records,
  blobsToCheck: ReadonlyMap<string, { size: number; who: string }>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [hex, want] of blobsToCheck) {
    const p = blobPath(layout.blobs, hex);
    const st = await stat(p).catch(() => undefined);
    if (!st) problems.push(`blob of ${want.who} missing: ${p}`);
    else if (st.size !== want.size) problems.push(`blob of ${want.who} has size ${st.size}, not ${want.size}: ${p}`);
  }
  for (const o of [...records.roots, ...records.assertions.map((a) => a.object)]) {
    const p = assertionObjectPath(layout, o);
    if (!(await stat(p).catch(() => undefined))) problems.push(`assertion object missing: ${p}`);
  }
  return problems;
}

export async function storeStatus(layout: StoreLayout): Promise<StoreStatus> {
  const problems: string[] = [];
  const notes: string[] = [];
  const settings = await readSettings(layout);
  const records = await readRecords(layout);

  const current = readCurrentGeneration(layout);
  const gens = await generationNumbers(layout);
  const served = await servedState(layout, records, current);
  problems.push(...served.problems);
  const baseUrl = served.baseUrl;
  // a replica serves what its source built: it has no records, so nothing is ever pending here
  const buildPending = settings.replicaOf !== undefined ? false : served.buildPending;
  const rb = await readRollback(layout);
  if (rb !== undefined) {
    notes.push(
      rb.recordsChanged
        ? `rolled back from generation ${rb.from}; the records changed since: the next build publishes them`
        : `rolled back from generation ${rb.from}; the records are still those generation ${rb.from} was built from: build refuses to publish them again until they change (remove, override, release) or --force`,
    );
  } else if (buildPending && current !== undefined) {
    notes.push("records changed since the last build: run snapshelf build");
  }
  problems.push(...(await missingObjects(layout, records, served.blobsToCheck)));
  const trustedRoots = await rootsOf(layout, records, problems);
  problems.push(...deviceProblems(records));

  const audit = await readAuditLog(layout);
  for (const b of audit.bad) problems.push(`audit log ${layout.audit}: ${b}`);
  const lastImport = audit.entries.filter((e) => e.op === "import").at(-1);
  const lastChange = audit.entries.at(-1);
  const lock = await lockNote(layout);
  if (lock) notes.push(lock);

  const [blobs, trees, state] = await Promise.all([
    diskUse(layout.blobs),
    diskUse(layout.trees),
    diskUse(layout.state),
  ]);
  return {
    dir: layout.root,
    ...(current !== undefined ? { generation: current } : {}),
    ...(baseUrl !== undefined ? { baseUrl } : {}),
    configuredBaseUrl: settings.baseUrl ?? DEFAULT_BASE_URL,
    counts: {
      snaps: new Set(records.revisions.map((r) => r.name)).size,
      revisions: records.revisions.length,
      releases: records.releases.length,
      overrides: (records.overrides ?? []).length,
      assertions: records.assertions.length,
      generations: gens.length,
    },
    disk: { blobs, trees, state, total: blobs + trees + state },
    trustedRoots,
    ...(lastImport ? { lastImport: { time: lastImport.time, user: lastImport.user } } : {}),
    ...(lastChange ? { lastChange: { time: lastChange.time, user: lastChange.user, op: lastChange.op } } : {}),
    retention: {
      ...(settings.keepRevisions !== undefined ? { keepRevisions: settings.keepRevisions } : {}),
      onImport: settings.retainOnImport === true,
      keepGenerations: settings.keepGenerations ?? DEFAULT_KEEP_GENERATIONS,
    },
    ...(settings.replicaOf !== undefined ? { replicaOf: settings.replicaOf } : {}),
    buildPending,
    ...(rb !== undefined ? { rolledBack: { from: rb.from, recordsChanged: rb.recordsChanged } } : {}),
    problems,
    notes,
    downloads: await readDownloads(layout, records),
  };
}
