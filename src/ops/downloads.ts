/**
 * Download counts of the running `serve` processes (src/serve/observe.ts
 * writes one file per process): summed per snap and revision. Counts only,
 * no device identity. Files of processes that are gone are ignored.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Records } from "../model/records.js";
import type { StoreLayout } from "../store/layout.js";
import { processAlive } from "../util/lock.js";

export interface DownloadCount {
  readonly name: string;
  readonly revision: number;
  readonly downloads: number;
}

export interface Downloads {
  /** Serve processes counting (live), and the earliest of their starts. */
  readonly processes: number;
  readonly since?: string;
  /** Per snap and revision, sorted by name then revision. */
  readonly counts: readonly DownloadCount[];
}

export async function readDownloads(layout: StoreLayout, records: Records): Promise<Downloads> {
  const dir = layout.downloads;
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return { processes: 0, counts: [] };
  }
  const byHex = new Map<string, number>();
  let processes = 0;
  let since: string | undefined;
  for (const f of files.sort()) {
    const pid = Number(/^([0-9]+)\.json$/.exec(f)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) continue;
    let v: { started?: unknown; counts?: unknown };
    try {
      v = JSON.parse(await readFile(join(dir, f), "utf8")) as typeof v;
    } catch {
      continue; // gone meanwhile (renames are atomic: never half a file)
    }
    processes++;
    if (typeof v.started === "string" && (since === undefined || v.started < since)) since = v.started;
    if (typeof v.counts !== "object" || v.counts === null) continue;
    for (const [hex, n] of Object.entries(v.counts as Record<string, unknown>)) {
      if (typeof n === "number" && Number.isSafeInteger(n) && n > 0) byHex.set(hex, (byHex.get(hex) ?? 0) + n);
    }
  }
  const counts: DownloadCount[] = [];
  for (const r of records.revisions) {
    const n = byHex.get(r.sha3_384);
    if (n !== undefined) counts.push({ name: r.name, revision: r.revision, downloads: n });
  }
  counts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.revision - b.revision));
  return { processes, ...(since !== undefined ? { since } : {}), counts };
}
