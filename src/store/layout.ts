/**
 * Where things live in a store directory. Everything the store is sits in
 * one directory, so copying it moves the store; only `blobs/` and the
 * current tree under `trees/` are ever served.
 *
 *   snapshelf.json         store settings (base URL, format)
 *   state/records.json     the imported state's index (global records, a part per snap): the commit point
 *   state/parts/           each snap's records, content-addressed by SHA3-384 of their bytes
 *   state/assertions/      assertion objects, content-addressed by SHA3-384 of their bytes
 *   state/tmp/             staging for an import or build in progress (removed after)
 *   state/lock             who holds the change lock (the lock is a socket: src/util/lock.ts)
 *   state/audit.jsonl      append-only audit log
 *   state/downloads/       serve's download counts, a file per process (the only place serve writes)
 *   blobs/<sha3hex>.snap   snap blobs, content-addressed (served at /blobs/)
 *   trees/<generation>/    built trees (JSON responses, assertion files)
 *   current                the generation in service (a plain file, so the tree copies anywhere)
 */
import { join } from "node:path";

export interface StoreLayout {
  readonly root: string;
  readonly settings: string;
  readonly state: string;
  readonly records: string;
  readonly parts: string;
  readonly assertions: string;
  readonly tmp: string;
  readonly lock: string;
  readonly audit: string;
  /** serve's download counts, one file per process: the one place serve writes (install-service's units allow it). */
  readonly downloads: string;
  readonly blobs: string;
  readonly trees: string;
  readonly current: string;
}

export function storeLayout(root: string): StoreLayout {
  const state = join(root, "state");
  return {
    root,
    settings: join(root, "snapshelf.json"),
    state,
    records: join(state, "records.json"),
    parts: join(state, "parts"),
    assertions: join(state, "assertions"),
    tmp: join(state, "tmp"),
    lock: join(state, "lock"),
    audit: join(state, "audit.jsonl"),
    downloads: join(state, "downloads"),
    blobs: join(root, "blobs"),
    trees: join(root, "trees"),
    current: join(root, "current"),
  };
}

export function assertionObjectPath(layout: StoreLayout, object: string): string {
  return join(layout.assertions, object.slice(0, 2), object + ".assert");
}

export function treePath(layout: StoreLayout, generation: number): string {
  return join(layout.trees, String(generation));
}
