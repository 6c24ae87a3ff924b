/**
 * What "the store is consistent" and "the store serves a coherent state" mean
 * for the reliability suites (crash consistency, serving during change):
 *
 * - `checkStoreConsistency`: every record names objects that exist with the
 *   right bytes (assertions by their sha3-384, blobs by size and sha3-384),
 *   `current` names a complete tree, and every blob that tree's catalogue
 *   names exists. Orphans and leftovers (temporaries, staging, a dead lock,
 *   `.building-*`) are allowed: `gc` removes them, nothing serves them.
 * - `observeStore`: asks a running store what a device would (installs on
 *   two architectures and two channels, info, the assertions of each
 *   result), fetches every download URL it is given, and returns a
 *   fingerprint of the answers plus every broken URL found.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import type { Records } from "../../src/model/records.js";
import { storeLayout } from "../../src/store/layout.js";
import { readRecords } from "../../src/store/state.js";
import { readTreeCatalogue } from "../../src/store/tree-files.js";
import { snapdHeaders } from "./snapd-request.js";

async function sha3File(path: string): Promise<string> {
  return createHash("sha3-384")
    .update(await readFile(path))
    .digest("hex");
}

/** Problems with the store directory `dir` (empty when consistent). Hashes every blob: keep stores small. */
export async function checkStoreConsistency(dir: string, opts: { hashBlobs?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  let records: Records;
  try {
    // the index and every part it names (a store nothing was committed to yet has no records)
    records = await readRecords(storeLayout(dir));
  } catch (err) {
    return [`records unreadable: ${(err as Error).message}`];
  }
  const objectPath = (o: string): string => join(dir, "state", "assertions", o.slice(0, 2), `${o}.assert`);
  for (const o of [...records.roots, ...records.assertions.map((a) => a.object)]) {
    try {
      const got = await sha3File(objectPath(o));
      if (got !== o) problems.push(`assertion object ${o} has sha3-384 ${got}`);
    } catch {
      problems.push(`assertion object ${o} missing`);
    }
  }
  for (const r of records.revisions) {
    const p = join(dir, "blobs", `${r.sha3_384}.snap`);
    const st = await stat(p).catch(() => undefined);
    if (!st) problems.push(`blob of ${r.name} r${r.revision} missing`);
    else if (st.size !== r.size) problems.push(`blob of ${r.name} r${r.revision} has size ${st.size}, not ${r.size}`);
    else if (opts.hashBlobs !== false && (await sha3File(p)) !== r.sha3_384)
      problems.push(`blob of ${r.name} r${r.revision} has the wrong sha3-384`);
  }
  let current: string | undefined;
  try {
    current = (await readFile(join(dir, "current"), "utf8")).trim();
  } catch {
    current = undefined;
  }
  if (current !== undefined) {
    const tree = join(dir, "trees", current);
    try {
      const cat = readTreeCatalogue(tree, `read generation ${current}`);
      await readFile(join(tree, ".snapshelf-tree.json"), "utf8");
      for (const s of cat.snaps)
        for (const r of s.revisions) {
          const st = await stat(join(dir, "blobs", `${r.sha3_384}.snap`)).catch(() => undefined);
          if (st?.size !== r.size)
            problems.push(`tree ${current} names ${s.name} r${r.revision}, whose blob is missing`);
        }
    } catch (err) {
      problems.push(`current names generation ${current}, which is incomplete: ${(err as Error).message}`);
    }
  }
  const trees = await readdir(join(dir, "trees")).catch(() => [] as string[]);
  if (current === undefined && trees.some((t) => /^[0-9]+$/.test(t)))
    problems.push("trees exist but current names none");
  return problems;
}

interface WireResult {
  result: string;
  name?: string;
  "instance-key"?: string;
  error?: { code: string };
  snap?: {
    name: string;
    "snap-id": string;
    revision: number;
    download: { url: string; "sha3-384": string; size: number };
  };
}

export interface Observation {
  /** One line per question asked: `name@arch/channel -> revision` or `-> error code`. */
  readonly fingerprint: string;
  /** Broken answers: non-200 downloads, wrong bytes, missing assertions, bad statuses. */
  readonly problems: string[];
  /** How many HTTP requests were made. */
  readonly requests: number;
}

/**
 * Asks the store at `url` for `names` on amd64 and arm64 in `channels`,
 * fetches every blob and the snap-revision and snap-declaration of every
 * answer. `fetchBlobs: false` only checks blobs with a one-byte Range request.
 */
export async function observeStore(
  url: string,
  names: readonly string[],
  opts: { channels?: readonly string[]; fetchBlobs?: boolean; timeoutMs?: number } = {},
): Promise<Observation> {
  const lines: string[] = [];
  const problems: string[] = [];
  let requests = 0;
  const timeout = opts.timeoutMs ?? 10_000;
  const get = async (u: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> => {
    requests++;
    const res = await fetch(u, { headers, signal: AbortSignal.timeout(timeout) });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const checked = new Set<string>();
  for (const arch of ["amd64", "arm64"]) {
    for (const channel of opts.channels ?? ["stable", "edge"]) {
      requests++;
      const res = await fetch(`${url}/v2/snaps/refresh`, {
        method: "POST",
        headers: snapdHeaders(arch),
        body: JSON.stringify({
          context: [],
          actions: names.map((name, i) => ({ action: "install", "instance-key": `i${i}`, name, channel })),
          fields: ["download", "revision", "snap-id", "name"],
        }),
        signal: AbortSignal.timeout(timeout),
      });
      const text = await res.text();
      if (res.status !== 200) {
        problems.push(`refresh ${arch}/${channel}: status ${res.status} ${text.slice(0, 200)}`);
        continue;
      }
      const body = JSON.parse(text) as { results: WireResult[] };
      for (const r of body.results) {
        const who = `${r.name ?? r.snap?.name}@${arch}/${channel}`;
        if (!r.snap) {
          lines.push(`${who} -> ${r.error?.code ?? r.result}`);
          continue;
        }
        lines.push(`${who} -> ${r.snap.revision}`);
        const d = r.snap.download;
        if (checked.has(d.url)) continue;
        checked.add(d.url);
        if (opts.fetchBlobs === false) {
          const b = await get(d.url, { range: "bytes=0-0" });
          if (b.status !== 206) problems.push(`${who}: ${d.url} answered ${b.status} to a range request`);
        } else {
          const b = await get(d.url);
          if (b.status !== 200) problems.push(`${who}: ${d.url} answered ${b.status}`);
          else if (b.body.length !== d.size)
            problems.push(`${who}: ${d.url} has ${b.body.length} bytes, not ${d.size}`);
          else if (createHash("sha3-384").update(b.body).digest("hex") !== d["sha3-384"])
            problems.push(`${who}: ${d.url} has the wrong sha3-384`);
        }
        const rev = await get(`${url}/v2/assertions/snap-revision/${digestHexToBase64Url(d["sha3-384"])}`);
        if (rev.status !== 200) problems.push(`${who}: its snap-revision assertion answered ${rev.status}`);
        const decl = await get(`${url}/v2/assertions/snap-declaration/16/${r.snap["snap-id"]}`);
        if (decl.status !== 200) problems.push(`${who}: its snap-declaration answered ${decl.status}`);
        const info = await get(`${url}/v2/snaps/info/${r.snap.name}?architecture=${arch}`, snapdHeaders(arch));
        if (info.status !== 200) problems.push(`${who}: info answered ${info.status}`);
      }
    }
  }
  return { fingerprint: lines.sort().join("\n"), problems, requests };
}
