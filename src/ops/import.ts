/**
 * import: verified inputs -> content-addressed objects + new records.
 *
 * Nothing unverified gets in: every assertion's signature and chain to a
 * trusted root, every blob's sha3-384 and size against its snap-revision,
 * the snap-revision's snap-id against a declaration naming the snap that
 * the blob's meta/snap.yaml declares. Blobs are hashed while copied into a
 * staging directory; only when everything checks out are objects moved into
 * place and records.json replaced (the commit point). Any failure leaves the
 * store exactly as it was.
 */

import { readdir, readFile, rename, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { decodeStream } from "../assertions/parse.js";
import { canonicalRoots, checkTrustedRoots, verifyAssertions } from "../assertions/trust.js";
import type { Assertion } from "../assertions/types.js";
import { newestByKey } from "../assertions/types.js";
import { copyThreads } from "../blobs/copy-thread.js";
import { adoptBlob, blobPath, digestHexToBase64Url, importBlob } from "../blobs/store.js";
import type {
  BundleContents,
  BundleOrigin,
  BundleReader,
  BundleRelease,
  BundleRevisionFacts,
  StagedDigest,
} from "../bundle/contents.js";
import { releaseArchKeys } from "../model/arch.js";
import { fullChannelName, parseFullChannel } from "../model/channel.js";
import {
  type AssertionRecord,
  mergeExported,
  type Records,
  type ReleaseRecord,
  type RevisionRecord,
  replaceSnapMeta,
  withAssertions,
  withComponent,
  withReleases,
  withRevision,
  withRoots,
} from "../model/records.js";
import type { SnapMeta } from "../model/types.js";
import { readSnapYaml } from "../snapfile/read.js";
import { parseSnapYaml } from "../snapfile/snap-yaml.js";
import { type ChangeOptions, changeRecords } from "../store/change.js";
import { crossCheck, objectId, poolOf, toAssertionRecord } from "../store/cross-check.js";
import { assertionObjectPath, type StoreLayout } from "../store/layout.js";
import { type BundleTrustOptions, checkBundleTrust } from "../store/operator-trust.js";
import { checkReleaseConflicts } from "../store/release-conflicts.js";
import { findRevisionClash, revisionClashMessage } from "../store/revision-rules.js";
import { withStoreFacts } from "../store/store-facts.js";
import { SnapshelfError } from "../util/errors.js";
import { faultPoint } from "../util/fault.js";
import { ensureDir, fsErrorReason, pathExists, writeFileAtomic } from "../util/fs.js";
import { mapOrdered } from "../util/ordered.js";
import { checkComponentClash, isComponentFile, stageComponents } from "./import-components.js";
import { retentionAtImport } from "./retention.js";

/** Progress of the long part of an import: unpacking bundles and copying blobs (a status line). */
export interface ImportProgress {
  /** `files` more files of `bytes` bytes in all are to be read. */
  start(files: number, bytes: number): void;
  /** `bytes` of the file `label` (`size` bytes) read so far. */
  advance(label: string, bytes: number, size: number): void;
  done(label: string, size: number): void;
}

export interface ImportOptions extends ChangeOptions {
  /** Files with extra trusted root assertions (account and account-key). */
  readonly trustedRoots?: readonly string[];
  /** Assertion files to use for the snaps (any stream of assertions). */
  readonly asserts?: readonly string[];
  /** Channels to release every imported revision to. */
  readonly release?: readonly string[];
  readonly now?: Date;
  readonly log?: (line: string) => void;
  readonly progress?: ImportProgress;
  /** How to recognise and unpack bundles (the bundle module); without it, bundles are refused. */
  readonly bundles?: { readonly isBundle: (path: string) => Promise<boolean>; readonly read: BundleReader };
  /** Operator keys, unsigned and older bundles (src/store/operator-trust.ts). */
  readonly bundleTrust?: BundleTrustOptions;
}

export interface ImportResult {
  readonly assertions: number;
  readonly revisions: readonly {
    name: string;
    revision: number;
    architectures: readonly string[];
    /** The store had it already (same blob): nothing new. */
    present?: boolean;
  }[];
  readonly releases: number;
  /** Component revisions verified (new or already held). */
  readonly components?: number;
}

async function readAssertionFile(path: string): Promise<Assertion[]> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SnapshelfError("input-unreadable", `cannot read ${path}: ${fsErrorReason(err)}`);
  }
  return decodeStream(buf, path);
}

