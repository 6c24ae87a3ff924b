/**
 * The public store's JSON, as far as export reads it (store-protocol.md §4,
 * §6; https://api.snapcraft.io/docs/info.html), and pure, checking
 * conversions to our types. Unknown keys are ignored; a missing or mistyped
 * field we need is an error naming it.
 */
import { parseRevisionFacts } from "../model/revision-facts.js";
import type { Epoch, Media, SnapMeta } from "../model/types.js";
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
  type ShapeFail,
  stringField,
  stringList,
} from "../util/json-shape.js";

/** Fields asked of `v2/snaps/info` (snapd 2.68's list without snap-yaml and resources). */
export const INFO_FIELDS = [
  "architectures",
  "base",
  "categories",
  "common-ids",
  "confinement",
  "contact",
  "created-at",
  "description",
  "download",
  "epoch",
  "license",
  "links",
  "media",
  "name",
  "prices",
  "private",
  "publisher",
  "revision",
  "snap-id",
  "store-url",
  "summary",
  "title",
  "type",
  "version",
  "website",
] as const;

/** Fields asked of `v2/snaps/refresh` (snapd 2.68's list without resources). */
export const REFRESH_FIELDS = [
  "architectures",
  "base",
  "confinement",
  "contact",
  "created-at",
  "description",
  "download",
  "epoch",
  "license",
  "name",
  "prices",
  "private",
  "publisher",
  "revision",
  "snap-id",
  "snap-yaml",
  "summary",
  "title",
  "type",
  "version",
  "website",
  "store-url",
  "media",
  "common-ids",
  "categories",
  "links",
] as const;

/**
 * Fields of export's `download` actions: snapd 2.68's list with `resources` (the real store
 * answers a revision's components only when they are asked for; store_action.go's
 * IncludeResources).
 */
export const EXPORT_ACTION_FIELDS = [...REFRESH_FIELDS, "resources"] as const;

/** One entry of a revision's `resources` (snapd 2.68.3 store/details_v2.go storeResource). */
export interface UpstreamResource {
  /** The component's name (`extra` of `NAME+extra`). */
  readonly name: string;
  /** `component/<type>`. */
  readonly type: string;
  readonly revision: number;
  readonly version: string;
  readonly createdAt?: string;
  readonly download: UpstreamDownload;
}

export interface UpstreamPublisher {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly validation: string;
}

/** Snap-level metadata (the same for every revision): the stored `SnapMeta` fields the store sends, and more. */
export interface UpstreamSnapMeta
  extends Pick<
    SnapMeta,
    | "title"
    | "summary"
    | "description"
    | "license"
    | "contact"
    | "website"
    | "storeUrl"
    | "links"
    | "prices"
    | "private"
  > {
  readonly publisher?: UpstreamPublisher;
  readonly media: readonly Media[];
  /** Category names in the store's order. */
  readonly categories: readonly string[];
  /** The categories the store marks `featured` (a subset of `categories`). */
  readonly featuredCategories: readonly string[];
}

/** One channel-map entry of `v2/snaps/info` (branches are never listed there). */
export interface UpstreamChannelEntry {
  /** The revision's architecture as the store reports it (a device arch, or `all`). */
  readonly architecture: string;
  readonly track: string;
  readonly risk: string;
  /** RFC 3339, or undefined when the store sent null. */
  readonly releasedAt?: string;
  readonly revision: number;
  readonly version: string;
}

export interface UpstreamInfo {
  readonly name: string;
  readonly snapId: string;
  readonly defaultTrack?: string;
  readonly meta: UpstreamSnapMeta;
  readonly channelMap: readonly UpstreamChannelEntry[];
}

export interface UpstreamDownload {
  readonly url: string;
  /** Lower-case hex. */
  readonly sha3_384: string;
  readonly size: number;
}

/** A revision as a `download` action returns it. */
export interface UpstreamRevision {
  readonly name: string;
  readonly snapId: string;
  readonly revision: number;
  readonly version: string;
  readonly type: string;
  readonly base?: string;
  readonly architectures: readonly string[];
  readonly download: UpstreamDownload;
  /** meta/snap.yaml as the store has it (used to plan dependencies; the blob's own is checked later). */
  readonly snapYaml?: string;
  readonly meta: UpstreamSnapMeta;
  /** The channel the revision came from, for channel requests. */
  readonly effectiveChannel?: string;
  readonly releasedAt?: string;
  /** When the revision was uploaded (RFC 3339); only the store knows it. */
  readonly createdAt?: string;
  /** The revision's common ids (AppStream ids of its apps). */
  readonly commonIds?: readonly string[];
  readonly confinement?: string;
  readonly epoch?: Epoch;
  /** `resources` (components) when asked for; absent when the store sent none. */
  readonly resources?: readonly UpstreamResource[];
}

/** An error result of a refresh action (`result: "error"`). */
export interface UpstreamActionError {
  readonly code: string;
  readonly message: string;
  /** `extra.releases`: where the snap is released instead. */
  readonly releases: readonly { readonly architecture: string; readonly channel: string }[];
}

