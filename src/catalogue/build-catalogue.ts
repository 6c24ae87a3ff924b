/**
 * The fold: imported records -> Catalogue. Pure and deterministic: the same
 * records give the same catalogue, byte for byte once rendered.
 */
import { newestByKey, refKey } from "../assertions/types.js";
import type { AssertionRecord, Records } from "../model/records.js";
import { KNOWN_ARCHES, RISKS } from "../model/types.js";
import { overrideReleases } from "./overrides.js";
import { resourcesOfRecords } from "./resources.js";
import type {
  AssertionEntry,
  Catalogue,
  ChannelReleases,
  Publisher,
  Release,
  RevisionEntry,
  SnapEntry,
} from "./types.js";

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Newest revision of every (type, primary key). */
export function latestAssertions(records: readonly AssertionRecord[]): Map<string, AssertionRecord> {
  return newestByKey(records);
}

function publisherOf(
  latest: Map<string, AssertionRecord>,
  snapId: string,
): { publisher: Publisher; snapName?: string } {
  const decl = latest.get(refKey("snap-declaration", ["16", snapId]));
  const publisherId = decl?.headers["publisher-id"] ?? "";
  const acct = latest.get(refKey("account", [publisherId]));
  const validation =
    acct?.headers["validation"] === "certified" ? "verified" : (acct?.headers["validation"] ?? "unproven");
  const publisher: Publisher = {
    id: publisherId,
    username: acct?.headers["username"] ?? publisherId,
    displayName: acct?.headers["display-name"] ?? publisherId,
    validation,
  };
  const snapName = decl?.headers["snap-name"];
  return snapName === undefined ? { publisher } : { publisher, snapName };
}

function riskIndex(risk: string): number {
  const i = (RISKS as readonly string[]).indexOf(risk);
  return i < 0 ? RISKS.length : i;
}

function compareChannelReleases(a: ChannelReleases, b: ChannelReleases): number {
  const ta = a.track === "latest" ? "" : a.track;
  const tb = b.track === "latest" ? "" : b.track;
  return (
    cmpStr(ta, tb) ||
    riskIndex(a.risk) - riskIndex(b.risk) ||
    cmpStr(a.branch ?? "", b.branch ?? "") ||
    cmpStr(a.arch, b.arch)
  );
}

export interface CatalogueOptions {
  /** Extra device architectures to answer for, beyond the known ones. */
  readonly arches?: readonly string[];
}