/** Reads the stored (already verified) assertions that `keep` selects. */
export async function readStoredAssertions(
  layout: StoreLayout,
  records: Records,
  keep: (r: AssertionRecord) => boolean = () => true,
): Promise<Assertion[]> {
  const out: Assertion[] = [];
  for (const r of records.assertions) {
    if (!keep(r)) continue;
    const p = assertionObjectPath(layout, r.object);
    out.push(...decodeStream(await readFile(p), p));
  }
  return out;
}

export async function readRoots(layout: StoreLayout, records: Records): Promise<Assertion[]> {
  const out = canonicalRoots();
  for (const o of records.roots) {
    const p = assertionObjectPath(layout, o);
    out.push(...decodeStream(await readFile(p), p));
  }
  return out;
}

async function expandInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new SnapshelfError("input-not-found", `cannot import ${p}: no such file or directory`);
    if (st.isDirectory()) {
      // a directory of snap download output or of assertion files: every visible regular file but manifests
      for (const n of (await readdir(p)).sort()) {
        const full = join(p, n);
        if (n.startsWith(".") || n.endsWith(".json") || !(await stat(full)).isFile()) continue;
        out.push(full);
      }
    } else if (st.isFile()) out.push(p);
    else throw new SnapshelfError("input-not-a-file", `cannot import ${p}: not a regular file`);
  }
  return out;
}

interface StagedSnap {
  readonly source: string;
  readonly staged: string;
  readonly sha3_384: string;
  readonly size: number;
  readonly record: RevisionRecord;
}

/** What the bundles among the inputs contribute, in input order; other inputs are passed on as they are. */
interface Unpacked {
  /** Plain inputs and the files extracted from bundles. */
  readonly plainPaths: readonly string[];
  /** Bundle entries hashed as they were extracted into the change's private staging: not re-read. */
  readonly stagedDigests: ReadonlyMap<string, StagedDigest>;
  readonly releases: readonly BundleRelease[];
  readonly meta: readonly [string, SnapMeta][];
  readonly facts: readonly BundleRevisionFacts[];
  /** What the operator-signature and rollback checks read. */
  readonly origins: readonly BundleOrigin[];
}

/** The trusted roots: the built-in ones, those remembered, and new `--trusted-root` files. */
interface ImportRoots {
  readonly roots: readonly Assertion[];
  readonly newRoots: readonly Assertion[];
}

/** The assertions new to the store, verified, and the pool the blobs are checked against. */
interface NewAssertions {
  readonly candidates: readonly Assertion[];
  readonly pool: Map<string, Assertion>;
}

/** The records after the import, and what they add. */
interface ImportChange {
  readonly records: Records;
  readonly events: readonly Omit<ReleaseRecord, "seq">[];
  /** `name\0revision` of each revision the store had before. */
  readonly present: ReadonlySet<string>;
  readonly retained: Awaited<ReturnType<typeof retentionAtImport>>["removed"];
}

const sizeOf = async (p: string): Promise<number> => (await stat(p).catch(() => undefined))?.size ?? 0;