export function shapeFail(what: string): ShapeFail {
  return (path, reason) =>
    new SnapshelfError(
      "upstream-bad-response",
      path === "" ? `cannot ${what}: ${reason}` : `cannot ${what}: field ${path}: ${reason}`,
    );
}

const HEX384 = /^[0-9a-fA-F]{96}$/;

function parsePublisher(o: JsonObject, path: string, fail: ShapeFail): UpstreamPublisher | undefined {
  const v = o["publisher"];
  if (v === undefined || v === null) return undefined;
  const p = `${path === "" ? "" : `${path}.`}publisher`;
  const po = asObject(v, p, fail);
  return {
    id: stringField(po, "id", p, fail),
    username: stringField(po, "username", p, fail),
    displayName: optionalStringField(po, "display-name", p, fail) ?? stringField(po, "username", p, fail),
    validation: optionalStringField(po, "validation", p, fail) ?? "unproven",
  };
}

/** Snap-level metadata from a `snap` object (info's top-level one, or a refresh result's). */
export function parseSnapMeta(o: JsonObject, path: string, fail: ShapeFail): UpstreamSnapMeta {
  const s = (k: string): string | undefined => optionalStringField(o, k, path, fail);
  const pre = path === "" ? "" : `${path}.`;
  const media = optionalListField(o, "media", path, fail).map((m, i): Media => {
    const mp = `${pre}media[${i}]`;
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
  // [{featured, name}] in the store's order; accept plain names too
  const categories: string[] = [];
  const featuredCategories: string[] = [];
  for (const [i, c] of optionalListField(o, "categories", path, fail).entries()) {
    const cp = `${pre}categories[${i}]`;
    const co = typeof c === "string" ? { name: c } : asObject(c, cp, fail);
    const name = stringField(co, "name", cp, fail);
    const featured = co["featured"];
    if (featured !== undefined && featured !== null && typeof featured !== "boolean") {
      throw fail(`${cp}.featured`, "expected a boolean");
    }
    if (categories.includes(name)) continue;
    categories.push(name);
    if (featured === true) featuredCategories.push(name);
  }
  const links = parseLinks(o, pre, fail);
  const prices = parsePrices(o, pre, fail);
  const priv = o["private"];
  if (priv !== undefined && priv !== null && typeof priv !== "boolean")
    throw fail(`${pre}private`, "expected a boolean");
  const publisher = parsePublisher(o, path, fail);
  const opt = <K extends string>(key: K, v: string | undefined): { [P in K]?: string } =>
    (v === undefined ? {} : { [key]: v }) as { [P in K]?: string };
  return {
    ...opt("title", s("title")),
    ...opt("summary", s("summary")),
    ...opt("description", s("description")),
    ...opt("license", s("license")),
    ...opt("contact", s("contact")),
    ...opt("website", s("website")),
    ...opt("storeUrl", s("store-url")),
    ...(publisher === undefined ? {} : { publisher }),
    media,
    categories,
    featuredCategories,
    ...(links === undefined ? {} : { links }),
    ...(prices === undefined ? {} : { prices }),
    ...(typeof priv === "boolean" ? { private: priv } : {}),
  };
}

/** `links`: an object of string lists (null or absent: undefined). */
function parseLinks(o: JsonObject, pre: string, fail: ShapeFail): Record<string, string[]> | undefined {
  const v = o["links"];
  if (v === undefined || v === null) return undefined;
  const lo = asObject(v, `${pre}links`, fail);
  const out: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(lo)) {
    out[k] = list === null ? [] : stringList(list, `${pre}links.${k}`, fail);
  }
  return out;
}

/** `prices`: currency -> price string (null or absent: undefined). */
function parsePrices(o: JsonObject, pre: string, fail: ShapeFail): Record<string, string> | undefined {
  const v = o["prices"];
  if (v === undefined || v === null) return undefined;
  const po = asObject(v, `${pre}prices`, fail);
  const out: Record<string, string> = {};
  for (const k of Object.keys(po)) out[k] = stringField(po, k, `${pre}prices`, fail);
  return out;
}

/** Parses a `v2/snaps/info/NAME` response. */
export function parseInfo(body: unknown, what: string): UpstreamInfo {
  const fail = shapeFail(what);
  const o = asObject(body, "", fail);
  const name = stringField(o, "name", "", fail, { nonEmpty: true });
  const snapId = stringField(o, "snap-id", "", fail, { nonEmpty: true });
  const defaultTrack = optionalStringField(o, "default-track", "", fail);
  const snap = o["snap"] === undefined ? {} : objectField(o, "snap", "", fail);
  const meta = parseSnapMeta(snap, "snap", fail);
  const channelMap = listField(o, "channel-map", "", fail).map((e, i): UpstreamChannelEntry => {
    const p = `channel-map[${i}]`;
    const eo = asObject(e, p, fail);
    const ch = objectField(eo, "channel", p, fail);
    const cp = `${p}.channel`;
    const releasedAt = optionalStringField(ch, "released-at", cp, fail);
    return {
      architecture: stringField(ch, "architecture", cp, fail, { nonEmpty: true }),
      track: optionalStringField(ch, "track", cp, fail) || "latest",
      risk: stringField(ch, "risk", cp, fail, { nonEmpty: true }),
      ...(releasedAt === undefined ? {} : { releasedAt }),
      revision: intField(eo, "revision", p, fail, 1),
      version: optionalStringField(eo, "version", p, fail) ?? "",
    };
  });
  return {
    name,
    snapId,
    ...(defaultTrack === undefined || defaultTrack === "" ? {} : { defaultTrack }),
    meta,
    channelMap,
  };
}

/** Parses the `snap` object of a refresh result. */
export function parseActionSnap(result: JsonObject, path: string, fail: ShapeFail): UpstreamRevision {
  const o = objectField(result, "snap", path, fail);
  const p = `${path}.snap`;
  const dl = objectField(o, "download", p, fail);
  const dp = `${p}.download`;
  const base = optionalStringField(o, "base", p, fail);
  // the store may send an empty snap-yaml (not known): the blob's own is read later anyway
  const snapYaml = optionalStringField(o, "snap-yaml", p, fail) || undefined;
  const effectiveChannel = optionalStringField(result, "effective-channel", path, fail);
  const releasedAt = optionalStringField(result, "released-at", path, fail);
  return {
    name: stringField(o, "name", p, fail, { nonEmpty: true }),
    snapId: stringField(o, "snap-id", p, fail, { nonEmpty: true }),
    revision: intField(o, "revision", p, fail, 1),
    version: optionalStringField(o, "version", p, fail) ?? "",
    type: optionalStringField(o, "type", p, fail) || "app",
    ...(base === undefined || base === "" ? {} : { base }),
    architectures: o["architectures"] === undefined ? [] : stringList(o["architectures"], `${p}.architectures`, fail),
    download: {
      url: stringField(dl, "url", dp, fail, { nonEmpty: true }),
      sha3_384: stringField(dl, "sha3-384", dp, fail, { pattern: HEX384 }).toLowerCase(),
      size: intField(dl, "size", dp, fail),
    },
    ...(snapYaml === undefined ? {} : { snapYaml }),
    meta: parseSnapMeta(o, p, fail),
    ...(effectiveChannel === undefined || effectiveChannel === "" ? {} : { effectiveChannel }),
    ...(releasedAt === undefined ? {} : { releasedAt }),
    ...parseRevisionFacts(o, p, fail, { emptyIsAbsent: true }),
    ...parseResourcesField(o, p, fail),
  };
}

const RESOURCE_NAME = /^[a-z0-9](?:-?[a-z0-9])*$/;
const MAX_RESOURCES = 1000;

/** A `snap` object's `resources` (null, absent or empty: none); components only (`component/<type>`). */
export function parseResourcesField(o: JsonObject, p: string, fail: ShapeFail): { resources?: UpstreamResource[] } {
  const list = optionalListField(o, "resources", p, fail);
  if (list.length === 0) return {};
  if (list.length > MAX_RESOURCES) throw fail(`${p}.resources`, `more than ${MAX_RESOURCES} entries`);
  const seen = new Set<string>();
  const resources = list.map((r, i): UpstreamResource => {
    const rp = `${p}.resources[${i}]`;
    const ro = asObject(r, rp, fail);
    const name = stringField(ro, "name", rp, fail, { pattern: RESOURCE_NAME });
    if (seen.has(name)) throw fail(`${rp}.name`, `${name} is listed twice`);
    seen.add(name);
    const type = stringField(ro, "type", rp, fail, { pattern: /^component\/[a-z0-9-]+$/ });
    const dl = objectField(ro, "download", rp, fail);
    const dp = `${rp}.download`;
    const createdAt = optionalStringField(ro, "created-at", rp, fail);
    return {
      name,
      type,
      revision: intField(ro, "revision", rp, fail, 1),
      version: optionalStringField(ro, "version", rp, fail) ?? "",
      ...(createdAt === undefined || createdAt === "" ? {} : { createdAt }),
      download: {
        url: stringField(dl, "url", dp, fail, { nonEmpty: true }),
        sha3_384: stringField(dl, "sha3-384", dp, fail, { pattern: HEX384 }).toLowerCase(),
        size: intField(dl, "size", dp, fail),
      },
    };
  });
  return { resources };
}

/** Parses the `error` object of an error result. */
export function parseActionError(result: JsonObject, path: string, fail: ShapeFail): UpstreamActionError {
  const e = objectField(result, "error", path, fail);
  const ep = `${path}.error`;
  const extra = e["extra"];
  const releases: { architecture: string; channel: string }[] = [];
  if (typeof extra === "object" && extra !== null && !Array.isArray(extra)) {
    const eo = extra as JsonObject;
    for (const [i, r] of optionalListField(eo, "releases", `${ep}.extra`, fail).entries()) {
      const rp = `${ep}.extra.releases[${i}]`;
      const ro = asObject(r, rp, fail);
      releases.push({
        architecture: stringField(ro, "architecture", rp, fail),
        channel: stringField(ro, "channel", rp, fail),
      });
    }
  }
  return {
    code: stringField(e, "code", ep, fail),
    message: optionalStringField(e, "message", ep, fail) ?? "",
    releases,
  };
}
