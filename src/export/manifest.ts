/**
 * The manifest of an offline store: what it holds (revisions with their
 * sha3-384, assertions by reference and content address, current channels),
 * printed by `snapshelf manifest` and carried back to the connected side for
 * `snapshelf export --since`, which then leaves out what the store has.
 */
import { readFile } from "node:fs/promises";
import type { Records } from "../model/records.js";
import type { ExportedWith } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason } from "../util/fs.js";
import {
  asObject,
  intField,
  listField,
  parseJson,
  type ShapeFail,
  stringField,
  stringList,
} from "../util/json-shape.js";

export const MANIFEST_FORMAT = "snapshelf-manifest";
export const MANIFEST_VERSION = 1;

export interface ManifestRevision {
  readonly revision: number;
  readonly sha3_384: string;
  readonly size: number;
}

export interface ManifestChannel {
  readonly channel: string;
  readonly arch: string;
  readonly revision: number;
}

export interface ManifestSnap {
  readonly name: string;
  readonly snapId: string;
  readonly revisions: readonly ManifestRevision[];
  readonly channels: readonly ManifestChannel[];
  /** The channels (as requested) and architectures exports asked for; absent when no bundle said. */
  readonly exported?: ExportedWith;
}

export interface ManifestAssertion {
  readonly type: string;
  /** Full primary key. */
  readonly key: readonly string[];
  readonly revision: number;
  /** Hex sha3-384 of the exact bytes (the store's object name). */
  readonly sha3_384: string;
}