/** Imports inputs into the store at `layout`. */
export async function importInputs(
  layout: StoreLayout,
  paths: readonly string[],
  opts: ImportOptions = {},
): Promise<ImportResult> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? new Date();
  return changeRecords(layout, "import", opts, async (stored) => {
    // ---- 1. unpack bundles; operator signatures and rollback, before anything is written
    const unpacked = await unpackBundles(layout, paths, opts, log);
    const trust = await checkBundleTrust(layout, unpacked.origins, opts.bundleTrust ?? {}, now);
    for (const n of trust.notes) log(n);

    // ---- 2. assertions: the roots, then every new assertion's signature and chain
    const { snapFiles, componentFiles, assertionFiles } = await sortInputs(unpacked.plainPaths, opts.asserts ?? []);
    const roots = await readImportRoots(layout, stored, opts.trustedRoots ?? []);
    const asserts = await verifyNewAssertions(layout, stored, assertionFiles, roots.roots, now, log);

    // ---- 3. blobs: hash while copying into staging, then cross-check
    const staged = await stageBlobs(layout, stored, snapFiles, unpacked.stagedDigests, asserts.pool, opts, log);
    // one revision, one blob: also between the inputs of this import
    const clash = findRevisionClash(stored.revisions, stored.assertions, staged);
    if (clash) throw new SnapshelfError("revision-clash", revisionClashMessage(clash));

    // ---- 4. new records (pure), then releases, store metadata and retention
    const change = await newRecords(layout, stored, { unpacked, roots, asserts, staged }, opts, now, log);
    // components: checked against the verified assertions and the revisions now held
    const stagedComponents = await stageComponents(
      join(layout.tmp, "blobs"),
      componentFiles,
      copyThreads(),
      unpacked.stagedDigests,
      (f, hex, size) => adoptBlob(join(layout.tmp, "blobs"), f, hex, size),
      [...asserts.pool.values()],
      change.records.revisions,
      log,
    );
    checkComponentClash(change.records.components ?? [], stagedComponents);
    let records = change.records;
    for (const c of stagedComponents) records = withComponent(records, c.record);

    // ---- 5. commit: objects first (content-addressed, harmless if orphaned), records last
    await commitObjects(
      layout,
      [...staged, ...stagedComponents.map((c) => ({ staged: c.staged, sha3_384: c.record.sha3_384 }))],
      [...roots.newRoots, ...asserts.candidates],
    );
    await trust.commit();
    const result: ImportResult = {
      assertions: asserts.candidates.length,
      revisions: staged.map((s) => ({
        name: s.record.name,
        revision: s.record.revision,
        architectures: s.record.info.architectures,
        ...(change.present.has(`${s.record.name}\u0000${s.record.revision}`) ? { present: true } : {}),
      })),
      releases: change.events.length,
      ...(stagedComponents.length > 0 ? { components: stagedComponents.length } : {}),
    };
    // the commit path writes the records (parts, then the index: the commit point), then this audit line
    const audit = {
      op: "import",
      detail: {
        inputs: paths,
        assertions: result.assertions,
        revisions: result.revisions.map((r) => `${r.name}=${r.revision}`),
        ...(stagedComponents.length > 0
          ? { components: stagedComponents.map((c) => `${c.record.name}+${c.record.component}=${c.record.revision}`) }
          : {}),
        release: opts.release ?? [],
        ...trust.audit,
        ...(change.retained.length > 0 ? { retention: change.retained.map((r) => `${r.name}=${r.revision}`) } : {}),
      },
    };
    return { result, records, audit };
  });
}

/**
 * Unpacks the bundles among `paths` into the change's staging, several at once (hashing while
 * unpacking is the limit: one CPU each); what they contribute is taken in input order.
 */
