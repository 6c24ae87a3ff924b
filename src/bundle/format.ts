/**
 * The bundle format (README "Bundle format"): one tar per snap, carried
 * across the air gap from `snapshelf export` to `snapshelf import`.
 *
 * ```
 * bundle.json                      always the first entry
 * blobs/<name>_<revision>.snap     the revisions the bundle carries
 * blobs/<name>+<component>_<rev>.comp  its components (version 3)
 * assertions/<type>_<key>.assert   one assertion each, byte for byte
 * ```
 *
 * bundle.json is versioned (`format` + `version`); a reader refuses a version
 * it does not know. Every other entry must be listed in bundle.json (with its
 * size and sha3-384), so a truncated or padded archive is always detected.
 * Pure: parsing and rendering only, no I/O.
 */
import { parseFullChannel } from "../model/channel.js";
import { parseRevisionFacts } from "../model/revision-facts.js";
import type { Epoch } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";
import {
  asObject,
  intField,
  type JsonObject,
  listField,
  objectField,
  optionalIntField,
  optionalListField,
  optionalStringField,
  parseJson,
  type ShapeFail,
  stringField,
  stringList,
} from "../util/json-shape.js";

export const BUNDLE_FORMAT = "snapshelf-bundle";
/**
 * 2: `exported-at`, the optional `signer` (operator key id and its counter) and a
 * `bundle.json.minisig` second entry; a bundle may be split in parts (src/bundle/parts.ts).
 * Version 1 bundles still read (no signature, no export time).
 * 3: `components`, the component revisions (snap resources) the bundle carries as
 * `blobs/<name>+<component>_<revision>.comp` entries, each with the snap revisions its
 * `snap-resource-pair` assertions pair it with; version 2 bundles (no components) still read.
 */
export const BUNDLE_VERSION = 3;
/** File name suffix of bundles (`hello.snapshelf.tar`). */
export const BUNDLE_SUFFIX = ".snapshelf.tar";
export const BUNDLE_JSON = "bundle.json";

/** What a bundle carries: one snap, or only assertions (validation sets). */
export type BundleKind = "snap" | "assertions";

export interface BundlePublisher {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly validation: string;
}

export interface BundleMedia {
  readonly type: string;
  readonly url: string;
  readonly width?: number;
  readonly height?: number;
}

/** The public store's metadata of a snap (what `snap info` shows). */
export interface BundleStoreMeta {
  readonly title?: string;
  readonly summary?: string;
  readonly description?: string;
  /** Informational: the offline store takes the publisher from the verified account assertion. */
  readonly publisher?: BundlePublisher;
  readonly license?: string;
  readonly contact?: string;
  readonly website?: string;
  readonly storeUrl?: string;
  readonly media: readonly BundleMedia[];
  /** Category names in the store's order. */
  readonly categories: readonly string[];
  /** `featured-categories` (optional): the categories the store marks featured. */
  readonly featuredCategories?: readonly string[];
  /** `links` (optional): kind -> URLs, as the store sent them. */
  readonly links?: Readonly<Record<string, readonly string[]>>;
  /** `prices` (optional): currency -> price string. */
  readonly prices?: Readonly<Record<string, string>>;
  /** `private` (optional). */
  readonly private?: boolean;
  /** The track risk-only requests resolve in; `undefined` = `latest`. */
  readonly defaultTrack?: string;
}

/** One entry of the public store's channel map at export time. */
export interface BundleChannelEntry {
  /** Full channel name `track/risk[/branch]`. */
  readonly channel: string;
  /** Device architecture. */
  readonly arch: string;
  readonly revision: number;
  /** RFC 3339. */
  readonly releasedAt: string;
}

export interface BundleRevision {
  readonly revision: number;
  /** `blobs/<name>_<revision>.snap`. */
  readonly file: string;
  /** Lower-case hex. */
  readonly sha3_384: string;
  readonly size: number;
  readonly version?: string;
  readonly architectures?: readonly string[];
  /** `created-at` (optional): when the store says the revision was uploaded (RFC 3339). */
  readonly createdAt?: string;
  /** `common-ids` (optional): the store's common ids of the revision. */
  readonly commonIds?: readonly string[];
  /** `confinement` (optional): as the store reported it (the blob's snap.yaml stays authoritative). */
  readonly confinement?: string;
  /** `epoch` (optional): as the store reported it (the blob's snap.yaml stays authoritative). */
  readonly epoch?: Epoch;
}