export interface StoreManifest {
  readonly snaps: readonly ManifestSnap[];
  readonly assertions: readonly ManifestAssertion[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The manifest of a store's records (pure, deterministic). */
export function buildManifest(records: Records): StoreManifest {
  const byName = new Map<string, { snapId: string; revisions: ManifestRevision[] }>();
  for (const r of records.revisions) {
    const s = byName.get(r.name) ?? { snapId: r.snapId, revisions: [] };
    s.revisions.push({ revision: r.revision, sha3_384: r.sha3_384, size: r.size });
    byName.set(r.name, s);
  }
  const heads = new Map<string, ManifestChannel & { seq: number; name: string }>();
  for (const e of records.releases) {
    const k = `${e.name}\0${e.channel}\0${e.arch}`;
    const prev = heads.get(k);
    if (prev === undefined || prev.seq < e.seq) {
      heads.set(k, { name: e.name, channel: e.channel, arch: e.arch, revision: e.revision, seq: e.seq });
    }
  }
  const snaps: ManifestSnap[] = [...byName.keys()].sort(cmp).map((name) => {
    const s = byName.get(name)!;
    const channels = [...heads.values()]
      .filter((h) => h.name === name)
      .map((h) => ({ channel: h.channel, arch: h.arch, revision: h.revision }))
      .sort((a, b) => cmp(a.channel, b.channel) || cmp(a.arch, b.arch));
    const exported = records.snaps[name]?.exported;
    return {
      name,
      snapId: s.snapId,
      revisions: [...s.revisions].sort((a, b) => a.revision - b.revision),
      channels,
      ...(exported === undefined
        ? {}
        : { exported: { channels: [...exported.channels], arches: [...exported.arches] } }),
    };
  });
  const assertions = records.assertions.map((a) => ({
    type: a.type,
    key: [...a.primaryKey],
    revision: a.revision,
    sha3_384: a.object,
  }));
  return { snaps, assertions };
}

/** The manifest as printed: fixed key order, 2-space indent. */
export function renderManifest(m: StoreManifest): string {
  return `${JSON.stringify(
    {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      snaps: m.snaps.map((s) => ({
        name: s.name,
        "snap-id": s.snapId,
        revisions: s.revisions.map((r) => ({ revision: r.revision, "sha3-384": r.sha3_384, size: r.size })),
        channels: s.channels.map((c) => ({ channel: c.channel, arch: c.arch, revision: c.revision })),
        ...(s.exported === undefined
          ? {}
          : { "exported-with": { channels: s.exported.channels, arches: s.exported.arches } }),
      })),
      assertions: m.assertions.map((a) => ({
        type: a.type,
        key: a.key,
        revision: a.revision,
        "sha3-384": a.sha3_384,
      })),
    },
    null,
    2,
  )}\n`;
}

/** Parses a manifest (errors name the file and field). */
export function parseManifest(text: string, source: string): StoreManifest {
  const fail: ShapeFail = (path, reason) =>
    new SnapshelfError(
      "bad-manifest",
      path === ""
        ? `cannot read manifest ${source}: ${reason}`
        : `cannot read manifest ${source}: field ${path}: ${reason}`,
    );
  const o = asObject(parseJson(text, fail), "", fail);
  const format = stringField(o, "format", "", fail);
  if (format !== MANIFEST_FORMAT)
    throw fail("format", `expected ${JSON.stringify(MANIFEST_FORMAT)}, got ${JSON.stringify(format)}`);
  const version = intField(o, "version", "", fail, 1);
  if (version > MANIFEST_VERSION) throw fail("version", `version ${version} is newer than this snapshelf understands`);
  const hex = /^[0-9a-f]{96}$/;
  const snaps = listField(o, "snaps", "", fail).map((s, i): ManifestSnap => {
    const p = `snaps[${i}]`;
    const so = asObject(s, p, fail);
    let exported: ExportedWith | undefined;
    if (so["exported-with"] !== undefined) {
      const ep = `${p}.exported-with`;
      const eo = asObject(so["exported-with"], ep, fail);
      exported = {
        channels: stringList(eo["channels"] ?? [], `${ep}.channels`, fail),
        arches: stringList(eo["arches"] ?? [], `${ep}.arches`, fail),
      };
    }
    return {
      name: stringField(so, "name", p, fail, { nonEmpty: true }),
      snapId: stringField(so, "snap-id", p, fail),
      revisions: listField(so, "revisions", p, fail).map((r, j) => {
        const rp = `${p}.revisions[${j}]`;
        const ro = asObject(r, rp, fail);
        return {
          revision: intField(ro, "revision", rp, fail, 1),
          sha3_384: stringField(ro, "sha3-384", rp, fail, { pattern: hex }),
          size: intField(ro, "size", rp, fail),
        };
      }),
      channels: (so["channels"] === undefined ? [] : listField(so, "channels", p, fail)).map((c, j) => {
        const cp = `${p}.channels[${j}]`;
        const co = asObject(c, cp, fail);
        return {
          channel: stringField(co, "channel", cp, fail),
          arch: stringField(co, "arch", cp, fail),
          revision: intField(co, "revision", cp, fail, 1),
        };
      }),
      ...(exported === undefined ? {} : { exported }),
    };
  });
  const assertions = listField(o, "assertions", "", fail).map((a, i): ManifestAssertion => {
    const p = `assertions[${i}]`;
    const ao = asObject(a, p, fail);
    return {
      type: stringField(ao, "type", p, fail, { nonEmpty: true }),
      key: stringList(ao["key"], `${p}.key`, fail),
      revision: intField(ao, "revision", p, fail),
      sha3_384: stringField(ao, "sha3-384", p, fail, { pattern: hex }),
    };
  });
  return { snaps, assertions };
}

export async function readManifestFile(path: string): Promise<StoreManifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SnapshelfError("input-unreadable", `cannot read manifest ${path}: ${fsErrorReason(err)}`);
  }
  return parseManifest(text, path);
}

/** Lookups `export --since` needs. */
export class ManifestIndex {
  private readonly revisions = new Map<string, ManifestRevision>();
  private readonly names = new Set<string>();
  private readonly objects = new Set<string>();
  private readonly refs = new Set<string>();

  constructor(m: StoreManifest | undefined) {
    for (const s of m?.snaps ?? []) {
      this.names.add(s.name);
      for (const r of s.revisions) this.revisions.set(`${s.name}\0${r.revision}`, r);
    }
    for (const a of m?.assertions ?? []) {
      this.objects.add(a.sha3_384);
      this.refs.add(`${a.type}\0${a.key.join("\0")}\0${a.revision}`);
    }
  }

  /** The store's copy of NAME revision REV, if it has one. */
  revision(name: string, revision: number): ManifestRevision | undefined {
    return this.revisions.get(`${name}\0${revision}`);
  }

  hasSnap(name: string): boolean {
    return this.names.has(name);
  }

  /** Whether the store has this assertion (same bytes, or same type, key and revision). */
  hasAssertion(type: string, fullKey: readonly string[], revision: number, sha3hex: string): boolean {
    return this.objects.has(sha3hex) || this.refs.has(`${type}\0${fullKey.join("\0")}\0${revision}`);
  }
}