async function unpackBundles(
  layout: StoreLayout,
  paths: readonly string[],
  opts: ImportOptions,
  log: (line: string) => void,
): Promise<Unpacked> {
  const bundles = opts.bundles;
  const isBundle = await Promise.all(paths.map(async (p) => (bundles ? bundles.isBundle(p) : false)));
  const bundleSizes = await Promise.all(paths.map((p, i) => (isBundle[i] ? sizeOf(p) : 0)));
  const bundleCount = isBundle.filter(Boolean).length;
  if (bundleCount > 0)
    opts.progress?.start(
      bundleCount,
      bundleSizes.reduce((a, b) => a + b, 0),
    );
  const unpacked = await mapOrdered(
    paths,
    copyThreads(),
    async (p, i): Promise<BundleContents | undefined> => {
      if (!bundles || !isBundle[i]) return undefined;
      const staging = join(layout.tmp, `bundle-${i}`);
      await ensureDir(staging);
      const size = bundleSizes[i] ?? 0;
      const contents = await bundles.read(p, staging, {
        onProgress: (n) => opts.progress?.advance(basename(p), n, size),
      });
      opts.progress?.done(basename(p), size);
      return contents;
    },
    (contents, i) => {
      if (contents)
        log(
          `unpacked bundle ${basename(paths[i] ?? "")}: ${contents.snapFiles.length} snap${contents.snapFiles.length === 1 ? "" : "s"}`,
        );
    },
  );
  const plainPaths: string[] = [];
  const stagedDigests = new Map<string, StagedDigest>();
  const releases: BundleRelease[] = [];
  const meta: [string, SnapMeta][] = [];
  const facts: BundleRevisionFacts[] = [];
  for (const [i, contents] of unpacked.entries()) {
    if (contents === undefined) {
      plainPaths.push(paths[i] ?? "");
      continue;
    }
    plainPaths.push(...contents.snapFiles, ...(contents.componentFiles ?? []), ...contents.assertionFiles);
    for (const [file, d] of contents.staged ?? []) stagedDigests.set(file, d);
    releases.push(...contents.releases);
    meta.push(...Object.entries(contents.meta));
    facts.push(...(contents.revisionFacts ?? []));
  }
  const origins = unpacked.flatMap((c) => (c?.bundle === undefined ? [] : [c.bundle]));
  return { plainPaths, stagedDigests, releases, meta, facts, origins };
}

/** The snap files and assertion files among the inputs (with each snap's `.assert` beside it, and `--asserts`). */
async function sortInputs(
  plainPaths: readonly string[],
  asserts: readonly string[],
): Promise<{ snapFiles: string[]; componentFiles: string[]; assertionFiles: string[] }> {
  const inputs = await expandInputs(plainPaths);
  const snapFiles = inputs.filter((p) => p.endsWith(".snap"));
  const componentFiles = inputs.filter(isComponentFile);
  const assertionFiles = inputs.filter((p) => !p.endsWith(".snap") && !isComponentFile(p));
  for (const s of snapFiles) {
    const side = join(dirname(s), basename(s, ".snap") + ".assert");
    if (!assertionFiles.includes(side) && (await pathExists(side))) assertionFiles.push(side);
  }
  assertionFiles.push(...asserts);
  return { snapFiles, componentFiles, assertionFiles };
}

async function readImportRoots(
  layout: StoreLayout,
  records: Records,
  trustedRoots: readonly string[],
): Promise<ImportRoots> {
  const rootInputs: Assertion[] = [];
  for (const f of trustedRoots) rootInputs.push(...(await readAssertionFile(f)));
  const newRoots = rootInputs.length > 0 ? checkTrustedRoots(rootInputs, trustedRoots.join(", ")) : [];
  return { roots: [...(await readRoots(layout, records)), ...newRoots], newRoots };
}

/** Reads the assertion files, keeps those the store lacks, verifies them against the roots and the store's. */
async function verifyNewAssertions(
  layout: StoreLayout,
  records: Records,
  assertionFiles: readonly string[],
  roots: readonly Assertion[],
  now: Date,
  log: (line: string) => void,
): Promise<NewAssertions> {
  const rootIds = new Set(roots.map((a) => objectId(a.raw)));
  // a snap-revision is nobody's prerequisite: chains need the rest only, which stays small
  // as the store grows; the snap-revisions of the incoming blobs are looked up by stageBlobs
  const known = await readStoredAssertions(layout, records, (r) => r.type !== "snap-revision");
  const knownIds = new Set(records.assertions.map((a) => a.object));
  const candidates: Assertion[] = [];
  const candidateIds = new Set<string>();
  const sources = new Map<Assertion, string>();
  for (const f of [...new Set(assertionFiles)]) {
    for (const a of await readAssertionFile(f)) {
      const id = objectId(a.raw);
      if (knownIds.has(id) || candidateIds.has(id) || rootIds.has(id)) continue;
      candidateIds.add(id);
      candidates.push(a);
      sources.set(a, f);
    }
  }
  verifyAssertions(candidates, known, { roots }, now, sources);
  if (candidates.length > 0) log(`verified ${candidates.length} assertions`);
  return { candidates, pool: poolOf([...roots, ...known, ...candidates]) };
}

