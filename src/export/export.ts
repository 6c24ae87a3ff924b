/**
 * export: select -> fetch via upstream -> verify -> write bundles.
 *
 * 1. Plan (metadata only): per snap and device architecture, the channel map
 *    (`v2/snaps/info`), the revision each requested channel means there
 *    (following the store: default track, risk fallback; branches asked of
 *    the store), then a `download` action per chosen revision for its URL,
 *    digest and snap.yaml. With `--with-deps`, dependencies join the plan,
 *    transitively; without, each one missing is a warning.
 * 2. Assertions: snap-declaration and snap-revisions with their chain
 *    (accounts, account-keys up to a trusted root), verified with the
 *    importer's `verifyAssertions` before any blob is downloaded.
 * 3. Blobs in parallel (bounded) into `<export-dir>/.partial/`, resumed with
 *    Range, hashed while written, then verified into the export's blob cache
 *    with the importer's own `importBlob`; a blob already in the cache is not
 *    downloaded again. Each blob is then checked with the importer's
 *    `crossCheck` (blob vs snap-revision vs snap-declaration vs snap.yaml).
 * 4. Write one bundle per snap, each temp + rename; only when everything of
 *    the whole export verified, so a failed export writes no bundle at all.
 *
 * `--since MANIFEST` leaves out revisions and assertions the offline store
 * has; the bundle still carries the channel map and metadata.
 */