export interface BundleAssertion {
  /** `assertions/<type>_<key>.assert`. */
  readonly file: string;
  readonly type: string;
  /** The reduced primary key (as in store URLs). */
  readonly key: readonly string[];
  readonly revision: number;
  /** Lower-case hex sha3-384 of the file. */
  readonly sha3_384: string;
  readonly size: number;
}

/** A component revision a bundle carries (version 3), with its blob entry. */
export interface BundleComponent {
  /** The component's name (`extra` of `NAME+extra`). */
  readonly component: string;
  readonly revision: number;
  /** `blobs/<name>+<component>_<revision>.comp`. */
  readonly file: string;
  /** Lower-case hex. */
  readonly sha3_384: string;
  readonly size: number;
  /** `component/<type>` as the store said (component.yaml stays authoritative). */
  readonly type?: string;
  readonly version?: string;
  /** The snap revisions it is paired with (its `snap-resource-pair` assertions in this bundle), ascending. */
  readonly snapRevisions: readonly number[];
}

/** Who signed a bundle: the operator key's id and that key's export counter (rollback checks). */
export interface BundleSigner {
  /** 16 upper-case hex digits (minisign's key id). */
  readonly keyId: string;
  /** Grows with every export made with the key. */
  readonly counter: number;
}

/** bundle.json, parsed and checked. */
export interface BundleDoc {
  readonly kind: BundleKind;
  /** The format version read (rendering always writes the current one). */
  readonly version?: number;
  /** When `snapshelf export` wrote it (RFC 3339); absent in version 1. */
  readonly exportedAt?: string;
  /** Present when the bundle is signed (the signature is the entry `bundle.json.minisig`). */
  readonly signer?: BundleSigner;
  /** The snap (kind `snap`). */
  readonly name?: string;
  readonly snapId?: string;
  /** The store it was exported from (informational). */
  readonly upstream?: string;
  readonly store?: BundleStoreMeta;
  /** What the export asked for this snap (channels as requested, device architectures); absent in older bundles. */
  readonly exportedWith?: { readonly channels: readonly string[]; readonly arches: readonly string[] };
  readonly channelMap: readonly BundleChannelEntry[];
  readonly revisions: readonly BundleRevision[];
  readonly assertions: readonly BundleAssertion[];
  /** Component revisions (version 3; absent or empty: none). */
  readonly components?: readonly BundleComponent[];
}

/** Limits on what a bundle.json may list (far above anything real, far below memory trouble). */
export const MAX_LISTED = 10_000;

