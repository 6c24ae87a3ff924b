/**
 * verify: check the whole store from scratch, trusting nothing but the
 * trusted roots, and name every problem by file:
 *
 * - every blob (records and the tree in service) re-hashed: sha3-384 and size;
 * - every assertion object re-hashed against its content address, parsed, and
 *   every chain re-verified to the store's trusted roots;
 * - the tree in service re-rendered from its own catalogue (`.catalogue/`) for
 *   its own base URL and compared byte for byte (missing, extra, different
 *   files; shared per-revision files may be a newer revision of the same
 *   assertion); every download URL it hands out names a blob that is there;
 * - the other generations: every blob they name is there (rollback needs it).
 *
 * Read-only (no lock): a concurrent change can make it report a transient
 * problem, never cause one.
 */

import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { decodeStream } from "../assertions/parse.js";
import { describeAssertion } from "../assertions/ref.js";
import { canonicalRoots, verifyAssertions } from "../assertions/trust.js";
import type { Assertion } from "../assertions/types.js";
import { refKey } from "../assertions/types.js";
import { blobPath, hashFile } from "../blobs/store.js";
import { buildCatalogue, indexCatalogue } from "../catalogue/build-catalogue.js";
import { revisionBlobs } from "../catalogue/resources.js";
import type { Records } from "../model/records.js";
import { STATIC_ROUTES } from "../routes/table.js";
import type { TreeFileBody } from "../routes/types.js";
import { assertionObjectPath, type StoreLayout, treePath } from "../store/layout.js";
import { generationNumbers, readCurrentGeneration, readRecords } from "../store/state.js";
import { isSharedPath, isTreeBookkeeping, TREE_FORMAT, treeFileLocation } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason } from "../util/fs.js";
import { type GenerationTree, readGeneration, walkFiles } from "./files.js";

export interface Problem {
  /** Relative to the store directory, e.g. `blobs/<sha3>.snap`, `trees/3/v2/snaps/info/x.amd64.json`. */
  readonly file: string;
  readonly reason: string;
}

export interface VerifyReport {
  readonly problems: readonly Problem[];
  /** Not problems, but worth knowing (e.g. records changed since the last build). */
  readonly notes: readonly string[];
  readonly checked: {
    readonly blobs: number;
    readonly assertions: number;
    readonly generation?: number;
    readonly treeFiles: number;
    readonly generations: number;
  };
}

export interface VerifyOptions {
  /** Time assertion keys must be valid at (default now). */
  readonly now?: Date;
  readonly log?: (line: string) => void;
}

function sha3(buf: Buffer): string {
  return createHash("sha3-384").update(buf).digest("hex");
}

/** Pure: which expected paths are missing from a tree and which present ones the catalogue does not render. */
export function diffListing(
  expected: ReadonlySet<string>,
  actual: readonly string[],
): { missing: string[]; extra: string[] } {
  const present = new Set(actual);
  return {
    missing: [...expected].filter((p) => !present.has(p)).sort(),
    extra: actual.filter((p) => !expected.has(p)).sort(),
  };
}

/**
 * Pure: the assertions a chain failure message names. `verifyAssertions`
 * names the failing assertion as `cannot verify <type> (<key>)[ from <file>]: ...`.
 */
export function failedBy(message: string, candidates: readonly Assertion[]): Assertion[] {
  return candidates.filter((a) => {
    const named = `cannot verify ${describeAssertion(a)}`;
    return message.startsWith(`${named}:`) || message.startsWith(`${named} from `);
  });
}

/**
 * Verifies every chain, reporting each assertion that does not verify (and
 * then those that needed it): one full pass, and on a failure the failing
 * assertion is set aside and the pass repeated. Bounded by the count.
 */
export function verifyChains(
  assertions: readonly { readonly a: Assertion; readonly file: string }[],
  roots: readonly Assertion[],
  now: Date,
): Problem[] {
  const problems: Problem[] = [];
  let pending = [...assertions];
  for (let round = 0; round <= assertions.length && pending.length > 0; round++) {
    try {
      verifyAssertions(
        pending.map((p) => p.a),
        [],
        { roots },
        now,
      );
      break;
    } catch (err) {
      if (!(err instanceof SnapshelfError)) throw err;
      const bad = new Set(
        failedBy(
          err.message,
          pending.map((p) => p.a),
        ),
      );
      if (bad.size === 0) {
        problems.push({ file: "state/assertions", reason: err.message });
        break;
      }
      for (const p of pending) if (bad.has(p.a)) problems.push({ file: p.file, reason: err.message });
      pending = pending.filter((p) => !bad.has(p.a));
    }
  }
  return problems;
}