/** Adds to `pool` the store's snap-revisions of a blob (by its sha3-384), newer revisions winning. */
function storedRevisionLookup(
  layout: StoreLayout,
  records: Records,
  pool: Map<string, Assertion>,
): (sha3hex: string) => Promise<void> {
  const storedRevisions = new Map<string, AssertionRecord[]>();
  for (const r of records.assertions) {
    if (r.type !== "snap-revision") continue;
    const digest = r.primaryKey[0] ?? "";
    storedRevisions.set(digest, [...(storedRevisions.get(digest) ?? []), r]);
  }
  return async (sha3hex) => {
    const wanted = storedRevisions.get(digestHexToBase64Url(sha3hex)) ?? [];
    newestByKey(await readStoredAssertions(layout, { ...records, assertions: wanted }), pool);
  };
}

/**
 * Copies each blob into staging while hashing it (bundle blobs, read while unpacking, are adopted),
 * then checks it against its assertions and snap.yaml and the store's revisions.
 */
async function stageBlobs(
  layout: StoreLayout,
  records: Records,
  snapFiles: readonly string[],
  stagedDigests: ReadonlyMap<string, StagedDigest>,
  pool: Map<string, Assertion>,
  opts: ImportOptions,
  log: (line: string) => void,
): Promise<StagedSnap[]> {
  const addStoredRevisions = storedRevisionLookup(layout, records, pool);
  const staging = join(layout.tmp, "blobs");
  await ensureDir(staging);
  // bundle blobs were read while unpacking: only the others are copied now
  const copies = await Promise.all(snapFiles.map(async (f) => (stagedDigests.has(f) ? undefined : sizeOf(f))));
  const copySizes = copies.filter((n): n is number => n !== undefined);
  if (copySizes.length > 0)
    opts.progress?.start(
      copySizes.length,
      copySizes.reduce((a, b) => a + b, 0),
    );
  // several blobs at once, one per hashing thread: hashing is the limit, and a second blob's copy,
  // fsync and snap.yaml read overlap the first's; records stay in input order, errors as in a loop
  return mapOrdered(
    snapFiles,
    copyThreads(),
    async (s, i): Promise<StagedSnap> => {
      const extracted = stagedDigests.get(s);
      const size = copies[i] ?? 0;
      const blob = extracted
        ? await adoptBlob(staging, s, extracted.sha3_384, extracted.size)
        : await importBlob(staging, s, undefined, {
            sourceName: s,
            onProgress: (n) => opts.progress?.advance(basename(s), n, size),
          });
      if (!extracted) opts.progress?.done(basename(s), size);
      await addStoredRevisions(blob.sha3_384);
      faultPoint("import:blob-staged");
      const yaml = await readSnapYaml(blob.path, { displayName: s });
      const info = parseSnapYaml(yaml, s);
      const record = crossCheck(s, blob.sha3_384, blob.size, yaml, info, pool);
      const clash = findRevisionClash(records.revisions, records.assertions, [{ source: s, record }]);
      if (clash) throw new SnapshelfError("revision-clash", revisionClashMessage(clash));
      return { source: s, staged: blob.path, sha3_384: blob.sha3_384, size: blob.size, record };
    },
    ({ source, record }) =>
      log(
        `verified ${basename(source)}: ${record.name} revision ${record.revision} (${record.info.architectures.join(", ")})`,
      ),
  );
}