export function buildCatalogue(records: Records, opts: CatalogueOptions = {}): Catalogue {
  const latest = latestAssertions(records.assertions);

  const byName = new Map<string, RevisionEntry[]>();
  const snapIds = new Map<string, string>();
  const resourcesOf = resourcesOfRecords(records);
  for (const r of records.revisions) {
    const info = r.info;
    const resources = resourcesOf(r.snapId, r.revision);
    const commonIds = r.commonIds ?? info.commonIds;
    const entry: RevisionEntry = {
      revision: r.revision,
      version: info.version,
      type: info.type,
      ...(info.base !== undefined ? { base: info.base } : {}),
      confinement: info.confinement,
      grade: info.grade,
      architectures: info.architectures,
      epoch: info.epoch,
      sha3_384: r.sha3_384,
      size: r.size,
      createdAt: r.createdAt,
      ...(commonIds === undefined ? {} : { commonIds }),
      snapYaml: r.snapYaml,
      summary: info.summary,
      description: info.description,
      apps: info.apps,
      defaultProviders: info.defaultProviders,
      ...(resources.length > 0 ? { resources } : {}),
    };
    const list = byName.get(r.name) ?? [];
    list.push(entry);
    byName.set(r.name, list);
    snapIds.set(r.name, r.snapId);
  }

  const channelsByName = new Map<string, Map<string, { c: Omit<ChannelReleases, "history">; h: Release[] }>>();
  // overrides fold in as releases after every imported one: each is its channel's head
  for (const ev of [...records.releases, ...overrideReleases(records)]) {
    const parts = ev.channel.split("/");
    const [track = "latest", risk = "stable", branch] = parts;
    const key = `${ev.channel}@${ev.arch}`;
    const m = channelsByName.get(ev.name) ?? new Map();
    const slot = m.get(key) ?? {
      c: { track, risk, ...(branch !== undefined ? { branch } : {}), arch: ev.arch },
      h: [],
    };
    slot.h.push({ revision: ev.revision, releasedAt: ev.at, seq: ev.seq });
    m.set(key, slot);
    channelsByName.set(ev.name, m);
  }

  const snaps: SnapEntry[] = [];
  for (const name of [...byName.keys()].sort()) {
    const snapId = snapIds.get(name) ?? "";
    const revisions = (byName.get(name) ?? []).sort((a, b) => a.revision - b.revision);
    const channels: ChannelReleases[] = [...(channelsByName.get(name)?.values() ?? [])]
      .map(({ c, h }) => ({ ...c, history: [...h].sort((a, b) => a.seq - b.seq) }))
      .sort(compareChannelReleases);
    const { publisher } = publisherOf(latest, snapId);
    snaps.push({ name, snapId, publisher, meta: records.snaps[name] ?? {}, revisions, channels });
  }

  const assertions: AssertionEntry[] = records.assertions.map((a) => ({
    type: a.type,
    primaryKey: a.primaryKey,
    revision: a.revision,
    format: a.format,
    object: a.object,
    headers: a.headers,
  }));

  const arches = new Set<string>(KNOWN_ARCHES);
  for (const a of opts.arches ?? []) arches.add(a);
  for (const r of records.revisions) for (const a of r.info.architectures) if (a !== "all") arches.add(a);
  const extra = [...arches].filter((a) => !(KNOWN_ARCHES as readonly string[]).includes(a)).sort();

  return { snaps, assertions, arches: [...KNOWN_ARCHES, ...extra] };
}

/** Index of a catalogue for lookups at request time (built once at start-up). */
export interface CatalogueIndex {
  readonly catalogue: Catalogue;
  readonly byName: ReadonlyMap<string, SnapEntry>;
  readonly bySnapId: ReadonlyMap<string, SnapEntry>;
  /** `type/pk/...` (full primary key) -> revisions of that assertion, newest first. */
  readonly assertions: ReadonlyMap<string, readonly AssertionEntry[]>;
  /** `type/seq-key/...` -> sequences present, ascending (sequence-forming types). */
  readonly sequences: ReadonlyMap<string, readonly number[]>;
}

export function indexCatalogue(catalogue: Catalogue): CatalogueIndex {
  const byName = new Map<string, SnapEntry>();
  const bySnapId = new Map<string, SnapEntry>();
  for (const s of catalogue.snaps) {
    byName.set(s.name, s);
    if (s.snapId) bySnapId.set(s.snapId, s);
  }
  const assertions = new Map<string, AssertionEntry[]>();
  const sequences = new Map<string, number[]>();
  for (const a of catalogue.assertions) {
    const k = refKey(a.type, a.primaryKey);
    const list = assertions.get(k) ?? [];
    list.push(a);
    assertions.set(k, list);
    if (a.type === "validation-set") {
      const seqKey = refKey(a.type, a.primaryKey.slice(0, -1));
      const seq = Number.parseInt(a.primaryKey[a.primaryKey.length - 1] ?? "", 10);
      const l = sequences.get(seqKey) ?? [];
      if (!l.includes(seq)) l.push(seq);
      sequences.set(seqKey, l);
    }
  }
  for (const l of assertions.values()) l.sort((a, b) => b.revision - a.revision);
  for (const l of sequences.values()) l.sort((a, b) => a - b);
  return { catalogue, byName, bySnapId, assertions, sequences };
}