/** What one step of verify found. */
interface Findings {
  readonly problems: Problem[];
  readonly notes: string[];
}

/** Verifies the store; never throws for a problem it can name (only for I/O it cannot continue after). */
export async function verifyStore(layout: StoreLayout, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? new Date();
  const rel = (p: string) => relative(layout.root, p);

  let records: Records;
  try {
    records = await readRecords(layout);
  } catch (err) {
    return {
      problems: [{ file: rel(layout.records), reason: (err as Error).message }],
      notes: [],
      checked: { blobs: 0, assertions: 0, treeFiles: 0, generations: 0 },
    };
  }

  // ---- 1. the tree in service, read first: its blobs are checked with the records'
  const current = readCurrentGeneration(layout);
  const served = await readServedTree(layout, current);
  const tree = served.tree;
  // ---- 2. blobs, re-hashed once each
  const blobs = blobsToVerify(records, tree);
  log(`verifying ${blobs.size} blobs`);
  const blobProblems = await verifyBlobs(layout, blobs);
  // ---- 3. assertion objects: bytes, parse, then chains
  log(`verifying ${records.assertions.length + records.roots.length} assertions`);
  const assertionProblems = await verifyAssertionObjects(layout, records, now);
  // ---- 4. the tree in service against its own catalogue
  let treeFiles = 0;
  const treeFindings: Findings = { problems: [], notes: [] };
  if (tree !== undefined) {
    log(`verifying generation ${tree.generation}`);
    const compared = await verifyTreeFiles(layout, records, tree);
    treeFiles = compared.treeFiles;
    treeFindings.problems.push(...compared.problems, ...(await treeDownloads(layout, tree)));
    treeFindings.notes.push(...compared.notes);
    if (JSON.stringify(buildCatalogue(records)) !== JSON.stringify(tree.catalogue)) {
      treeFindings.notes.push(
        `records changed since generation ${tree.generation} was built (run snapshelf build to serve them)`,
      );
    }
  }
  // ---- 5. other generations: rollback targets must not 404
  const gens = await generationNumbers(layout);
  const rollbackProblems = await verifyRollbackTargets(layout, gens, current);
  // ---- 6. symbolic links
  const linkProblems = (await symlinksIn(layout.root)).map(
    (p): Problem => ({
      file: p,
      reason: "symbolic link: snapshelf never makes one, and serve and nginx do not follow it",
    }),
  );
  return {
    problems: dedupe([
      ...served.problems,
      ...blobProblems,
      ...assertionProblems,
      ...treeFindings.problems,
      ...rollbackProblems,
      ...linkProblems,
    ]),
    notes: [...served.notes, ...treeFindings.notes],
    checked: {
      blobs: blobs.size,
      assertions: records.assertions.length + records.roots.length,
      ...(tree !== undefined ? { generation: tree.generation } : {}),
      treeFiles,
      generations: gens.length,
    },
  };
}

async function readServedTree(
  layout: StoreLayout,
  current: number | undefined,
): Promise<Findings & { tree?: GenerationTree }> {
  if (current === undefined) {
    return { problems: [], notes: ["nothing built yet: no tree to check (run snapshelf build)"] };
  }
  try {
    return { problems: [], notes: [], tree: await readGeneration(layout, current) };
  } catch (err) {
    return {
      problems: [{ file: relative(layout.root, treePath(layout, current)), reason: (err as Error).message }],
      notes: [],
    };
  }
}

/** Every blob the records and the tree in service name: its size and whose it is. */
function blobsToVerify(records: Records, tree: GenerationTree | undefined): Map<string, { size: number; who: string }> {
  const blobs = new Map<string, { size: number; who: string }>();
  for (const r of records.revisions) blobs.set(r.sha3_384, { size: r.size, who: `${r.name} revision ${r.revision}` });
  for (const c of records.components ?? []) {
    const who = `${c.name}+${c.component} revision ${c.revision}`;
    if (!blobs.has(c.sha3_384)) blobs.set(c.sha3_384, { size: c.size, who });
  }
  for (const s of tree?.catalogue.snaps ?? []) {
    for (const r of s.revisions) {
      for (const b of revisionBlobs(r))
        if (!blobs.has(b.sha3_384)) blobs.set(b.sha3_384, { size: b.size, who: `${s.name} revision ${r.revision}` });
    }
  }
  return blobs;
}