import { readdir, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { decodeStream, headerString } from "../assertions/parse.js";
import { verifyAssertions } from "../assertions/trust.js";
import type { Assertion } from "../assertions/types.js";
import { reducePrimaryKey, refKey } from "../assertions/types.js";
import { blobPath, digestHexToBase64Url, hashFile, importBlob } from "../blobs/store.js";
import {
  assertionEntryName,
  BUNDLE_SUFFIX,
  type BundleAssertion,
  type BundleChannelEntry,
  type BundleDoc,
  type BundleRevision,
  blobEntryName,
} from "../bundle/format.js";
import { type WriteBundleOptions, type WrittenBundle, writeBundle } from "../bundle/write.js";
import { revisionRunsOn } from "../model/arch.js";
import { compareChannels, fullChannelName, parseChannel, parseFullChannel } from "../model/channel.js";
import type { SnapYamlInfo } from "../model/types.js";
import { readSnapYaml } from "../snapfile/read.js";
import { parseSnapYaml } from "../snapfile/snap-yaml.js";
import { crossCheck, objectId, poolOf } from "../store/cross-check.js";
import { ActionError, type UpstreamClient } from "../upstream/client.js";
import type { UpstreamInfo, UpstreamRevision, UpstreamSnapMeta } from "../upstream/wire.js";
import { SnapshelfError } from "../util/errors.js";
import { ensureDir, unlinkQuiet } from "../util/fs.js";
import { type LockOptions, type LockTarget, withLock } from "../util/lock.js";
import { mapOrdered } from "../util/ordered.js";
import { PortableNames } from "../util/portable-names.js";
import { Progress } from "../util/progress.js";
import { storeBlobDisagreements, toBundleRevision, toStoreMeta } from "./carry.js";
import { checkNamedComponents, type PlannedComponent, planComponents, verifyComponents } from "./components.js";
import { type Dependency, dependenciesOf, describeDependency } from "./deps.js";
import { ManifestIndex, type StoreManifest } from "./manifest.js";
import type { ExportRequest } from "./requests.js";
import { describeReleases, requestedChannel, resolveChannel } from "./select.js";
import type { ExportSigner } from "./signing.js";

export interface ExportOptions extends LockOptions {
  readonly names: readonly string[];
  /** Per-snap requests besides `names` (`--from LIST`, `--since` with no names). */
  readonly requests?: readonly ExportRequest[];
  /** Channels as snapd writes them (default `stable`, in each snap's default track). */
  readonly channels?: readonly string[];
  /** Device architectures (default amd64). */
  readonly arches?: readonly string[];
  readonly exportDir: string;
  readonly withDeps?: boolean;
  /** What the offline store has (`snapshelf manifest`): left out of the bundles. */
  readonly since?: StoreManifest;
  /** Trusted root assertions beyond Canonical's (checked by the caller with `checkTrustedRoots`). */
  readonly roots: readonly Assertion[];
  /** `ACCOUNT/NAME` or `ACCOUNT/NAME=SEQUENCE`: validation sets to export (one assertions bundle each). */
  readonly validationSets?: readonly string[];
  readonly client: UpstreamClient;
  /** Downloads at once (default 4). */
  readonly parallel?: number;
  readonly progress?: Progress;
  readonly now?: () => Date;
  /** Signs every bundle (`--sign-key`; src/export/signing.ts). */
  readonly signer?: ExportSigner;
  /** No file written larger than this (`--max-file-size`): longer bundles are split in parts. */
  readonly maxFileSize?: number;
  /** `--component NAME`: only these components of the exported revisions (default: all of them). */
  readonly components?: readonly string[];
}

export interface ExportedBundle {
  readonly kind: "snap" | "assertions";
  /** Snap name, or `ACCOUNT/NAME` of a validation set. */
  readonly name: string;
  readonly path: string;
  readonly size: number;
  /** Revisions whose blobs the bundle carries. */
  readonly revisions: readonly number[];
  readonly assertions: number;
  readonly channels: number;
  /** Component revisions the bundle carries (`NAME+COMPONENT=REV`). */
  readonly components?: readonly string[];
}

export interface ExportResult {
  readonly bundles: readonly ExportedBundle[];
  readonly warnings: readonly string[];
}

interface PlannedRevision {
  readonly revision: number;
  readonly up: UpstreamRevision;
  /** In the offline store already (--since): not carried. */
  readonly skip: boolean;
  /** snap.yaml facts: from the store's snap-yaml while planning, from the blob once downloaded. */
  info: SnapYamlInfo | undefined;
  /** The verified blob in the cache (once fetched). */
  blob?: string;
}

interface PlannedSnap {
  readonly name: string;
  readonly snapId: string;
  readonly defaultTrack?: string;
  readonly meta: UpstreamSnapMeta;
  readonly channelMap: readonly BundleChannelEntry[];
  readonly revisions: readonly PlannedRevision[];
  /** The snap that pulled it in (`--with-deps`), if not named by the operator. */
  readonly neededBy?: string;
  /** Device architectures it was planned for (its dependencies get the same). */
  readonly arches: readonly string[];
  /** What the export asked for it (recorded by the import, followed by `--since` with no names). */
  readonly exportedWith: { readonly channels: readonly string[]; readonly arches: readonly string[] };
}

/** One snap to plan: what was asked for it. */
interface PlanItem {
  readonly name: string;
  readonly channels: readonly string[];
  readonly arches: readonly string[];
  readonly neededBy?: string;
  readonly revision?: number;
  readonly pushChannel?: string;
}

const SERIES = "16";
const MAX_ROUNDS = 20;
const MAX_CHAIN = 1000;

/** A store's `effective-channel` (`stable/hotfix-1`, `2.x/stable`) as a full name; undefined if unusable. */
function effectiveFull(ch: string): string | undefined {
  try {
    return fullChannelName(parseFullChannel(ch));
  } catch {
    return undefined;
  }
}

/** What to fetch after an assertion: its signing key and its prerequisites (assertions.md §4, §9). */
function refsOf(a: Assertion): [string, string[]][] {
  const h = (name: string): string => headerString(a, name) ?? "";
  const out: [string, string[]][] = [["account-key", [a.signKeyId]]];
  switch (a.type) {
    case "account-key":
    case "validation-set":
      out.push(["account", [h("account-id")]]);
      break;
    case "snap-declaration":
      out.push(["account", [h("publisher-id")]]);
      break;
    case "snap-revision":
    case "snap-resource-revision":
    case "snap-resource-pair":
      out.push(["snap-declaration", [SERIES, h("snap-id")]]);
      out.push(["account", [h("developer-id")]]);
      break;
    case "store":
      out.push(["account", [h("operator-id")]]);
      break;
  }
  return out;
}

/** Fetches assertions with their chains, once each, stopping at trusted roots. */
class ChainFetcher {
  private readonly got = new Map<string, Assertion>();
  private readonly rootRefs: ReadonlySet<string>;

  constructor(
    private readonly client: UpstreamClient,
    roots: readonly Assertion[],
  ) {
    this.rootRefs = new Set(roots.map((a) => refKey(a.type, reducePrimaryKey(a.type, a.primaryKey))));
  }

  all(): Assertion[] {
    return [...this.got.values()];
  }

  /** Adds an assertion fetched another way (e.g. by sequence). */
  add(a: Assertion): void {
    this.got.set(refKey(a.type, reducePrimaryKey(a.type, a.primaryKey)), a);
  }

  private async fetchOne(type: string, key: readonly string[]): Promise<Assertion> {
    const ref = refKey(type, key);
    const cached = this.got.get(ref);
    if (cached !== undefined) return cached;
    const raw = await this.client.assertion(type, key);
    const a = decodeStream(raw, `${this.client.baseUrl}/v2/assertions/${ref}`)[0];
    if (a === undefined) {
      throw new SnapshelfError(
        "upstream-bad-response",
        `cannot export: ${this.client.baseUrl} answered ${ref} with no assertion`,
      );
    }
    const gotRef = refKey(a.type, reducePrimaryKey(a.type, a.primaryKey));
    if (gotRef !== ref) {
      throw new SnapshelfError(
        "upstream-bad-response",
        `cannot export: ${this.client.baseUrl} answered ${ref} with ${gotRef}`,
      );
    }
    this.got.set(ref, a);
    return a;
  }

  /** The closure of `start` (reduced keys), trusted roots left out, in discovery order. */
  async closure(start: readonly [string, readonly string[]][]): Promise<Assertion[]> {
    const out: Assertion[] = [];
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length > 0) {
      const [type, key] = queue.shift()!;
      const ref = refKey(type, key);
      if (seen.has(ref) || this.rootRefs.has(ref)) continue;
      seen.add(ref);
      if (seen.size > MAX_CHAIN)
        throw new SnapshelfError("upstream-bad-response", `cannot export: assertion chain longer than ${MAX_CHAIN}`);
      const a = await this.fetchOne(type, key);
      out.push(a);
      for (const [t, k] of refsOf(a)) queue.push([t, reducePrimaryKey(t, k)]);
    }
    return out;
  }
}

/** The snap.yaml facts of a planned revision from the store's snap-yaml (or its fields when absent). */
function planInfo(name: string, up: UpstreamRevision): SnapYamlInfo | undefined {
  if (up.snapYaml === undefined) return undefined;
  return parseSnapYaml(up.snapYaml, `${name} revision ${up.revision} (as ${up.download.url} describes it)`);
}

function depsOf(name: string, r: PlannedRevision): Dependency[] {
  if (r.info !== undefined) {
    return dependenciesOf({
      name,
      type: r.info.type,
      ...(r.info.base === undefined ? {} : { base: r.info.base }),
      defaultProviders: r.info.defaultProviders,
    });
  }
  return dependenciesOf({
    name,
    type: r.up.type,
    ...(r.up.base === undefined ? {} : { base: r.up.base }),
    defaultProviders: [],
  });
}

function parseValidationSetArg(s: string): { account: string; name: string; sequence?: number } {
  const m = /^([A-Za-z0-9-]+)\/([a-z0-9](?:-?[a-z0-9])*)(?:=([1-9][0-9]*))?$/.exec(s);
  if (m === null) {
    throw new SnapshelfError(
      "invalid-argument",
      `cannot export validation set ${JSON.stringify(s)}: expected ACCOUNT/NAME or ACCOUNT/NAME=SEQUENCE`,
    );
  }
  return { account: m[1]!, name: m[2]!, ...(m[3] === undefined ? {} : { sequence: Number(m[3]) }) };
}

