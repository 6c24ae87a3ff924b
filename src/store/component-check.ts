/**
 * The check of one component blob (snap resource, issue 13 §3) against verified assertions, as
 * snapd checks one before installing it: the blob's digest and size against its
 * `snap-resource-revision`, that assertion's resource-name against `meta/component.yaml`, its
 * snap-id's snap-declaration against the snap component.yaml names, and a `snap-resource-pair`
 * pairing the component revision with a revision of that snap the store holds (or an export
 * carries). Shared by import (src/ops/import-components.ts) and export (src/export/components.ts).
 */
import { headerString } from "../assertions/parse.js";
import type { Assertion } from "../assertions/types.js";
import { digestHexToBase64Url } from "../blobs/store.js";
import type { ComponentRecord, RevisionRecord } from "../model/records.js";
import { parseComponentYaml } from "../snapfile/component-yaml.js";
import { SnapshelfError } from "../util/errors.js";

export function refuse(code: string, source: string, reason: string): SnapshelfError {
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
  revisions: readonly Pick<RevisionRecord, "snapId" | "revision">[],
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