async function verifyBlobs(
  layout: StoreLayout,
  blobs: ReadonlyMap<string, { size: number; who: string }>,
): Promise<Problem[]> {
  const rel = (p: string) => relative(layout.root, p);
  const problems: Problem[] = [];
  for (const [hex, want] of blobs) {
    const p = blobPath(layout.blobs, hex);
    const st = await stat(p).catch(() => undefined);
    if (!st) {
      problems.push({ file: rel(p), reason: `missing (blob of ${want.who})` });
      continue;
    }
    const got = await hashFile(p);
    if (got.size !== want.size) {
      problems.push({ file: rel(p), reason: `size ${got.size}, expected ${want.size} (blob of ${want.who})` });
    } else if (got.sha3_384 !== hex) {
      problems.push({ file: rel(p), reason: `sha3-384 is ${got.sha3_384}, expected ${hex} (blob of ${want.who})` });
    }
  }
  return problems;
}

/** One stored assertion object: its bytes against its name, and one assertion in it (else a problem). */
async function readObject(
  layout: StoreLayout,
  object: string,
): Promise<{ parsed: Assertion[] } | { problem: Problem }> {
  const p = assertionObjectPath(layout, object);
  const file = relative(layout.root, p);
  let buf: Buffer;
  try {
    buf = await readFile(p);
  } catch (err) {
    return { problem: { file, reason: `cannot read: ${fsErrorReason(err)}` } };
  }
  let parsed: Assertion[] | undefined;
  let parseError: string | undefined;
  try {
    parsed = decodeStream(buf, file);
  } catch (err) {
    parseError = (err as Error).message;
  }
  if (sha3(buf) !== object) {
    return {
      problem: {
        file,
        reason: `damaged: content (${buf.length} bytes) does not match its sha3-384 name${parseError ? `; ${parseError}` : ""}`,
      },
    };
  }
  if (parsed === undefined || parsed.length !== 1) {
    return { problem: { file, reason: parseError ?? `holds ${parsed?.length ?? 0} assertions, expected 1` } };
  }
  return { parsed };
}

async function verifyAssertionObjects(layout: StoreLayout, records: Records, now: Date): Promise<Problem[]> {
  const problems: Problem[] = [];
  const read = async (object: string): Promise<Assertion[]> => {
    const got = await readObject(layout, object);
    if ("problem" in got) {
      problems.push(got.problem);
      return [];
    }
    return got.parsed;
  };
  const roots = canonicalRoots();
  for (const o of records.roots) roots.push(...(await read(o)));
  const stored: { a: Assertion; file: string }[] = [];
  for (const r of records.assertions) {
    for (const a of await read(r.object))
      stored.push({ a, file: relative(layout.root, assertionObjectPath(layout, r.object)) });
  }
  problems.push(...verifyChains(stored, roots, now));
  return problems;
}

/** The tree's files re-rendered from its own catalogue and compared: missing, extra, different. */
async function verifyTreeFiles(
  layout: StoreLayout,
  records: Records,
  tree: GenerationTree,
): Promise<Findings & { treeFiles: number }> {
  const rel = (p: string) => relative(layout.root, p);
  if (tree.meta.format !== TREE_FORMAT) {
    // another layout: this code would render other paths; its blobs are still checked
    return {
      problems: [],
      notes: [
        `generation ${tree.generation} was built by an older snapshelf (tree format ${tree.meta.format}): its files are not compared (snapshelf build writes the current layout)`,
      ],
      treeFiles: 0,
    };
  }
  const problems: Problem[] = [];
  const index = indexCatalogue(tree.catalogue);
  const expected = new Map<string, TreeFileBody>();
  for (const route of STATIC_ROUTES) {
    for (const f of route.files(index, { baseUrl: tree.meta.baseUrl })) expected.set(f.path, f.body);
  }
  const own = (await walkFiles(tree.dir)).map((f) => f.path).filter((p) => !isTreeBookkeeping(p));
  const ownSet = new Set(own);
  // per-revision files live in the shared directory: listed when there
  const shared = [...expected.keys()].filter(
    (p) => !ownSet.has(p) && isSharedPath(p) && treeFileLocation(layout, tree.dir, p) !== undefined,
  );
  const { missing, extra } = diffListing(new Set(expected.keys()), [...own, ...shared]);
  const newerShared = newerSharedRevision(records, tree);
  const inTree = (p: string) => rel(treeFileLocation(layout, tree.dir, p) ?? join(tree.dir, p));
  for (const p of missing) problems.push({ file: inTree(p), reason: "missing: the catalogue renders it" });
  for (const p of extra) problems.push({ file: inTree(p), reason: "not rendered from the catalogue (extra file)" });
  const absent = new Set(missing);
  let treeFiles = 0;
  for (const [p, body] of expected) {
    if (absent.has(p)) continue;
    treeFiles++;
    const got = await readFile(treeFileLocation(layout, tree.dir, p) ?? join(tree.dir, p));
    if ("text" in body) {
      if (!got.equals(Buffer.from(body.text))) {
        problems.push({ file: inTree(p), reason: "differs from what its catalogue renders" });
      }
    } else if (sha3(got) !== body.object && !(isSharedPath(p) && newerShared(body.object, sha3(got)))) {
      problems.push({ file: inTree(p), reason: `differs from assertion object ${body.object.slice(0, 12)}…` });
    }
  }
  return { problems, notes: [], treeFiles };
}