const SNAP_NAME = /^(?=.*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;
const SNAP_ID = /^[A-Za-z0-9]{32}$/;
const HEX384 = /^[0-9a-f]{96}$/;
const ARCH = /^[a-z0-9]+$/;
/** A file name inside `blobs/` or `assertions/`: no separators, no leading dot. */
const ENTRY_NAME = /^[A-Za-z0-9_][A-Za-z0-9._,=+@-]{0,199}$/;
/** Key values used as they are in entry names (no `:`: names stay valid on FAT and NTFS). */
const KEY_VALUE = /^[A-Za-z0-9._,=+@-]+$/;

/** `blobs/<name>_<revision>.snap`. */
export function blobEntryName(name: string, revision: number): string {
  return `blobs/${name}_${revision}.snap`;
}

/** `blobs/<name>+<component>_<revision>.comp` (the name `snap download NAME+COMPONENT` gives it). */
export function componentEntryName(name: string, component: string, revision: number): string {
  return `blobs/${name}+${component}_${revision}.comp`;
}

/**
 * `assertions/<type>_<key values joined by ",">.assert`; keys with other
 * characters (never seen in practice) fall back to the content digest.
 */
export function assertionEntryName(type: string, reducedKey: readonly string[], sha3hex: string): string {
  const key = reducedKey.join(",");
  const base = `${type}_${key}`;
  if (reducedKey.every((k) => KEY_VALUE.test(k)) && ENTRY_NAME.test(`${base}.assert`) && !base.endsWith(".")) {
    return `assertions/${base}.assert`;
  }
  return `assertions/${type}_${sha3hex.slice(0, 32)}.assert`;
}

/** Whether `path` is a well-formed entry name under `dir/` (`blobs`, `assertions`). */
export function isEntryUnder(path: string, dir: string, suffix: string): boolean {
  if (!path.startsWith(`${dir}/`) || !path.endsWith(suffix)) return false;
  return ENTRY_NAME.test(path.slice(dir.length + 1));
}

function bundleFail(source: string): ShapeFail {
  return (path, reason) =>
    new SnapshelfError(
      "bad-bundle",
      path === ""
        ? `cannot read bundle ${source}: bundle.json: ${reason}`
        : `cannot read bundle ${source}: bundle.json field ${path}: ${reason}`,
    );
}

function parseStore(o: JsonObject, fail: ShapeFail): BundleStoreMeta {
  const p = "store";
  const s = objectField(o, "store", "", fail);
  const opt = (k: string): string | undefined => optionalStringField(s, k, p, fail);
  let publisher: BundlePublisher | undefined;
  if (s["publisher"] !== undefined && s["publisher"] !== null) {
    const pp = `${p}.publisher`;
    const po = objectField(s, "publisher", p, fail);
    publisher = {
      id: stringField(po, "id", pp, fail),
      username: stringField(po, "username", pp, fail),
      displayName: stringField(po, "display-name", pp, fail),
      validation: stringField(po, "validation", pp, fail),
    };
  }
  const media = optionalListField(s, "media", p, fail).map((m, i): BundleMedia => {
    const mp = `${p}.media[${i}]`;
    const mo = asObject(m, mp, fail);
    const width = optionalIntField(mo, "width", mp, fail);
    const height = optionalIntField(mo, "height", mp, fail);
    return {
      type: stringField(mo, "type", mp, fail),
      url: stringField(mo, "url", mp, fail),
      ...(width === undefined ? {} : { width }),
      ...(height === undefined ? {} : { height }),
    };
  });
  const categories = s["categories"] === undefined ? [] : stringList(s["categories"], `${p}.categories`, fail);
  const defaultTrack = opt("default-track");
  if (defaultTrack !== undefined && !/^[a-zA-Z0-9](?:[a-zA-Z0-9._-]*[a-zA-Z0-9])?$/.test(defaultTrack)) {
    throw fail(`${p}.default-track`, `invalid track ${JSON.stringify(defaultTrack)}`);
  }
  const featured =
    s["featured-categories"] === undefined || s["featured-categories"] === null
      ? undefined
      : stringList(s["featured-categories"], `${p}.featured-categories`, fail);
  let links: Record<string, string[]> | undefined;
  if (s["links"] !== undefined && s["links"] !== null) {
    const lo = objectField(s, "links", p, fail);
    links = {};
    for (const [k, v] of Object.entries(lo)) links[k] = stringList(v, `${p}.links.${k}`, fail);
  }
  let prices: Record<string, string> | undefined;
  if (s["prices"] !== undefined && s["prices"] !== null) {
    const po = objectField(s, "prices", p, fail);
    prices = {};
    for (const k of Object.keys(po)) prices[k] = stringField(po, k, `${p}.prices`, fail);
  }
  const priv = s["private"];
  if (priv !== undefined && priv !== null && typeof priv !== "boolean")
    throw fail(`${p}.private`, "expected a boolean");
  const pick = (k: string, as: keyof BundleStoreMeta): Partial<Record<string, string>> => {
    const v = opt(k);
    return v === undefined ? {} : { [as]: v };
  };
  return {
    ...pick("title", "title"),
    ...pick("summary", "summary"),
    ...pick("description", "description"),
    ...(publisher === undefined ? {} : { publisher }),
    ...pick("license", "license"),
    ...pick("contact", "contact"),
    ...pick("website", "website"),
    ...pick("store-url", "storeUrl"),
    media,
    categories,
    ...(featured === undefined ? {} : { featuredCategories: featured }),
    ...(links === undefined ? {} : { links }),
    ...(prices === undefined ? {} : { prices }),
    ...(typeof priv === "boolean" ? { private: priv } : {}),
    ...(defaultTrack === undefined || defaultTrack === "latest" ? {} : { defaultTrack }),
  };
}

function checkCount(list: readonly unknown[], path: string, fail: ShapeFail): void {
  if (list.length > MAX_LISTED) throw fail(path, `more than ${MAX_LISTED} entries`);
}

/** The fields every bundle has: format and version first (a newer bundle is refused whole), kind, stamp. */
interface DocHeader {
  readonly kind: "snap" | "assertions";
  readonly upstream: string | undefined;
  readonly common: Pick<BundleDoc, "version" | "exportedAt" | "signer">;
}

/**
 * Parses and checks bundle.json. Errors name the bundle and the field:
 * `cannot read bundle X: bundle.json field channel-map[2].revision: missing`.
 */
export function parseBundleDoc(text: string, source: string): BundleDoc {
  const fail = bundleFail(source);
  const o = asObject(parseJson(text, fail), "", fail);
  const { kind, upstream, common } = parseHeader(o, fail);
  // every entry file is listed once, whether blob or assertion
  const files = new Set<string>();
  const assertions = parseAssertionEntries(o, files, fail);
  if (kind === "assertions") {
    for (const k of ["name", "snap-id", "store", "components"]) {
      if (o[k] !== undefined) throw fail(k, `not allowed in an assertions bundle`);
    }
    for (const k of ["channel-map", "revisions"]) {
      if (optionalListField(o, k, "", fail).length > 0) throw fail(k, `must be empty in an assertions bundle`);
    }
    return {
      kind,
      ...common,
      ...(upstream === undefined ? {} : { upstream }),
      channelMap: [],
      revisions: [],
      assertions,
    };
  }

  const name = stringField(o, "name", "", fail, { pattern: SNAP_NAME });
  if (name.length > 40) throw fail("name", "longer than 40 characters");
  const snapId = stringField(o, "snap-id", "", fail, { pattern: SNAP_ID });
  const store = parseStore(o, fail);
  const revisions = parseRevisionEntries(o, name, files, fail);
  const components = parseComponentEntries(o, name, common.version ?? 1, files, fail);
  const channelMap = parseChannelMap(o, fail);
  const exportedWith = parseExportedWith(o, fail);
  return {
    kind,
    ...common,
    name,
    snapId,
    ...(upstream === undefined ? {} : { upstream }),
    store,
    ...(exportedWith === undefined ? {} : { exportedWith }),
    channelMap,
    revisions,
    assertions,
    ...(components.length === 0 ? {} : { components }),
  };
}

const COMPONENT_NAME = /^[a-z0-9](?:-?[a-z0-9])*$/;

/** `components` (version 3): each entry's file named after the snap, component and revision, listed once. */
function parseComponentEntries(
  o: JsonObject,
  name: string,
  version: number,
  files: Set<string>,
  fail: ShapeFail,
): BundleComponent[] {
  if (o["components"] === undefined) return [];
  if (version < 3) throw fail("components", `not allowed in a version ${version} bundle`);
  const list = listField(o, "components", "", fail);
  checkCount(list, "components", fail);
  const seen = new Set<string>();
  return list.map((c, i): BundleComponent => {
    const p = `components[${i}]`;
    const co = asObject(c, p, fail);
    const snap = stringField(co, "snap", p, fail);
    if (snap !== name) throw fail(`${p}.snap`, `expected ${JSON.stringify(name)}, got ${JSON.stringify(snap)}`);
    const component = stringField(co, "component", p, fail, { pattern: COMPONENT_NAME });
    const revision = intField(co, "revision", p, fail, 1);
    const key = `${component}_${revision}`;
    if (seen.has(key)) throw fail(`${p}.revision`, `${name}+${component} revision ${revision} is listed twice`);
    seen.add(key);
    const file = stringField(co, "file", p, fail);
    const want = componentEntryName(name, component, revision);
    if (file !== want) throw fail(`${p}.file`, `expected ${JSON.stringify(want)}, got ${JSON.stringify(file)}`);
    noteFile(files, file, `${p}.file`, fail);
    const pairs = listField(co, "snap-revisions", p, fail);
    if (pairs.length === 0) throw fail(`${p}.snap-revisions`, "empty");
    checkCount(pairs, `${p}.snap-revisions`, fail);
    const snapRevisions = pairs.map((r, j) => {
      if (typeof r !== "number" || !Number.isSafeInteger(r) || r < 1)
        throw fail(`${p}.snap-revisions[${j}]`, "expected a revision number");
      return r;
    });
    const type = optionalStringField(co, "type", p, fail);
    if (type !== undefined && !/^component\/[a-z0-9-]+$/.test(type))
      throw fail(`${p}.type`, `invalid component type ${JSON.stringify(type)}`);
    const cversion = optionalStringField(co, "version", p, fail);
    return {
      component,
      revision,
      file,
      sha3_384: stringField(co, "sha3-384", p, fail, { pattern: HEX384 }),
      size: intField(co, "size", p, fail),
      ...(type === undefined ? {} : { type }),
      ...(cversion === undefined ? {} : { version: cversion }),
      snapRevisions,
    };
  });
}

function parseHeader(o: JsonObject, fail: ShapeFail): DocHeader {
  const format = stringField(o, "format", "", fail);
  if (format !== BUNDLE_FORMAT)
    throw fail("format", `expected ${JSON.stringify(BUNDLE_FORMAT)}, got ${JSON.stringify(format)}`);
  const version = intField(o, "version", "", fail, 1);
  if (version > BUNDLE_VERSION) {
    throw fail(
      "version",
      `version ${version} is newer than this snapshelf understands (${BUNDLE_VERSION}); upgrade snapshelf`,
    );
  }
  const kind = stringField(o, "kind", "", fail);
  if (kind !== "snap" && kind !== "assertions")
    throw fail("kind", `expected "snap" or "assertions", got ${JSON.stringify(kind)}`);
  const upstream = optionalStringField(o, "upstream", "", fail);
  const exportedAt = optionalStringField(o, "exported-at", "", fail);
  if (version >= 2 && exportedAt === undefined) throw fail("exported-at", "missing");
  if (exportedAt !== undefined && Number.isNaN(Date.parse(exportedAt)))
    throw fail("exported-at", `invalid time ${JSON.stringify(exportedAt)}`);
  let signer: BundleSigner | undefined;
  if (o["signer"] !== undefined) {
    if (version < 2) throw fail("signer", "not allowed in a version 1 bundle");
    const so = objectField(o, "signer", "", fail);
    signer = {
      keyId: stringField(so, "key-id", "signer", fail, { pattern: /^[0-9A-F]{16}$/ }),
      counter: intField(so, "counter", "signer", fail, 1),
    };
  }
  const common = {
    version,
    ...(exportedAt === undefined ? {} : { exportedAt }),
    ...(signer === undefined ? {} : { signer }),
  };
  return { kind, upstream, common };
}

/** Records an entry's file in `files`; a file listed twice fails. */
function noteFile(files: Set<string>, file: string, path: string, fail: ShapeFail): void {
  if (files.has(file)) throw fail(path, `${JSON.stringify(file)} is listed twice`);
  files.add(file);
}

function parseAssertionEntries(o: JsonObject, files: Set<string>, fail: ShapeFail): BundleAssertion[] {
  const assertionsList = listField(o, "assertions", "", fail);
  checkCount(assertionsList, "assertions", fail);
  return assertionsList.map((a, i): BundleAssertion => {
    const p = `assertions[${i}]`;
    const ao = asObject(a, p, fail);
    const file = stringField(ao, "file", p, fail);
    if (!isEntryUnder(file, "assertions", ".assert"))
      throw fail(`${p}.file`, `invalid entry name ${JSON.stringify(file)}`);
    noteFile(files, file, `${p}.file`, fail);
    return {
      file,
      type: stringField(ao, "type", p, fail, { pattern: /^[a-z][a-z-]*$/ }),
      key: stringList(ao["key"], `${p}.key`, fail),
      revision: intField(ao, "revision", p, fail),
      sha3_384: stringField(ao, "sha3-384", p, fail, { pattern: HEX384 }),
      size: intField(ao, "size", p, fail),
    };
  });
}

function parseRevisionEntries(o: JsonObject, name: string, files: Set<string>, fail: ShapeFail): BundleRevision[] {
  const revList = listField(o, "revisions", "", fail);
  checkCount(revList, "revisions", fail);
  const revSeen = new Set<number>();
  return revList.map((r, i): BundleRevision => {
    const p = `revisions[${i}]`;
    const ro = asObject(r, p, fail);
    const revision = intField(ro, "revision", p, fail, 1);
    if (revSeen.has(revision)) throw fail(`${p}.revision`, `revision ${revision} is listed twice`);
    revSeen.add(revision);
    const file = stringField(ro, "file", p, fail);
    if (file !== blobEntryName(name, revision)) {
      throw fail(`${p}.file`, `expected ${JSON.stringify(blobEntryName(name, revision))}, got ${JSON.stringify(file)}`);
    }
    noteFile(files, file, `${p}.file`, fail);
    return parseRevisionFields(ro, p, revision, file, fail);
  });
}

/** A revision entry's fields after its revision and file. */
function parseRevisionFields(
  ro: JsonObject,
  p: string,
  revision: number,
  file: string,
  fail: ShapeFail,
): BundleRevision {
  const version = optionalStringField(ro, "version", p, fail);
  const architectures =
    ro["architectures"] === undefined ? undefined : stringList(ro["architectures"], `${p}.architectures`, fail);
  const facts = parseRevisionFacts(ro, p, fail, { checkTime: true });
  return {
    revision,
    file,
    sha3_384: stringField(ro, "sha3-384", p, fail, { pattern: HEX384 }),
    size: intField(ro, "size", p, fail),
    ...(version === undefined ? {} : { version }),
    ...(architectures === undefined ? {} : { architectures }),
    ...facts,
  };
}

function parseChannelMap(o: JsonObject, fail: ShapeFail): BundleChannelEntry[] {
  const mapList = listField(o, "channel-map", "", fail);
  checkCount(mapList, "channel-map", fail);
  const mapSeen = new Set<string>();
  return mapList.map((c, i): BundleChannelEntry => {
    const p = `channel-map[${i}]`;
    const co = asObject(c, p, fail);
    const channel = stringField(co, "channel", p, fail);
    try {
      parseFullChannel(channel);
    } catch (err) {
      throw fail(`${p}.channel`, (err as Error).message);
    }
    const arch = stringField(co, "arch", p, fail, { pattern: ARCH });
    const key = `${channel}@${arch}`;
    if (mapSeen.has(key)) throw fail(p, `channel ${channel} on ${arch} is listed twice`);
    mapSeen.add(key);
    const releasedAt = stringField(co, "released-at", p, fail, { nonEmpty: true });
    if (Number.isNaN(Date.parse(releasedAt)))
      throw fail(`${p}.released-at`, `invalid time ${JSON.stringify(releasedAt)}`);
    return { channel, arch, revision: intField(co, "revision", p, fail, 1), releasedAt };
  });
}

function parseExportedWith(o: JsonObject, fail: ShapeFail): BundleDoc["exportedWith"] {
  if (o["exported-with"] === undefined || o["exported-with"] === null) return undefined;
  const eo = objectField(o, "exported-with", "", fail);
  const channels = stringList(eo["channels"] ?? [], "exported-with.channels", fail);
  const arches = stringList(eo["arches"] ?? [], "exported-with.arches", fail);
  if (channels.length > MAX_LISTED || arches.length > MAX_LISTED) throw fail("exported-with", "too many entries");
  for (const a of arches)
    if (!ARCH.test(a)) throw fail("exported-with.arches", `invalid architecture ${JSON.stringify(a)}`);
  return { channels, arches };
}

function storeJson(s: BundleStoreMeta): Record<string, unknown> {
  return {
    title: s.title ?? null,
    summary: s.summary ?? null,
    description: s.description ?? null,
    publisher:
      s.publisher === undefined
        ? null
        : {
            id: s.publisher.id,
            username: s.publisher.username,
            "display-name": s.publisher.displayName,
            validation: s.publisher.validation,
          },
    license: s.license ?? null,
    contact: s.contact ?? null,
    website: s.website ?? null,
    "store-url": s.storeUrl ?? null,
    media: s.media.map((m) => ({
      type: m.type,
      url: m.url,
      ...(m.width === undefined ? {} : { width: m.width }),
      ...(m.height === undefined ? {} : { height: m.height }),
    })),
    categories: [...s.categories],
    ...(s.featuredCategories === undefined ? {} : { "featured-categories": [...s.featuredCategories] }),
    ...(s.links === undefined ? {} : { links: s.links }),
    ...(s.prices === undefined ? {} : { prices: s.prices }),
    ...(s.private === undefined ? {} : { private: s.private }),
    "default-track": s.defaultTrack ?? null,
  };
}

/**
 * Renders bundle.json: fixed key order, lists as given (callers sort them), 2-space indent.
 * A document without `exportedAt` is rendered as version 1 (what it then is).
 */
export function renderBundleDoc(doc: BundleDoc): string {
  const version = doc.exportedAt === undefined && doc.signer === undefined ? 1 : BUNDLE_VERSION;
  const out: Record<string, unknown> = { format: BUNDLE_FORMAT, version, kind: doc.kind };
  if (doc.kind === "snap") {
    out["name"] = doc.name;
    out["snap-id"] = doc.snapId;
  }
  if (doc.upstream !== undefined) out["upstream"] = doc.upstream;
  if (doc.exportedAt !== undefined) out["exported-at"] = doc.exportedAt;
  if (doc.signer !== undefined) out["signer"] = { "key-id": doc.signer.keyId, counter: doc.signer.counter };
  if (doc.kind === "snap" && doc.store !== undefined) out["store"] = storeJson(doc.store);
  if (doc.kind === "snap" && doc.exportedWith !== undefined) {
    out["exported-with"] = { channels: [...doc.exportedWith.channels], arches: [...doc.exportedWith.arches] };
  }
  out["channel-map"] = doc.channelMap.map((c) => ({
    channel: c.channel,
    arch: c.arch,
    revision: c.revision,
    "released-at": c.releasedAt,
  }));
  out["revisions"] = doc.revisions.map((r) => ({
    revision: r.revision,
    file: r.file,
    "sha3-384": r.sha3_384,
    size: r.size,
    ...(r.version === undefined ? {} : { version: r.version }),
    ...(r.architectures === undefined ? {} : { architectures: [...r.architectures] }),
    ...(r.createdAt === undefined ? {} : { "created-at": r.createdAt }),
    ...(r.commonIds === undefined ? {} : { "common-ids": [...r.commonIds] }),
    ...(r.confinement === undefined ? {} : { confinement: r.confinement }),
    ...(r.epoch === undefined ? {} : { epoch: { read: [...r.epoch.read], write: [...r.epoch.write] } }),
  }));
  if (version >= 3 && doc.kind === "snap") out["components"] = renderComponents(doc);
  out["assertions"] = doc.assertions.map((a) => ({
    file: a.file,
    type: a.type,
    key: [...a.key],
    revision: a.revision,
    "sha3-384": a.sha3_384,
    size: a.size,
  }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** `components` of bundle.json (version 3): every entry, in the order given. */
function renderComponents(doc: BundleDoc): Record<string, unknown>[] {
  return (doc.components ?? []).map((c) => ({
    snap: doc.name,
    component: c.component,
    revision: c.revision,
    file: c.file,
    "sha3-384": c.sha3_384,
    size: c.size,
    ...(c.type === undefined ? {} : { type: c.type }),
    ...(c.version === undefined ? {} : { version: c.version }),
    "snap-revisions": [...c.snapRevisions],
  }));
}