/** An export directory's lock: the store's lock primitive, `<dir>/.lock` saying who holds it. */
function exportLockTarget(dir: string): LockTarget {
  return { dir, holderFile: join(dir, ".lock"), label: `export directory ${dir}`, busyCode: "export-locked" };
}

/** Exports NAMES (and their dependencies) from the upstream store into bundles under `exportDir`. */
export async function exportSnaps(opts: ExportOptions): Promise<ExportResult> {
  const existed = await stat(opts.exportDir).then(
    () => true,
    () => false,
  );
  await ensureDir(opts.exportDir);
  try {
    return await withLock(exportLockTarget(opts.exportDir), "export", () => exportLocked(opts), opts);
  } catch (err) {
    // a failed first export leaves no empty directory behind (downloads kept for a resume stay)
    if (!existed) await removeEmptyDirs(opts.exportDir);
    throw err;
  }
}

/** Removes `dir` and its subdirectories bottom-up while they are empty; keeps every file. */
async function removeEmptyDirs(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/** What every step of one export reads: settings resolved once, and where warnings go. */
interface ExportRun {
  readonly opts: ExportOptions;
  readonly client: UpstreamClient;
  /** The device architectures asked for by default (a dependency's fallback). */
  readonly arches: readonly string[];
  readonly progress: Progress;
  readonly nowIso: string;
  readonly since: ManifestIndex;
  readonly warn: (line: string) => void;
  readonly dirs: ExportDirs;
}

interface ExportDirs {
  readonly exportDir: string;
  readonly cacheDir: string;
  readonly partialDir: string;
  readonly stagingRoot: string;
}

/** The first assertions of a snap's chain: its snap-declaration and the snap-revisions it carries. */
type ChainStart = [string, string[]];

/** A validation set's bundle to write: `ACCOUNT/NAME` -> its assertion. */
type ValidationSetStarts = Map<string, Assertion>;

/** What was asked, checked before any request. */
interface ExportAsk {
  readonly arches: readonly string[];
  readonly items: readonly PlanItem[];
  readonly validationSets: readonly { account: string; name: string; sequence?: number }[];
}

async function exportLocked(opts: ExportOptions): Promise<ExportResult> {
  const warnings: string[] = [];
  const progress = opts.progress ?? new Progress({ write: () => true }, { quiet: true });
  const nowIso = (opts.now?.() ?? new Date()).toISOString();
  const ask = checkAsk(opts);
  const run: ExportRun = {
    opts,
    client: opts.client,
    arches: ask.arches,
    progress,
    nowIso,
    since: new ManifestIndex(opts.since),
    warn: (line) => {
      warnings.push(line);
      progress.warn(line);
    },
    dirs: exportDirs(opts.exportDir),
  };
  await clearLeftovers(run.dirs);

  // ---- 1. validation sets: fetched and verified (importer's code) before any blob is downloaded
  const fetcher = new ChainFetcher(run.client, opts.roots);
  const verifyFetched = fetchedVerifier(fetcher, opts.roots, opts.now?.() ?? new Date());
  const vsStarts = await fetchValidationSets(run.client, fetcher, ask.validationSets);
  verifyFetched();

  // ---- 2. plan, fetch assertions and blobs (rounds: a blob's own snap.yaml may name more dependencies)
  const { planned, starts, components } = await planAndFetch(run, ask.items, fetcher, verifyFetched);
  if (!opts.withDeps) warnMissingDependencies(run, planned);

  // ---- 3. verify the blobs with the importer's code
  const pool = poolOf([...opts.roots, ...fetcher.all()]);
  await verifyBlobs(run, planned, pool);
  await verifyComponents(planned, components, [...pool.values()]);

  // ---- 4. write bundles
  const bundles = await writeBundles(run, planned, starts, vsStarts, fetcher, components);
  for (const list of components.values()) for (const c of list) if (c.blob !== undefined) await unlinkQuiet(c.blob);
  await dropExportCopies(run.dirs, planned);
  return { bundles, warnings };
}

function checkArch(subject: string, a: string): void {
  if (!/^[a-z0-9]+$/.test(a) || a === "all") {
    throw new SnapshelfError("invalid-argument", `cannot export${subject}: invalid architecture ${JSON.stringify(a)}`);
  }
}

/** The snaps and validation sets asked for, each checked (malformed channels fail before any request). */
function checkAsk(opts: ExportOptions): ExportAsk {
  const arches = [...new Set(opts.arches ?? ["amd64"])];
  const channels = [...new Set(opts.channels ?? ["stable"])];
  for (const c of channels) parseChannel(c);
  for (const a of arches) checkArch("", a);
  const validationSets = (opts.validationSets ?? []).map(parseValidationSetArg);
  const items: PlanItem[] = [];
  for (const r of [...opts.names.map((name): ExportRequest => ({ name })), ...(opts.requests ?? [])]) {
    if (items.some((i) => i.name === r.name)) {
      throw new SnapshelfError("invalid-argument", `cannot export: ${r.name} is asked for twice`);
    }
    const item: PlanItem = {
      name: r.name,
      channels: r.revision !== undefined ? [] : [...new Set(r.channels ?? channels)],
      arches: [...new Set(r.arches ?? arches)],
      ...(r.revision === undefined ? {} : { revision: r.revision }),
      ...(r.pushChannel === undefined ? {} : { pushChannel: r.pushChannel }),
    };
    for (const c of [...item.channels, ...(item.pushChannel === undefined ? [] : [item.pushChannel])]) parseChannel(c);
    for (const a of item.arches) checkArch(` ${r.name}`, a);
    items.push(item);
  }
  if (items.length === 0 && validationSets.length === 0) {
    throw new SnapshelfError("invalid-argument", "cannot export: no snaps named");
  }
  return { arches, items, validationSets };
}

function exportDirs(exportDir: string): ExportDirs {
  return {
    exportDir,
    cacheDir: join(exportDir, ".cache", "blobs"),
    partialDir: join(exportDir, ".partial"),
    stagingRoot: join(exportDir, ".staging"),
  };
}

/** Removes what a killed run may have left besides resumable downloads: half-written bundles, staging. */
async function clearLeftovers(dirs: ExportDirs): Promise<void> {
  await ensureDir(dirs.exportDir);
  await rm(dirs.stagingRoot, { recursive: true, force: true });
  for (const n of await readdir(dirs.exportDir)) {
    if (n.startsWith(".") && n.includes(`${BUNDLE_SUFFIX}.tmp-`)) await unlinkQuiet(join(dirs.exportDir, n));
  }
}

/** Verifies every assertion fetched so far; a chain ending at a key nobody trusts says how to trust its root. */
function fetchedVerifier(fetcher: ChainFetcher, roots: readonly Assertion[], now: Date): () => void {
  return () => {
    try {
      verifyAssertions(fetcher.all(), [], { roots }, now);
    } catch (err) {
      if (err instanceof SnapshelfError && /no matching public key/.test(err.message)) {
        throw new SnapshelfError(err.code, `${err.message}; is its root trusted? (--trusted-root FILE)`, {
          cause: err,
        });
      }
      throw err;
    }
  };
}

/** Each validation set asked for (by sequence, or the latest) with its chain. */
async function fetchValidationSets(
  client: UpstreamClient,
  fetcher: ChainFetcher,
  validationSets: ExportAsk["validationSets"],
): Promise<ValidationSetStarts> {
  const vsStarts: ValidationSetStarts = new Map();
  for (const vs of validationSets) {
    const key = [SERIES, vs.account, vs.name];
    let a: Assertion | undefined;
    if (vs.sequence !== undefined) {
      [a] = await fetcher.closure([["validation-set", [...key, String(vs.sequence)]]]);
    } else {
      const raw = await client.assertion("validation-set", key, { sequence: "latest" });
      a = decodeStream(raw, `${client.baseUrl}/v2/assertions/validation-set/${key.join("/")}`)[0];
      if (a === undefined || a.type !== "validation-set" || a.primaryKey.slice(0, 3).join("/") !== key.join("/")) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export validation set ${vs.account}/${vs.name}: unexpected answer`,
        );
      }
      fetcher.add(a);
      await fetcher.closure([[a.type, reducePrimaryKey(a.type, a.primaryKey)]]);
    }
    vsStarts.set(`${vs.account}/${vs.name}`, a!);
  }
  return vsStarts;
}

/** A blob to download: one per digest, for the first revision that has it. */
interface BlobTodo {
  readonly name: string;
  readonly r: PlannedRevision;
}

/**
 * Plans the snaps asked for, fetches and verifies their assertions, downloads their blobs; with
 * `--with-deps`, again for the dependencies the blobs' own snap.yaml name, until nothing is new.
 */
async function planAndFetch(
  run: ExportRun,
  items: readonly PlanItem[],
  fetcher: ChainFetcher,
  verifyFetched: () => void,
): Promise<{
  planned: Map<string, PlannedSnap>;
  starts: Map<string, ChainStart[]>;
  components: Map<string, PlannedComponent[]>;
}> {
  const planned = new Map<string, PlannedSnap>();
  const starts = new Map<string, ChainStart[]>();
  const components = new Map<string, PlannedComponent[]>();
  let queue: PlanItem[] = [...items];
  for (let round = 0; queue.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new SnapshelfError("export-failed", "cannot export: dependencies do not settle");
    await planQueue(run, planned, queue);
    // a --component no exported revision has fails before anything is downloaded
    if (round === 0) checkNamedComponents(planned.values(), run.opts.components);
    await fetchChains(planned, starts, fetcher);
    for (const p of planned.values()) {
      if (components.has(p.name)) continue;
      const comps = await planComponents(p, run.opts.components, fetcher, run.since);
      components.set(p.name, comps.components);
      starts.get(p.name)?.push(...comps.starts);
    }
    verifyFetched();
    const todo = blobsToFetch(planned);
    const compTodo = [...components.values()].flat().filter((c) => c.blob === undefined);
    run.progress.startDownloads(
      todo.length + compTodo.length,
      todo.reduce((n, t) => n + t.r.up.download.size, 0) + compTodo.reduce((n, c) => n + c.res.download.size, 0),
    );
    await mapOrdered(todo, run.opts.parallel ?? 4, (t) => fetchBlob(run, t.name, t.r));
    await mapOrdered(compTodo, run.opts.parallel ?? 4, async (c) => {
      c.blob = await fetchToCache(run, c.label, c.res.download, "comp");
    });
    shareBlobs(planned, todo);
    queue = await readFetchedYaml(run, planned, todo);
  }
  run.progress.finish();
  return { planned, starts, components };
}

/** Plans every item of `queue` not planned yet, and (`--with-deps`) the dependencies the store describes. */
async function planQueue(run: ExportRun, planned: Map<string, PlannedSnap>, queue: PlanItem[]): Promise<void> {
  while (queue.length > 0) {
    const q = queue.shift()!;
    if (planned.has(q.name)) continue;
    run.progress.note(`resolving ${q.name}${q.neededBy === undefined ? "" : ` (needed by ${q.neededBy})`}`);
    const p = await planSnap(run, q);
    planned.set(q.name, p);
    if (run.opts.withDeps) {
      for (const r of p.revisions) {
        for (const d of depsOf(p.name, r)) {
          // devices install prerequisites from `stable` (store-protocol.md §4.1)
          if (!planned.has(d.name))
            queue.push({ name: d.name, channels: ["stable"], arches: p.arches, neededBy: p.name });
        }
      }
    }
  }
}

/** Plans one snap: its store info per architecture, then what each requested channel holds there. */
async function planSnap(run: ExportRun, item: PlanItem): Promise<PlannedSnap> {
  const { name, neededBy } = item;
  const subject = neededBy === undefined ? JSON.stringify(name) : `${JSON.stringify(name)} (needed by ${neededBy})`;
  const infos = await fetchInfos(run.client, item, subject);
  const first = infos.values().next().value!;
  if (item.revision !== undefined) return planExact(run, item, first, infos);
  const { entries, byChannel } = await resolveEntries(run, item, subject, infos, first);
  const revisions = await planRevisions(run, name, subject, first, entries, byChannel);
  const channelMap = [...entries.values()].sort(
    (a, b) =>
      compareChannels(parseFullChannel(a.channel), parseFullChannel(b.channel)) ||
      (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0),
  );
  return plannedSnap(item, first, channelMap, revisions);
}

/**
 * The planned snap: the store's facts on it (`first`), what it releases and carries, and what was asked.
 * `neededBy` only ever comes with a dependency, and dependencies are never asked for an exact revision.
 */
function plannedSnap(
  item: PlanItem,
  first: UpstreamInfo,
  channelMap: readonly BundleChannelEntry[],
  revisions: readonly PlannedRevision[],
): PlannedSnap {
  return {
    name: item.name,
    snapId: first.snapId,
    ...(first.defaultTrack === undefined ? {} : { defaultTrack: first.defaultTrack }),
    meta: first.meta,
    channelMap,
    revisions,
    ...(item.neededBy === undefined ? {} : { neededBy: item.neededBy }),
    arches: item.arches,
    exportedWith: { channels: item.channels, arches: item.arches },
  };
}

/** The store's info on the snap for each architecture that has it; none, or disagreeing ones, fail. */
async function fetchInfos(
  client: UpstreamClient,
  item: PlanItem,
  subject: string,
): Promise<ReadonlyMap<string, UpstreamInfo>> {
  const infos = new Map<string, UpstreamInfo>();
  for (const arch of item.arches) {
    try {
      infos.set(arch, await client.info(item.name, arch));
    } catch (err) {
      if (err instanceof SnapshelfError && err.code === "name-not-found") continue;
      throw err;
    }
  }
  const first = infos.values().next().value;
  if (first === undefined) {
    throw new SnapshelfError("name-not-found", `cannot export ${subject}: snap not found in ${client.baseUrl}`);
  }
  for (const i of infos.values()) {
    if (i.snapId !== first.snapId || i.name !== item.name) {
      throw new SnapshelfError(
        "upstream-bad-response",
        `cannot export ${subject}: the store describes it inconsistently across architectures`,
      );
    }
  }
  return infos;
}

/**
 * The channel-map entries the requested channels mean on each architecture (branches asked of the
 * store: `byChannel` keeps those answers); nothing at all fails, a partial miss is a warning.
 */
async function resolveEntries(
  run: ExportRun,
  item: PlanItem,
  subject: string,
  infos: ReadonlyMap<string, UpstreamInfo>,
  first: UpstreamInfo,
): Promise<{ entries: Map<string, BundleChannelEntry>; byChannel: Map<number, UpstreamRevision> }> {
  const { name, arches, channels: wanted } = item;
  const entries = new Map<string, BundleChannelEntry>();
  const byChannel = new Map<number, UpstreamRevision>();
  const misses = new Map<string, string[]>();
  const unavailable: string[] = [];
  for (const arch of arches) {
    const info = infos.get(arch);
    if (info === undefined) {
      unavailable.push(arch);
      continue;
    }
    for (const want of wanted) {
      const r = resolveChannel(info.channelMap, arch, want, first.defaultTrack);
      let entry: BundleChannelEntry | undefined;
      if (r.kind === "found") {
        entry = { channel: r.channel, arch, revision: r.revision, releasedAt: r.releasedAt ?? run.nowIso };
      } else if (r.kind === "branch") {
        const up = await branchRevision(run.client, name, arch, r.channel);
        if (up !== undefined) {
          byChannel.set(up.revision, up);
          entry = { channel: r.channel, arch, revision: up.revision, releasedAt: up.releasedAt ?? run.nowIso };
        }
      }
      if (entry === undefined) misses.set(r.channel, [...(misses.get(r.channel) ?? []), arch]);
      else entries.set(`${entry.channel}@${arch}`, entry);
    }
  }
  if (entries.size === 0) {
    const released = arches
      .filter((a) => infos.has(a))
      .map((a) => `${a}: ${describeReleases(infos.get(a)!.channelMap, a)}`)
      .join("; ");
    throw new SnapshelfError(
      "channel-not-available",
      `cannot export ${subject}: nothing released in ${wanted.map((w) => fullChannelName(requestedChannel(w, first.defaultTrack))).join(", ")} for ${arches.join(", ")} (released: ${released || "nothing"})`,
    );
  }
  if (unavailable.length > 0) run.warn(`${name}: not available for ${unavailable.join(", ")}; skipped`);
  if (misses.size > 0) {
    const list = [...misses].map(([ch, a]) => `${ch} (${a.join(", ")})`).join(", ");
    run.warn(`${name}: nothing released in ${list}; skipped`);
  }
  return { entries, byChannel };
}

/** The revision a branch holds, asked of the store; undefined if the branch is empty. */
async function branchRevision(
  client: UpstreamClient,
  name: string,
  arch: string,
  channel: string,
): Promise<UpstreamRevision | undefined> {
  try {
    const up = await client.downloadAction(name, arch, { channel });
    // a branch never follows another channel: anything else is not in the branch
    const eff = up.effectiveChannel === undefined ? channel : effectiveFull(up.effectiveChannel);
    return eff === channel ? up : undefined;
  } catch (err) {
    if (!(err instanceof ActionError && err.code === "revision-not-found")) throw err;
    return undefined;
  }
}

/** Each revision the channel map holds, with its download (asked once, on an architecture that has it). */
async function planRevisions(
  run: ExportRun,
  name: string,
  subject: string,
  first: UpstreamInfo,
  entries: ReadonlyMap<string, BundleChannelEntry>,
  byChannel: ReadonlyMap<number, UpstreamRevision>,
): Promise<PlannedRevision[]> {
  const revArch = new Map<number, string>();
  for (const e of entries.values()) if (!revArch.has(e.revision)) revArch.set(e.revision, e.arch);
  const revisions: PlannedRevision[] = [];
  for (const [revision, arch] of [...revArch].sort((a, b) => a[0] - b[0])) {
    const up = byChannel.get(revision) ?? (await run.client.downloadAction(name, arch, { revision }));
    if (up.snapId !== first.snapId) {
      throw new SnapshelfError(
        "upstream-bad-response",
        `cannot export ${subject}: revision ${revision} has snap-id ${up.snapId}, not ${first.snapId}`,
      );
    }
    revisions.push({ revision, up, skip: sinceHas(run.since, name, subject, revision, up), info: planInfo(name, up) });
  }
  return revisions;
}

/** Whether the offline store (`--since`) has the revision already; with another blob, it fails. */
function sinceHas(
  since: ManifestIndex,
  name: string,
  subject: string,
  revision: number,
  up: UpstreamRevision,
): boolean {
  const have = since.revision(name, revision);
  if (have !== undefined && have.sha3_384 !== up.download.sha3_384) {
    throw new SnapshelfError(
      "revision-clash",
      `cannot export ${subject}: the offline store has revision ${revision} with another blob (sha3-384 ${have.sha3_384}, upstream ${up.download.sha3_384})`,
    );
  }
  return have !== undefined;
}

/** An exact revision (`--from` with `revision:`): carried whatever holds it, released only to `push_channel`. */
async function planExact(
  run: ExportRun,
  item: PlanItem,
  first: UpstreamInfo,
  infos: ReadonlyMap<string, UpstreamInfo>,
): Promise<PlannedSnap> {
  const { name } = item;
  const client = run.client;
  const revision = item.revision!;
  const askArch = item.arches.find((a) => infos.has(a)) ?? item.arches[0]!;
  let up: UpstreamRevision;
  try {
    up = await client.downloadAction(name, askArch, { revision });
  } catch (err) {
    if (err instanceof ActionError && err.code === "revision-not-found") {
      throw new SnapshelfError(
        "revision-not-found",
        `cannot export ${JSON.stringify(name)}: revision ${revision} not found in ${client.baseUrl}`,
      );
    }
    throw err;
  }
  if (up.snapId !== first.snapId || up.revision !== revision) {
    throw new SnapshelfError(
      "upstream-bad-response",
      `cannot export ${JSON.stringify(name)}: asked for revision ${revision}, the store answered revision ${up.revision} of ${up.snapId}`,
    );
  }
  const skip = sinceHas(run.since, name, JSON.stringify(name), revision, up);
  const channelMap: BundleChannelEntry[] = [];
  if (item.pushChannel !== undefined) {
    const channel = fullChannelName(requestedChannel(item.pushChannel, first.defaultTrack));
    const on = item.arches.filter((a) => up.architectures.length === 0 || revisionRunsOn(up.architectures, a));
    if (on.length === 0) {
      throw new SnapshelfError(
        "channel-not-available",
        `cannot export ${JSON.stringify(name)}: revision ${revision} is built for ${up.architectures.join(", ")}, not ${item.arches.join(", ")} (push_channel ${item.pushChannel})`,
      );
    }
    for (const arch of on) channelMap.push({ channel, arch, revision, releasedAt: run.nowIso });
  }
  return plannedSnap(item, first, channelMap, [{ revision, up, skip, info: planInfo(name, up) }]);
}

/** Fetches the assertion chain of each snap planned since the last round; `starts` keeps where each began. */
async function fetchChains(
  planned: ReadonlyMap<string, PlannedSnap>,
  starts: Map<string, ChainStart[]>,
  fetcher: ChainFetcher,
): Promise<void> {
  for (const p of planned.values()) {
    if (starts.has(p.name)) continue;
    const s: ChainStart[] = [["snap-declaration", [SERIES, p.snapId]]];
    for (const r of p.revisions) {
      if (r.skip) continue;
      const digest = digestHexToBase64Url(r.up.download.sha3_384);
      const prov = r.info?.provenance;
      s.push(["snap-revision", prov === undefined ? [digest] : [digest, prov]]);
    }
    starts.set(p.name, s);
    await fetcher.closure(s);
  }
}

/** The blobs still to download, one per digest. */
function blobsToFetch(planned: ReadonlyMap<string, PlannedSnap>): BlobTodo[] {
  const todo: BlobTodo[] = [];
  const bySha = new Set<string>();
  for (const p of planned.values()) {
    for (const r of p.revisions) {
      if (r.skip || r.blob !== undefined || bySha.has(r.up.download.sha3_384)) continue;
      bySha.add(r.up.download.sha3_384);
      todo.push({ name: p.name, r });
    }
  }
  return todo;
}

/** Downloads one blob into the export's cache (resumed; a verified cached copy is kept), sets `r.blob`. */
async function fetchBlob(run: ExportRun, name: string, r: PlannedRevision): Promise<void> {
  r.blob = await fetchToCache(run, `${name}_${r.revision}.snap`, r.up.download, "snap");
}

/**
 * Downloads a blob (snap or component) into the export's cache, resumed and hashed while written
 * (sha3-384 and size as the store announced them); a verified cached copy is kept. Returns its path.
 */
async function fetchToCache(
  run: ExportRun,
  label: string,
  download: UpstreamRevision["download"],
  kind: "snap" | "comp",
): Promise<string> {
  const { cacheDir, partialDir } = run.dirs;
  const { sha3_384: hex, size, url } = download;
  const cached = blobPath(cacheDir, hex);
  const st = await stat(cached).catch(() => undefined);
  if (st?.isFile() && st.size === size && (await hashFile(cached)).sha3_384 === hex) {
    run.progress.blobDone(label, size, "cached");
    return cached;
  }
  if (st !== undefined) await unlinkQuiet(cached);
  await ensureDir(partialDir);
  const partial = join(partialDir, `${hex}.${kind}.partial`);
  await run.client.download(url, partial, { sha3_384: hex, size }, label, (bytes) =>
    run.progress.blobProgress(label, bytes, size),
  );
  const blob = await importBlob(cacheDir, partial, { sha3_384: hex, size }, { sourceName: `${label} from ${url}` });
  await unlinkQuiet(partial);
  run.progress.blobDone(label, size, "downloaded");
  return blob.path;
}

/** A blob is downloaded once even if (oddly) two revisions share it: the others take its copy. */
function shareBlobs(planned: ReadonlyMap<string, PlannedSnap>, todo: readonly BlobTodo[]): void {
  for (const p of planned.values()) {
    for (const r of p.revisions) {
      if (r.skip || r.blob !== undefined) continue;
      const same = todo.find((t) => t.r.up.download.sha3_384 === r.up.download.sha3_384);
      if (same?.r.blob !== undefined) {
        r.blob = same.r.blob;
        r.info = same.r.info;
      }
    }
  }
}

/** The verified blobs' own snap.yaml decide what they need: returns the next round's queue (`--with-deps`). */
async function readFetchedYaml(
  run: ExportRun,
  planned: ReadonlyMap<string, PlannedSnap>,
  todo: readonly BlobTodo[],
): Promise<PlanItem[]> {
  const queue: PlanItem[] = [];
  for (const t of todo) {
    const label = `${t.name}_${t.r.revision}.snap`;
    const yaml = await readSnapYaml(t.r.blob!, { displayName: label });
    t.r.info = parseSnapYaml(yaml, label);
    if (run.opts.withDeps) {
      for (const d of depsOf(t.name, t.r)) {
        if (!planned.has(d.name)) {
          const by = planned.get(t.name);
          queue.push({ name: d.name, channels: ["stable"], arches: by?.arches ?? run.arches, neededBy: t.name });
        }
      }
    }
  }
  return queue;
}

/** Without `--with-deps`: one warning per dependency neither exported nor in the offline store. */
function warnMissingDependencies(run: ExportRun, planned: ReadonlyMap<string, PlannedSnap>): void {
  const told = new Set<string>();
  for (const p of planned.values()) {
    for (const r of p.revisions) {
      for (const d of depsOf(p.name, r)) {
        const k = `${p.name}\0${d.name}`;
        if (planned.has(d.name) || run.since.hasSnap(d.name) || told.has(k)) continue;
        told.add(k);
        run.warn(
          `${p.name} needs ${describeDependency(d)}, which this export does not include; add it or use --with-deps`,
        );
      }
    }
  }
}

/** Each carried blob against its assertions and snap.yaml, and each channel entry against its revision's arches. */
async function verifyBlobs(
  run: ExportRun,
  planned: ReadonlyMap<string, PlannedSnap>,
  pool: ReturnType<typeof poolOf>,
): Promise<void> {
  for (const p of planned.values()) {
    for (const r of p.revisions) {
      if (r.skip) continue;
      const label = `${p.name}_${r.revision}.snap`;
      const yaml = await readSnapYaml(r.blob!, { displayName: label });
      const info = parseSnapYaml(yaml, label);
      const rec = crossCheck(label, r.up.download.sha3_384, r.up.download.size, yaml, info, pool);
      for (const line of storeBlobDisagreements(label, r.up, info)) run.warn(line);
      if (rec.name !== p.name || rec.snapId !== p.snapId || rec.revision !== r.revision) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export ${label}: its assertions say ${rec.name} revision ${rec.revision} (snap-id ${rec.snapId})`,
        );
      }
    }
    for (const e of p.channelMap) {
      const r = p.revisions.find((x) => x.revision === e.revision);
      const archs = r?.info?.architectures ?? r?.up.architectures ?? [];
      if (archs.length > 0 && !revisionRunsOn(archs, e.arch)) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export ${p.name}: ${e.channel} on ${e.arch} holds revision ${e.revision}, which is built for ${archs.join(", ")}`,
        );
      }
    }
  }
}

/** How every bundle of one export is written: its stamp, signer, and staging. */
interface BundleWriting {
  readonly run: ExportRun;
  readonly fetcher: ChainFetcher;
  /** version 2: when it was exported, and who signed it (the signature covers bundle.json) */
  readonly stamp: Pick<BundleDoc, "exportedAt" | "signer">;
  readonly writeOpts: (label: string) => WriteBundleOptions;
}

/** Writes one bundle per snap, then one per validation set, staged under the export's `.staging/`. */
async function writeBundles(
  run: ExportRun,
  planned: ReadonlyMap<string, PlannedSnap>,
  starts: ReadonlyMap<string, ChainStart[]>,
  vsStarts: ValidationSetStarts,
  fetcher: ChainFetcher,
  components: ReadonlyMap<string, readonly PlannedComponent[]>,
): Promise<ExportedBundle[]> {
  const { exportDir, stagingRoot } = run.dirs;
  checkPortableNames(exportDir, [
    ...[...planned.keys()].map((n) => `${n}${BUNDLE_SUFFIX}`),
    ...[...vsStarts.keys()].map((id) => `validation-set_${id.replace("/", "_")}${BUNDLE_SUFFIX}`),
  ]);
  await ensureDir(stagingRoot);
  const { opts, nowIso } = run;
  const signer = opts.signer;
  const w: BundleWriting = {
    run,
    fetcher,
    stamp: { exportedAt: nowIso, ...(signer === undefined ? {} : { signer: signer.signer }) },
    writeOpts: (label) => ({
      ...(opts.maxFileSize === undefined ? {} : { maxFileSize: opts.maxFileSize }),
      ...(signer === undefined
        ? {}
        : {
            sign: (json: Buffer) =>
              signer.sign(json, `snapshelf bundle ${label} exported-at ${nowIso} counter ${signer.signer.counter}`),
          }),
    }),
  };
  const bundles: ExportedBundle[] = [];
  try {
    for (const name of [...planned.keys()].sort()) {
      bundles.push(await writeSnapBundle(w, planned.get(name)!, starts.get(name) ?? [], components.get(name) ?? []));
    }
    for (const [id, a] of [...vsStarts].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      bundles.push(await writeValidationSetBundle(w, id, a));
    }
  } finally {
    await rm(stagingRoot, { recursive: true, force: true });
  }
  return bundles;
}

/** Every file this export writes must be valid on FAT32, exFAT and NTFS (USB sticks). */
function checkPortableNames(exportDir: string, names: readonly string[]): void {
  const outNames = new PortableNames();
  for (const name of names) {
    const problem = outNames.add(name);
    if (problem !== undefined) {
      throw new SnapshelfError(
        "unportable-name",
        `cannot export into ${exportDir}: ${problem} (not valid on FAT, exFAT or NTFS)`,
      );
    }
  }
}

/** The assertions a bundle carries from `start` (those the offline store has left out), sorted by file. */
async function bundleAssertions(
  fetcher: ChainFetcher,
  since: ManifestIndex,
  start: readonly [string, readonly string[]][],
): Promise<{ entries: BundleAssertion[]; sources: Map<string, Buffer> }> {
  const entries: BundleAssertion[] = [];
  const sources = new Map<string, Buffer>();
  const folded = new Set<string>();
  for (const a of await fetcher.closure(start)) {
    const hex = objectId(a.raw);
    if (since.hasAssertion(a.type, a.primaryKey, a.revision, hex)) continue;
    const key = reducePrimaryKey(a.type, a.primaryKey);
    let file = assertionEntryName(a.type, key, hex);
    // a case-only twin of another entry's name (one file on FAT): named by its digest instead
    if (folded.has(file.toLowerCase())) file = `assertions/${a.type}_${hex.slice(0, 32)}.assert`;
    folded.add(file.toLowerCase());
    entries.push({ file, type: a.type, key, revision: a.revision, sha3_384: hex, size: a.raw.length });
    sources.set(file, a.raw);
  }
  entries.sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : 0));
  return { entries, sources };
}

async function writeSnapBundle(
  w: BundleWriting,
  p: PlannedSnap,
  start: readonly ChainStart[],
  comps: readonly PlannedComponent[],
): Promise<ExportedBundle> {
  const { run } = w;
  const name = p.name;
  const carried = p.revisions.filter((r) => !r.skip);
  const revisions: BundleRevision[] = carried.map((r) => toBundleRevision(name, r.up, r.info));
  const { entries, sources } = await bundleAssertions(w.fetcher, run.since, start);
  const doc: BundleDoc = {
    kind: "snap",
    ...w.stamp,
    name,
    snapId: p.snapId,
    upstream: run.client.baseUrl,
    store: toStoreMeta(p.meta, p.defaultTrack),
    exportedWith: p.exportedWith,
    channelMap: p.channelMap,
    revisions,
    assertions: entries,
    components: comps.map((c) => c.entry),
  };
  const blobs = new Map(carried.map((r) => [blobEntryName(name, r.revision), r.blob!]));
  for (const c of comps) blobs.set(c.entry.file, c.blob!);
  const written: WrittenBundle = await writeBundle(
    join(run.dirs.exportDir, `${name}${BUNDLE_SUFFIX}`),
    doc,
    { blobs, assertions: sources },
    run.dirs.stagingRoot,
    w.writeOpts(name),
  );
  return {
    kind: "snap",
    name,
    path: written.path,
    size: written.size,
    revisions: carried.map((r) => r.revision),
    assertions: entries.length,
    channels: p.channelMap.length,
    ...(comps.length === 0 ? {} : { components: comps.map((c) => `${name}+${c.entry.component}=${c.entry.revision}`) }),
  };
}

async function writeValidationSetBundle(w: BundleWriting, id: string, a: Assertion): Promise<ExportedBundle> {
  const { run } = w;
  const { entries, sources } = await bundleAssertions(w.fetcher, run.since, [
    [a.type, reducePrimaryKey(a.type, a.primaryKey)],
  ]);
  const doc: BundleDoc = {
    kind: "assertions",
    ...w.stamp,
    upstream: run.client.baseUrl,
    channelMap: [],
    revisions: [],
    assertions: entries,
  };
  const [account, vsName] = id.split("/");
  const written = await writeBundle(
    join(run.dirs.exportDir, `validation-set_${account}_${vsName}${BUNDLE_SUFFIX}`),
    doc,
    { blobs: new Map(), assertions: sources },
    run.dirs.stagingRoot,
    w.writeOpts(`validation-set ${id}`),
  );
  return {
    kind: "assertions",
    name: id,
    path: written.path,
    size: written.size,
    revisions: [],
    assertions: entries.length,
    channels: 0,
  };
}

/** The bundles hold the blobs now: drops the export's own copies, and its cache directories once empty. */
async function dropExportCopies(dirs: ExportDirs, planned: ReadonlyMap<string, PlannedSnap>): Promise<void> {
  for (const p of planned.values()) for (const r of p.revisions) if (r.blob !== undefined) await unlinkQuiet(r.blob);
  for (const d of [dirs.partialDir, dirs.cacheDir, join(dirs.exportDir, ".cache")]) {
    if ((await readdir(d).catch(() => ["?"])).length === 0) await rmdir(d).catch(() => undefined);
  }
}
