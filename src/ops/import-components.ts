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
import { headerString } from "../assertions/parse.js";
import type { Assertion } from "../assertions/types.js";
import { type BlobInfo, digestHexToBase64Url, importBlob } from "../blobs/store.js";
import type { ComponentRecord, RevisionRecord } from "../model/records.js";
import { parseComponentYaml } from "../snapfile/component-yaml.js";
import { readSnapYaml } from "../snapfile/read.js";
import { SnapshelfError } from "../util/errors.js";
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

function refuse(code: string, source: string, reason: string): SnapshelfError {
  return new SnapshelfError(code, `cannot import ${source}: ${reason}`);
}

/**
 * Checks one staged component blob against `assertions` (verified: roots, stored and new) and
 * the snap revisions the store will hold; returns its record.
 */
export function checkComponent(
  source: string,
  blob: { readonly sha3_384: string; readonly size: number },
  yamlText: string,
  assertions: readonly Assertion[],
  revisions: readonly RevisionRecord[],
): ComponentRecord {
  const info = parseComponentYaml(yamlText, source);
  const digest = digestHexToBase64Url(blob.sha3_384);
  const h = (a: Assertion, k: string): string => headerString(a, k) ?? "";
  const resRev = assertions
    .filter((a) => a.type === "snap-resource-revision" && h(a, "resource-sha3-384") === digest)
    .sort((a, b) => b.revision - a.revision)[0];
  if (resRev === undefined) {
    throw refuse(
      "no-snap-resource-revision",
      source,
      `no snap-resource-revision assertion for resource-sha3-384 ${digest} (give its assertions with --assert or in a .assert file)`,
    );
  }
  if (h(resRev, "resource-size") !== String(blob.size)) {
    throw refuse(
      "blob-size-mismatch",
      source,
      `size ${blob.size} does not match snap-resource-revision resource-size ${h(resRev, "resource-size")}`,
    );
  }
  if (h(resRev, "resource-name") !== info.component) {
    throw refuse(
      "resource-name-mismatch",
      source,
      `snap-resource-revision resource-name "${h(resRev, "resource-name")}" does not match component.yaml's component "${info.component}"`,
    );
  }
  const snapId = h(resRev, "snap-id");
  const decl = assertions
    .filter((a) => a.type === "snap-declaration" && h(a, "snap-id") === snapId)
    .sort((a, b) => b.revision - a.revision)[0];
  if (decl === undefined) throw refuse("no-snap-declaration", source, `no snap-declaration for snap-id ${snapId}`);
  if (h(decl, "snap-name") !== info.snapName) {
    throw refuse(
      "snap-name-mismatch",
      source,
      `snap-declaration of ${snapId} names "${h(decl, "snap-name")}" but component.yaml says "${info.snapName}"`,
    );
  }
  const revision = Number(h(resRev, "resource-revision"));
  const held = new Set(revisions.filter((r) => r.snapId === snapId).map((r) => String(r.revision)));
  const paired = assertions.some(
    (a) =>
      a.type === "snap-resource-pair" &&
      h(a, "snap-id") === snapId &&
      h(a, "resource-name") === info.component &&
      h(a, "resource-revision") === String(revision) &&
      held.has(h(a, "snap-revision")),
  );
  if (!paired) {
    throw refuse(
      "component-not-paired",
      source,
      `no snap-resource-pair assertion pairs ${info.snapName}+${info.component} revision ${revision} with a revision of ${info.snapName} the store holds`,
    );
  }
  return {
    name: info.snapName,
    snapId,
    component: info.component,
    revision,
    sha3_384: blob.sha3_384,
    size: blob.size,
    type: info.type,
    version: info.version,
    description: info.description,
    createdAt: h(resRev, "timestamp"),
  };
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
