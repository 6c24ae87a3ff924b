/**
 * import's share for components (snap resources, snapd >= 2.62; issue 13 §3): `.comp` blobs
 * are hashed while copied into the change's staging, read (`meta/component.yaml`) and checked
 * against the verified assertions as snapd checks them before installing one: the blob's
 * digest and size against its `snap-resource-revision`, that assertion's snap-id against a
 * snap-declaration naming the snap that component.yaml names, and at least one
 * `snap-resource-pair` pairing the component revision with a revision of that snap the
 * store holds (after this import). Nothing is recorded unless every component checks out.
 */
import { basename } from "node:path";
import type { Assertion } from "../assertions/types.js";
import { type BlobInfo, importBlob } from "../blobs/store.js";
import type { ComponentRecord, RevisionRecord } from "../model/records.js";
import { readSnapYaml } from "../snapfile/read.js";
import { checkComponent, refuse } from "../store/component-check.js";
import { mapOrdered } from "../util/ordered.js";

/** A component blob is named `.comp` (what `snap download NAME+COMPONENT` writes). */
export function isComponentFile(path: string): boolean {
  return path.endsWith(".comp");
}

export interface StagedComponent {
  readonly source: string;
  readonly staged: string;
  readonly record: ComponentRecord;
}

/** Copies (hashing) every component file into `staging` and checks it; in input order. */
export async function stageComponents(
  staging: string,
  files: readonly string[],
  parallel: number,
  stagedDigests: ReadonlyMap<string, { readonly sha3_384: string; readonly size: number }>,
  adopt: (file: string, sha3hex: string, size: number) => Promise<BlobInfo>,
  assertions: readonly Assertion[],
  revisions: readonly RevisionRecord[],
  log: (line: string) => void,
): Promise<StagedComponent[]> {
  return mapOrdered(
    files,
    parallel,
    async (f): Promise<StagedComponent> => {
      const extracted = stagedDigests.get(f);
      const blob = extracted
        ? await adopt(f, extracted.sha3_384, extracted.size)
        : await importBlob(staging, f, undefined, { sourceName: f });
      const yaml = await readSnapYaml(blob.path, { displayName: f, member: "meta/component.yaml" });
      const record = checkComponent(f, blob, yaml, assertions, revisions);
      return { source: f, staged: blob.path, record };
    },
    ({ source, record }) =>
      log(`verified ${basename(source)}: ${record.name}+${record.component} revision ${record.revision}`),
  );
}

/** One component revision, one blob: refuses a revision the store (or this import) holds with another blob. */
export function checkComponentClash(held: readonly ComponentRecord[], staged: readonly StagedComponent[]): void {
  const seen = new Map<string, string>();
  for (const c of held) seen.set(`${c.snapId}\0${c.component}\0${c.revision}`, c.sha3_384);
  for (const s of staged) {
    const r = s.record;
    const k = `${r.snapId}\0${r.component}\0${r.revision}`;
    const prev = seen.get(k);
    if (prev !== undefined && prev !== r.sha3_384) {
      throw refuse(
        "revision-clash",
        s.source,
        `${r.name}+${r.component} revision ${r.revision} is already held with another blob (sha3-384 ${prev})`,
      );
    }
    seen.set(k, r.sha3_384);
  }
}