/** The records after the import: roots, assertions, revisions, releases, store metadata, retention. */
async function newRecords(
  layout: StoreLayout,
  stored: Records,
  got: { unpacked: Unpacked; roots: ImportRoots; asserts: NewAssertions; staged: readonly StagedSnap[] },
  opts: ImportOptions,
  now: Date,
  log: (line: string) => void,
): Promise<ImportChange> {
  const { unpacked, staged } = got;
  let records = withRoots(
    stored,
    got.roots.newRoots.map((a) => objectId(a.raw)),
  );
  records = withAssertions(records, got.asserts.candidates.map(toAssertionRecord));
  const present = new Set(records.revisions.map((r) => `${r.name}\u0000${r.revision}`));
  for (const s of staged) records = withRevision(records, withStoreFacts(s.record, unpacked.facts));
  checkReleaseConflicts(
    staged.map((s) => ({
      name: s.record.name,
      revision: s.record.revision,
      architectures: s.record.info.architectures,
    })),
    opts.release ?? [],
  );
  const events = releaseEvents(records, staged, opts.release ?? [], unpacked.releases, now);
  records = withReleases(records, events);
  // a bundle carries the publisher's whole, current store metadata: it replaces what the store had
  for (const [name, meta] of unpacked.meta)
    records = replaceSnapMeta(records, name, mergeExported(records.snaps[name], meta));
  // the retention policy, when set to apply at import (`snapshelf retention N --on-import`)
  const retention = await retentionAtImport(layout, records);
  for (const r of retention.removed) log(`retention: dropped ${r.name} revision ${r.revision}`);
  return { records: retention.records, events, present, retained: retention.removed };
}

/** The release events: `--release` channels for every imported revision, then what bundles' channel maps changed. */
function releaseEvents(
  records: Records,
  staged: readonly StagedSnap[],
  release: readonly string[],
  bundleReleases: readonly BundleRelease[],
  now: Date,
): Omit<ReleaseRecord, "seq">[] {
  const at = now.toISOString();
  const events: Omit<ReleaseRecord, "seq">[] = [];
  for (const ch of release) {
    const channel = fullChannelName(parseFullChannel(ch));
    for (const s of staged) {
      for (const arch of releaseArchKeys(s.record.info.architectures)) {
        events.push({ name: s.record.name, channel, arch, revision: s.record.revision, at });
      }
    }
  }
  // a bundle's channel map: record what changed, so the history grows with every import
  for (const b of bundleReleases) {
    if (!records.revisions.some((r) => r.name === b.name && r.revision === b.revision)) {
      throw new SnapshelfError(
        "bundle-release",
        `cannot import: bundle releases ${b.name} revision ${b.revision}, which is neither in it nor in the store`,
      );
    }
    const channel = fullChannelName(parseFullChannel(b.channel));
    const head = [...records.releases, ...events]
      .filter((e) => e.name === b.name && e.channel === channel && e.arch === b.arch)
      .pop();
    if (head?.revision !== b.revision)
      events.push({ name: b.name, channel, arch: b.arch, revision: b.revision, at: b.at });
  }
  return events;
}

/** Moves the staged blobs into the pool and writes the new assertion objects (each skipped if present). */
async function commitObjects(
  layout: StoreLayout,
  staged: readonly { readonly staged: string; readonly sha3_384: string }[],
  assertions: readonly Assertion[],
): Promise<void> {
  await ensureDir(layout.blobs);
  for (const s of staged) {
    const target = blobPath(layout.blobs, s.sha3_384);
    if (await pathExists(target)) continue;
    faultPoint("import:before-blob-rename");
    await rename(s.staged, target);
    faultPoint("import:after-blob-rename");
  }
  for (const a of assertions) {
    const p = assertionObjectPath(layout, objectId(a.raw));
    if (await pathExists(p)) continue;
    await ensureDir(dirname(p));
    faultPoint("import:before-assertion-write");
    await writeFileAtomic(p, a.raw);
    faultPoint("import:after-assertion-write");
  }
}
