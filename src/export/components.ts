/**
 * export's share for components (snap resources, issue 13 §3): the components the store lists in
 * `resources` for each exported revision (all, or those `--component` names), their
 * `snap-resource-revision` and `snap-resource-pair` assertions (fetched with their chains and
 * verified with the other assertions), and the check of every downloaded blob with the
 * importer's own `checkComponent` (digest, size, resource-name, snap-declaration, pairing).
 */
import type { Assertion } from "../assertions/types.js";
import { digestHexToBase64Url } from "../blobs/store.js";
import { type BundleComponent, componentEntryName } from "../bundle/format.js";
import { readSnapYaml } from "../snapfile/read.js";
import { checkComponent } from "../store/component-check.js";
import { objectId } from "../store/cross-check.js";
import type { UpstreamResource } from "../upstream/wire.js";
import { SnapshelfError } from "../util/errors.js";
import type { ManifestIndex } from "./manifest.js";

/** What this module reads of a planned snap (export.ts's PlannedSnap). */
export interface SnapWithResources {
  readonly name: string;
  readonly snapId: string;
  readonly revisions: readonly {
    readonly revision: number;
    /** In the offline store already (`--since`). */
    readonly skip: boolean;
    readonly up: { readonly resources?: readonly UpstreamResource[] };
    readonly info: { readonly provenance?: string } | undefined;
  }[];
}

/** One component revision to carry: the store's description, its bundle entry, its blob once fetched. */
export interface PlannedComponent {
  readonly res: UpstreamResource;
  /** `NAME+COMPONENT_REV.comp`. */
  readonly label: string;
  readonly entry: BundleComponent;
  blob?: string;
}

/** Where an assertion chain starts: type and reduced primary key. */
type Start = [string, string[]];

/** Fetches assertions with their chains (export.ts's ChainFetcher). */
interface Fetcher {
  closure(start: readonly [string, readonly string[]][]): Promise<Assertion[]>;
}

/** `--component NAME` that no exported revision has: one line naming it and what there is. */
export function checkNamedComponents(snaps: Iterable<SnapWithResources>, names: readonly string[] | undefined): void {
  if (names === undefined || names.length === 0) return;
  const have = new Set<string>();
  for (const p of snaps) for (const r of p.revisions) for (const res of r.up.resources ?? []) have.add(res.name);
  for (const n of names) {
    if (!have.has(n)) {
      const list = [...have].sort().join(", ");
      throw new SnapshelfError(
        "component-not-found",
        `cannot export: no exported revision has component ${JSON.stringify(n)} (${list === "" ? "they have no components" : `components: ${list}`})`,
      );
    }
  }
}

/**
 * The components of `p`'s revisions (once per component revision, with every exported snap
 * revision it comes with), their assertions fetched. With `--since`, a component that only comes
 * with revisions the offline store has is left out when the store also has its
 * snap-resource-revision (it imported it).
 */
export async function planComponents(
  p: SnapWithResources,
  names: readonly string[] | undefined,
  fetcher: Fetcher,
  since: ManifestIndex,
): Promise<{ components: PlannedComponent[]; starts: Start[] }> {
  const wanted = names === undefined || names.length === 0 ? undefined : new Set(names);
  const byKey = new Map<string, { res: UpstreamResource; pairs: number[]; carried: boolean; prov?: string }>();
  for (const r of p.revisions) {
    for (const res of r.up.resources ?? []) {
      if (wanted !== undefined && !wanted.has(res.name)) continue;
      const key = `${res.name}_${res.revision}`;
      const prev = byKey.get(key);
      if (prev !== undefined && prev.res.download.sha3_384 !== res.download.sha3_384) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export ${p.name}: the store gives ${p.name}+${res.name} revision ${res.revision} two blobs (sha3-384 ${prev.res.download.sha3_384} and ${res.download.sha3_384})`,
        );
      }
      const prov = r.info?.provenance;
      const e = prev ?? { res, pairs: [], carried: false, ...(prov === undefined ? {} : { prov }) };
      if (!e.pairs.includes(r.revision)) e.pairs.push(r.revision);
      e.carried ||= !r.skip;
      byKey.set(key, e);
    }
  }
  const components: PlannedComponent[] = [];
  const starts: Start[] = [];
  for (const [, e] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const { res } = e;
    const prov = e.prov === undefined ? [] : [e.prov];
    const resRev: Start = [
      "snap-resource-revision",
      [p.snapId, res.name, digestHexToBase64Url(res.download.sha3_384), ...prov],
    ];
    if (!e.carried) {
      const [a] = await fetcher.closure([resRev]);
      if (a !== undefined && since.hasAssertion(a.type, a.primaryKey, a.revision, objectId(a.raw))) continue;
    }
    const pairs = [...e.pairs].sort((x, y) => x - y);
    const s: Start[] = [
      resRev,
      ...pairs.map(
        (sr): Start => ["snap-resource-pair", [p.snapId, res.name, String(res.revision), String(sr), ...prov]],
      ),
    ];
    await fetcher.closure(s);
    starts.push(...s);
    components.push({
      res,
      label: `${p.name}+${res.name}_${res.revision}.comp`,
      entry: {
        component: res.name,
        revision: res.revision,
        file: componentEntryName(p.name, res.name, res.revision),
        sha3_384: res.download.sha3_384,
        size: res.download.size,
        type: res.type,
        ...(res.version === "" ? {} : { version: res.version }),
        snapRevisions: pairs,
      },
    });
  }
  return { components, starts };
}

/**
 * Every downloaded component blob, checked as import checks it (`checkComponent`: its
 * snap-resource-revision's digest, size and resource-name against the blob and its
 * component.yaml, the snap-declaration, a snap-resource-pair with an exported revision), and
 * that it is the component the store described.
 */
export async function verifyComponents(
  planned: ReadonlyMap<string, SnapWithResources>,
  components: ReadonlyMap<string, readonly PlannedComponent[]>,
  assertions: readonly Assertion[],
): Promise<void> {
  for (const [name, comps] of components) {
    const p = planned.get(name);
    if (p === undefined) continue;
    const revisions = p.revisions.map((r) => ({ snapId: p.snapId, revision: r.revision }));
    for (const c of comps) {
      const yaml = await readSnapYaml(c.blob!, { displayName: c.label, member: "meta/component.yaml" });
      let rec: ReturnType<typeof checkComponent>;
      try {
        rec = checkComponent(c.label, c.res.download, yaml, assertions, revisions);
      } catch (err) {
        if (err instanceof SnapshelfError && err.message.startsWith("cannot import "))
          throw new SnapshelfError(err.code, `cannot export ${err.message.slice("cannot import ".length)}`);
        throw err;
      }
      if (rec.name !== p.name || rec.snapId !== p.snapId || rec.component !== c.res.name) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export ${c.label}: its assertions say ${rec.name}+${rec.component} (snap-id ${rec.snapId})`,
        );
      }
      if (rec.revision !== c.res.revision) {
        throw new SnapshelfError(
          "upstream-bad-response",
          `cannot export ${c.label}: its snap-resource-revision says revision ${rec.revision}`,
        );
      }
    }
  }
}