/** Whether `got` is another revision of the assertion `object` (a shared file may hold a newer one than this generation's). */
function newerSharedRevision(records: Records, tree: GenerationTree): (object: string, got: string) => boolean {
  const objectKey = new Map<string, string>();
  const revisionsOf = new Map<string, Set<string>>();
  for (const a of [...records.assertions, ...tree.catalogue.assertions]) {
    const k = refKey(a.type, a.primaryKey);
    objectKey.set(a.object, k);
    revisionsOf.set(k, (revisionsOf.get(k) ?? new Set()).add(a.object));
  }
  return (object, got) => revisionsOf.get(objectKey.get(object) ?? "")?.has(got) ?? false;
}

/** Every download URL the tree in service hands out names a blob that is there. */
async function treeDownloads(layout: StoreLayout, tree: GenerationTree): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const s of tree.catalogue.snaps) {
    for (const r of s.revisions) {
      for (const b of revisionBlobs(r)) {
        if (!(await stat(blobPath(layout.blobs, b.sha3_384)).catch(() => undefined))) {
          problems.push({
            file: relative(layout.root, blobPath(layout.blobs, b.sha3_384)),
            reason: `download URL ${tree.meta.baseUrl}/blobs/${b.sha3_384}.snap of ${s.name} revision ${r.revision} in generation ${tree.generation} would 404`,
          });
        }
      }
    }
  }
  return problems;
}

/** The other generations: every blob they name is there, whole (rollback needs it). */
async function verifyRollbackTargets(
  layout: StoreLayout,
  gens: readonly number[],
  current: number | undefined,
): Promise<Problem[]> {
  const rel = (p: string) => relative(layout.root, p);
  const problems: Problem[] = [];
  for (const g of gens) {
    if (g === current) continue;
    let other: GenerationTree;
    try {
      other = await readGeneration(layout, g);
    } catch (err) {
      problems.push({ file: rel(treePath(layout, g)), reason: (err as Error).message });
      continue;
    }
    for (const s of other.catalogue.snaps) {
      for (const r of s.revisions) {
        for (const b of revisionBlobs(r)) {
          const st = await stat(blobPath(layout.blobs, b.sha3_384)).catch(() => undefined);
          if (st?.size !== b.size) {
            problems.push({
              file: rel(blobPath(layout.blobs, b.sha3_384)),
              reason: `missing or damaged: generation ${g} serves it (${s.name} revision ${r.revision}); rollback to it would 404`,
            });
          }
        }
      }
    }
  }
  return problems;
}

/**
 * Every symbolic link below `root` (relative paths, sorted), none followed. The store holds only
 * plain files and directories; a link could make serve or nginx reach outside it, so both refuse
 * them, and here they are named. Directory entries' types come with readdir: no stat per file.
 */
export async function symlinksIn(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return; // gone meanwhile, or unreadable: the other checks name what matters
    }
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isSymbolicLink()) out.push(r);
      else if (e.isDirectory()) await walk(join(abs, e.name), r);
    }
  };
  await walk(root, "");
  return out.sort();
}

function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.file}\0${p.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
