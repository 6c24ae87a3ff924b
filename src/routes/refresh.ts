/**
 * POST /v2/snaps/refresh (store-protocol.md §4, §5): install, download,
 * refresh and fetch-assertions actions, answered from the catalogue index.
 * Pure: request in, response out.
 */
import { fullPrimaryKey, refKey } from "../assertions/types.js";
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import { type Resolution, resolveSnap } from "../catalogue/resolve.js";
import type { RevisionEntry, SnapEntry } from "../catalogue/types.js";
import { parseEpoch } from "../model/epoch.js";
import type { Epoch } from "../model/types.js";
import { isObject } from "../util/json-shape.js";
import { type RenderContext, toStoreSnap } from "../wire/snap.js";
import { assertionUrlPath } from "./assertions.js";
import { StateKey } from "./generation-state.js";
import { type Answer, answersFor, type DeviceAnswers, fieldLimit, MIN_FIELD_LIMIT } from "./refresh-cache.js";
import { heldError } from "./refresh-held.js";
import {
  type DynamicEnv,
  type DynamicRoute,
  deviceArch,
  errorResponse,
  headerValue,
  JSON_TYPE,
  type RouteRequest,
  type RouteResponse,
} from "./types.js";

// ---- the wire: what snapd sends and what it reads back (snapd's store/store_action.go) ----------

/**
 * The request (snapd's snapActionRequest) is checked once, at the edge (`parseRequest`), into
 * the shapes below (`SnapActionRequest`, `Action`): every string member of a context or action
 * entry is bounded first (refresh-cache.ts, FIELD_LIMITS), then each member is checked against
 * its type. A bad one answers the whole request 400 `bad-request` (`BadRequest`), but only if the
 * answer reads it, as the store does: a member the resolution may not need (an unknown snap's
 * `revision`, `channel` and `epoch`, the `if-newer-than` of an assertion not found) is kept as
 * `Bad` and reported by `need` when it is read, so the first bad member in reading order names
 * the 400 (test/golden/refresh-requests.test.ts pins which).
 *
 *   { "context": ContextJSON[], "actions": ActionJSON[], "assertion-max-formats": { type: N } }
 *   ContextJSON: snap-id, instance-key, revision, tracking-channel, epoch, held (refresh-held.ts),
 *                cohort-key, refreshed-date, ignore-validation (bounded, not read)
 *   ActionJSON:  action ("install" | "download" | "refresh" | "fetch-assertions"), instance-key,
 *                name, snap-id, revision, channel, epoch; for fetch-assertions: key, assertions:
 *                [{ type, primary-key | sequence-key, sequence, if-newer-than,
 *                   if-sequence-equal-or-newer-than }]
 *
 * The answer (snapd's snapActionResultList): `{"error-list":[],"results":[ResultJSON...]}`, each
 * result's members in the store's (alphabetical) order, which the builders below write them in
 * (successes as text, `success`; errors as objects, `errorResult`; `fetchAssertions`), so the
 * serializer keeps that order and nothing is sorted per answer.
 */

/** An error of a result (snapd's errorListEntry): code, message, then `extra` when there is one. */
interface ResultErrorJSON {
  readonly code: string;
  readonly message: string;
  readonly extra?: { readonly releases: readonly { readonly architecture: string; readonly channel: string }[] };
}

/** An action that failed (snapd's snapActionResult with `result: "error"`), members in this order. */
interface ErrorResultJSON {
  readonly error: ResultErrorJSON;
  readonly "instance-key": string;
  readonly name?: string;
  readonly result: "error";
  readonly "snap-id"?: string;
}

/** An assertion of a fetch-assertions action that is not found: code, message, type, then its key as sent. */
interface AssertionErrorJSON {
  readonly code: "not-found";
  readonly message: string;
  readonly type: string;
  readonly "primary-key"?: Json;
  readonly "sequence-key"?: Json;
}

/** The answer to a fetch-assertions action, members in this order. */
interface FetchAssertionsResultJSON {
  readonly "assertion-stream-urls": readonly string[];
  readonly "error-list"?: readonly AssertionErrorJSON[];
  readonly key: string;
  readonly result: "fetch-assertions";
}

/** More actions than any device has snaps: a bound on work per request. */
export const MAX_ACTIONS = 5000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

class BadRequest extends Error {}

/**
 * A member found bad at the edge whose answer may not need it (the store does not look at an
 * unknown snap's `revision`): the request is refused, naming it, only when the answer reads it.
 */
class Bad {
  constructor(readonly reason: string) {}
}

/** A member as checked at the edge: its value, or why it is bad. */
type Checked<T> = T | Bad;

/** The value of a checked member, now that the answer needs it: a bad one refuses the request. */
function need<T>(v: Checked<T>): T {
  if (v instanceof Bad) throw new BadRequest(v.reason);
  return v;
}

/** Checks with `check` now; a bad member is kept as `Bad`, to be reported if the answer reads it. */
function later<T>(check: () => T): Checked<T> {
  try {
    return check();
  } catch (err) {
    if (err instanceof BadRequest) return new Bad(err.message);
    throw err;
  }
}

function str(o: JsonObject, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BadRequest(`${where}: "${k}" must be a string`);
  checkLength(v, k, where);
  return v;
}

/** Client strings are bounded before they reach the answer cache or an answer (refresh-cache.ts). */
function checkLength(v: string, field: string, where: string): void {
  if (v.length <= MIN_FIELD_LIMIT) return;
  const max = fieldLimit(field);
  if (v.length > max) throw new BadRequest(`${where}: "${field}" is longer than ${max} characters`);
}

/** Every string field of an action or context entry, read or not (cohort-key, fields added later). */
function checkFieldLengths(o: JsonObject, where: string): void {
  for (const k in o) {
    const v = o[k];
    if (typeof v === "string") checkLength(v, k, where);
  }
}

function int(o: JsonObject, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new BadRequest(`${where}: "${k}" must be a non-negative integer`);
  }
  return v;
}

function epochOf(v: Json | undefined, where: string): Epoch | undefined {
  if (v === undefined || v === null) return undefined;
  try {
    return parseEpoch(v);
  } catch {
    throw new BadRequest(`${where}: invalid epoch`);
  }
}

function stringList(v: Json, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new BadRequest(`${what} must be a list of strings`);
  const max = fieldLimit("element");
  if ((v as string[]).some((x) => x.length > max))
    throw new BadRequest(`${what} holds a string longer than ${max} characters`);
  return v as string[];
}

// ---- the request, checked at the edge into these shapes ------------------------------------------

interface Context {
  readonly snapId: string;
  readonly revision: number;
  readonly trackingChannel: string;
  readonly epoch: Epoch | undefined;
  /** The epoch, as part of the answer cache's key. */
  readonly epochKey: string;
}

/** An install or download action: the snap by `name` or else `snap-id`; the rest is read only for a snap the store has. */
interface InstallAction {
  readonly action: "install" | "download";
  readonly instanceKey: string;
  readonly name: string | undefined;
  readonly snapId: string | undefined;
  readonly revision: Checked<number | undefined>;
  readonly channel: Checked<string | undefined>;
  readonly epoch: Checked<Epoch | undefined>;
}

/** A refresh action: every member is read (they make the answer cache's key). */
interface RefreshAction {
  readonly action: "refresh";
  readonly instanceKey: string;
  readonly snapId: string | undefined;
  readonly revision: number | undefined;
  readonly channel: string | undefined;
}

/** Which assertion an entry of a fetch-assertions action names (§5.2). */
type AssertionKey =
  | { readonly primary: readonly string[] }
  | {
      readonly sequenceKey: readonly string[];
      readonly sequence: number | undefined;
      /** Read only when the store has the sequence. */
      readonly atLeast: Checked<number | undefined>;
    };

interface AssertionWanted {
  readonly type: string;
  readonly key: AssertionKey;
  /** Read only when the store has the assertion. */
  readonly ifNewerThan: Checked<number | undefined>;
  /** The key as the device sent it, for the entry's `error-list` when it is not found. */
  readonly sent: { readonly "primary-key": Json } | { readonly "sequence-key": Json };
}

interface FetchAssertionsAction {
  readonly action: "fetch-assertions";
  readonly key: string;
  /** Each entry, or why it is bad (reported when the answer reaches it). */
  readonly assertions: readonly Checked<AssertionWanted>[];
}

type Action = InstallAction | RefreshAction | FetchAssertionsAction;

/** The request (snapd's snapActionRequest), checked: a bad action is kept to be reported in its turn. */
interface SnapActionRequest {
  readonly actions: readonly Checked<Action>[];
  readonly maxFormats: JsonObject;
  readonly contexts: Map<string, Context>;
}

function parseContext(v: Json | undefined): Map<string, Context> {
  const out = new Map<string, Context>();
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v)) throw new BadRequest(`"context" must be a list`);
  v.forEach((c, i) => {
    const where = `context[${i}]`;
    if (!isObject(c)) throw new BadRequest(`${where} must be an object`);
    checkFieldLengths(c, where);
    const key = str(c, "instance-key", where) ?? str(c, "snap-id", where) ?? "";
    const held = heldError(c["held"]);
    if (held !== undefined) throw new BadRequest(`${where}: ${held}`);
    const epoch = epochOf(c["epoch"], where);
    out.set(key, {
      snapId: str(c, "snap-id", where) ?? "",
      revision: int(c, "revision", where) ?? 0,
      trackingChannel: str(c, "tracking-channel", where) || "stable",
      epoch,
      // from the parsed epoch: bounded whatever the device sent (ignored fields, deep nesting)
      epochKey: epoch === undefined ? "" : `${epoch.read.join(",")}/${epoch.write.join(",")}`,
    });
  });
  return out;
}

function parseAssertionWanted(s: Json, w: string): AssertionWanted {
  if (!isObject(s)) throw new BadRequest(`${w} must be an object`);
  const type = str(s, "type", w) ?? "";
  const pk = s["primary-key"];
  const sent = pk !== undefined ? { "primary-key": pk } : { "sequence-key": s["sequence-key"] ?? null };
  const ifNewerThan = later(() => int(s, "if-newer-than", w));
  if (pk !== undefined && pk !== null) {
    return { type, key: { primary: stringList(pk, `${w}: "primary-key"`) }, ifNewerThan, sent };
  }
  const sk = s["sequence-key"];
  if (sk === undefined || sk === null) throw new BadRequest(`${w}: needs "primary-key" or "sequence-key"`);
  const sequenceKey = stringList(sk, `${w}: "sequence-key"`);
  const sequence = int(s, "sequence", w);
  const atLeast = later(() => int(s, "if-sequence-equal-or-newer-than", w));
  return { type, key: { sequenceKey, sequence, atLeast }, ifNewerThan, sent };
}

function parseAction(a: Json, where: string): Action {
  if (!isObject(a)) throw new BadRequest(`${where} must be an object`);
  checkFieldLengths(a, where);
  const action = str(a, "action", where);
  switch (action) {
    case "install":
    case "download":
      return {
        action,
        instanceKey: str(a, "instance-key", where) ?? "",
        name: str(a, "name", where),
        snapId: str(a, "snap-id", where),
        revision: later(() => int(a, "revision", where)),
        channel: later(() => str(a, "channel", where)),
        epoch: later(() => epochOf(a["epoch"], where)),
      };
    case "refresh":
      return {
        action,
        instanceKey: str(a, "instance-key", where) ?? "",
        snapId: str(a, "snap-id", where),
        revision: int(a, "revision", where),
        channel: str(a, "channel", where),
      };
    case "fetch-assertions": {
      const key = str(a, "key", where) ?? "";
      const specs = a["assertions"] ?? [];
      if (!Array.isArray(specs)) throw new BadRequest(`${where}: "assertions" must be a list`);
      const assertions = specs.map((s, i) => later(() => parseAssertionWanted(s, `${where}.assertions[${i}]`)));
      return { action, key, assertions };
    }
    default:
      throw new BadRequest(`${where}: unknown action "${action ?? ""}"`);
  }
}

/**
 * The request body, checked at the edge, once: an object, a bounded list of actions, the context
 * entries, then each action into its shape. A bad context entry or a bad action envelope refuses
 * the request; a bad action, or a bad member the answer may not need, is reported in its turn.
 */
function parseRequest(body: unknown): SnapActionRequest {
  if (!isObject<Json>(body)) throw new BadRequest("request body must be a JSON object");
  const actions = body["actions"];
  if (!Array.isArray(actions)) throw new BadRequest(`"actions" must be a list`);
  if (actions.length > MAX_ACTIONS) throw new BadRequest(`too many actions (${actions.length} > ${MAX_ACTIONS})`);
  const maxFormats = isObject(body["assertion-max-formats"]) ? body["assertion-max-formats"] : {};
  const contexts = parseContext(body["context"]);
  return { actions: actions.map((a, i) => later(() => parseAction(a, `actions[${i}]`))), maxFormats, contexts };
}

// ---- the answer ----------------------------------------------------------------------------------

/** The one place error results are made: members in the store's order (`name`, `snap-id` when known). */
function errorResult(
  instanceKey: string,
  snapId: string | undefined,
  name: string | undefined,
  error: ResultErrorJSON,
): ErrorResultJSON {
  const ik = instanceKey;
  if (name === undefined)
    return snapId === undefined
      ? { error, "instance-key": ik, result: "error" }
      : { error, "instance-key": ik, result: "error", "snap-id": snapId };
  if (snapId === undefined) return { error, "instance-key": ik, name, result: "error" };
  return { error, "instance-key": ik, name, result: "error", "snap-id": snapId };
}

/** The error of a resolution that found no revision, with the releases it has (snapd lists them to the user). */
function resolutionError(res: Resolution & { readonly ok: false }): ResultErrorJSON {
  const releases = res.releases.map((r) => ({ architecture: r.architecture, channel: r.channel }));
  return { code: res.code, message: res.message, extra: { releases } };
}

/** A result already serialized (successes, whose `snap` object comes from the cache below). */
class Serialized {
  constructor(readonly json: string) {}
}

type Result = ErrorResultJSON | FetchAssertionsResultJSON | Serialized;

/** A result's JSON: its members are already in the store's order. */
function resultJson(r: Result): string {
  return r instanceof Serialized ? r.json : JSON.stringify(r);
}

/**
 * The serialized `snap` object of each catalogue revision, per base URL. A catalogue is immutable
 * for the generation it belongs to, so a revision always renders the same: render it once, not on
 * every refresh (it was most of a refresh's CPU time). Kept in the generation's state: it goes with it.
 */
const SNAP_JSON = new StateKey(() => new Map<RevisionEntry, Map<string, string>>());
type SnapJsonCache = Map<RevisionEntry, Map<string, string>>;

function snapJson(cache: SnapJsonCache, snap: SnapEntry, rev: RevisionEntry, ctx: RenderContext): string {
  let byBase = cache.get(rev);
  if (byBase === undefined) {
    byBase = new Map();
    cache.set(rev, byBase);
  }
  let json = byBase.get(ctx.baseUrl);
  if (json === undefined) {
    json = JSON.stringify(toStoreSnap(snap, rev, ctx));
    byBase.set(ctx.baseUrl, json);
  }
  return json;
}

function success(
  action: string,
  instanceKey: string,
  snap: SnapEntry,
  res: { revision: RevisionEntry; effectiveChannel?: string; redirectChannel?: string; releasedAt?: string },
  env: ActionEnv,
): Serialized {
  // the bytes JSON.stringify gives for the object with these keys in the real store's (alphabetical) order
  const q = JSON.stringify;
  let json = "{";
  if (res.effectiveChannel !== undefined) json += `"effective-channel":${q(res.effectiveChannel)},`;
  json += `"instance-key":${q(instanceKey)},"name":${q(snap.name)}`;
  if (res.redirectChannel !== undefined) json += `,"redirect-channel":${q(res.redirectChannel)}`;
  if (res.releasedAt !== undefined) json += `,"released-at":${q(res.releasedAt)}`;
  return new Serialized(
    `${json},"result":${q(action)},"snap":${snapJson(env.snapJson, snap, res.revision, env.ctx)},"snap-id":${q(snap.snapId)}}`,
  );
}

function notFoundByName(instanceKey: string, name: string): ErrorResultJSON {
  return errorResult(instanceKey, undefined, name, {
    code: "name-not-found",
    message: `No snap named '${name}' found`,
  });
}

interface ActionEnv {
  readonly index: CatalogueIndex;
  readonly ctx: RenderContext;
  readonly arch: string;
  readonly defaultTracks: boolean;
  readonly contexts: Map<string, Context>;
  /** Refresh answers already given to devices like this one (refresh-cache.ts). */
  readonly answers: DeviceAnswers;
  /** The generation's rendered `snap` objects. */
  readonly snapJson: SnapJsonCache;
}

function answer(json: string): Answer {
  return { json, bytes: Buffer.byteLength(json) };
}

function installOrDownload(a: InstallAction, env: ActionEnv): Result {
  const { instanceKey, name, snapId } = a;
  const snap =
    (name !== undefined ? env.index.byName.get(name) : undefined) ??
    (snapId ? env.index.bySnapId.get(snapId) : undefined);
  if (!snap) return notFoundByName(instanceKey, name ?? snapId ?? "");
  const revision = need(a.revision);
  const channel = need(a.channel);
  const installedEpoch = need(a.epoch);
  const res = resolveSnap(snap, {
    arch: env.arch,
    ...(revision !== undefined ? { revision } : { channel: channel ?? "stable" }),
    ...(installedEpoch !== undefined ? { installedEpoch } : {}),
    defaultTracks: env.defaultTracks,
  });
  if (!res.ok) return errorResult(instanceKey, snap.snapId, snap.name, resolutionError(res));
  return success(a.action, instanceKey, snap, res, env);
}

function refresh(a: RefreshAction, env: ActionEnv): Answer {
  const { instanceKey, revision } = a;
  const cur = env.contexts.get(instanceKey);
  const snapId = a.snapId ?? cur?.snapId ?? "";
  const channel = a.channel ?? cur?.trackingChannel ?? "stable";
  // NUL separates the parts: a part with a NUL of its own could make two keys equal, so skip the cache
  const key = `${instanceKey}\0${snapId}\0${revision ?? ""}\0${channel}\0${cur?.revision ?? ""}\0${cur?.epochKey ?? ""}`;
  const cacheable = !instanceKey.includes("\0") && !snapId.includes("\0") && !channel.includes("\0");
  let got = cacheable ? env.answers.get(key) : undefined;
  if (got === undefined) {
    const r = resolveRefresh(instanceKey, snapId, revision, channel, cur, env);
    got = answer(resultJson(r));
    if (cacheable) env.answers.set(key, got);
  }
  return got;
}

function resolveRefresh(
  instanceKey: string,
  snapId: string,
  revision: number | undefined,
  channel: string,
  cur: Context | undefined,
  env: ActionEnv,
): Result {
  const snap = env.index.bySnapId.get(snapId);
  if (!snap) {
    return errorResult(instanceKey, snapId, undefined, {
      code: "id-not-found",
      message: `No snap with id '${snapId}' found`,
    });
  }
  const res = resolveSnap(snap, {
    arch: env.arch,
    ...(revision !== undefined ? { revision } : { channel }),
    ...(cur?.epoch !== undefined && revision === undefined ? { installedEpoch: cur.epoch } : {}),
    defaultTracks: env.defaultTracks,
  });
  if (res.ok) return success("refresh", instanceKey, snap, res, env);
  // the channel has releases but none can read the installed epoch: answer with what the device
  // has, so snapd says "snap has no updates available" (an empty answer is an error to snapd)
  const installed = cur ? snap.revisions.find((r) => r.revision === cur.revision) : undefined;
  if (installed && revision === undefined && cur?.epoch !== undefined) {
    const ignoringEpoch = resolveSnap(snap, { arch: env.arch, channel, defaultTracks: env.defaultTracks });
    if (ignoringEpoch.ok) return success("refresh", instanceKey, snap, { revision: installed }, env);
  }
  return errorResult(instanceKey, snap.snapId, snap.name, resolutionError(res));
}

/**
 * The full primary key an entry names (§5.2), and whether `if-newer-than` applies; an empty key
 * when the device already has the newest sequence it asks for; none when the store has none.
 */
function pickAssertion(
  wanted: AssertionWanted,
  index: CatalogueIndex,
): { fullKey?: readonly string[]; checkNewer: boolean } {
  const { type, key } = wanted;
  if ("primary" in key) {
    const full = fullPrimaryKey(type, key.primary);
    return full ? { fullKey: full, checkNewer: true } : { checkNewer: false };
  }
  const seqs = index.sequences.get(refKey(type, key.sequenceKey)) ?? [];
  const pinned = key.sequence;
  if (pinned !== undefined)
    return seqs.includes(pinned)
      ? { fullKey: [...key.sequenceKey, String(pinned)], checkNewer: true }
      : { checkNewer: false };
  const latest = seqs[seqs.length - 1];
  if (latest === undefined) return { checkNewer: false };
  const atLeast = need(key.atLeast);
  if (atLeast !== undefined && latest < atLeast) return { fullKey: [], checkNewer: false }; // nothing newer
  return { fullKey: [...key.sequenceKey, String(latest)], checkNewer: atLeast === undefined || latest === atLeast };
}

function fetchAssertions(
  a: FetchAssertionsAction,
  maxFormats: JsonObject,
  env: ActionEnv,
): FetchAssertionsResultJSON | undefined {
  const urls: string[] = [];
  const errors: AssertionErrorJSON[] = [];
  for (const checked of a.assertions) {
    const wanted = need(checked);
    const { type } = wanted;
    const mf = maxFormats[type];
    const maxFormat = typeof mf === "number" ? mf : 0;
    const { fullKey, checkNewer } = pickAssertion(wanted, env.index);
    if (fullKey && fullKey.length === 0) continue; // nothing newer than what the device has
    const revisions = fullKey ? env.index.assertions.get(refKey(type, fullKey)) : undefined;
    const found = revisions?.find((x) => x.format <= maxFormat);
    if (!found) {
      errors.push({ code: "not-found", message: `not found: no ${type} assertion matches`, type, ...wanted.sent });
      continue;
    }
    const ifNewer = need(wanted.ifNewerThan);
    if (checkNewer && ifNewer !== undefined && found.revision <= ifNewer) continue;
    const newest = revisions?.[0];
    const query = newest && newest.format > maxFormat ? `?max-format=${maxFormat}` : "";
    urls.push(env.ctx.baseUrl + assertionUrlPath(type, found.primaryKey) + query);
  }
  if (urls.length === 0 && errors.length === 0) return undefined;
  return errors.length > 0
    ? { "assertion-stream-urls": urls, "error-list": errors, key: a.key, result: "fetch-assertions" }
    : { "assertion-stream-urls": urls, key: a.key, result: "fetch-assertions" };
}

/** The results of every action, serialized in order, with their length in UTF-8 bytes. */
function answerActions(request: SnapActionRequest, env: ActionEnv): { results: string[]; bytes: number } {
  const results: string[] = [];
  let bytes = 0;
  for (const checked of request.actions) {
    const a = need(checked);
    let got: Answer | undefined;
    switch (a.action) {
      case "install":
      case "download":
        got = answer(resultJson(installOrDownload(a, env)));
        break;
      case "refresh":
        got = refresh(a, env);
        break;
      case "fetch-assertions": {
        const r = fetchAssertions(a, request.maxFormats, env);
        if (r) got = answer(resultJson(r));
        break;
      }
    }
    if (got !== undefined) {
      results.push(got.json);
      bytes += got.bytes;
    }
  }
  return { results, bytes };
}

/** Answers one snap action request. */
export function handleRefresh(req: RouteRequest, env: DynamicEnv): RouteResponse {
  let body: unknown;
  try {
    body = JSON.parse((req.body ?? Buffer.alloc(0)).toString("utf8"));
  } catch {
    return errorResponse(400, "bad-request", "cannot decode request body: invalid JSON");
  }
  try {
    const request = parseRequest(body);
    const caps = headerValue(req, "snap-device-capabilities") ?? "";
    const arch = deviceArch(req) ?? "amd64";
    const defaultTracks = caps.split(/[\s,]+/).includes("default-tracks");
    const actionEnv: ActionEnv = {
      index: env.index,
      ctx: env.ctx,
      arch,
      defaultTracks,
      contexts: request.contexts,
      answers: answersFor(env.state, arch, defaultTracks, env.ctx.baseUrl),
      snapJson: env.state.get(SNAP_JSON),
    };
    const { results, bytes } = answerActions(request, actionEnv);
    // byte for byte what jsonResponse(200, { "error-list": [], results }) would give (the store's order)
    const head = `{"error-list":[],"results":[`;
    const tail = `]}`;
    return {
      status: 200,
      contentType: JSON_TYPE,
      body: `${head}${results.join(",")}${tail}`,
      bodyBytes: head.length + bytes + Math.max(0, results.length - 1) + tail.length,
    };
  } catch (err) {
    if (err instanceof BadRequest)
      return errorResponse(400, "bad-request", `cannot handle snap action request: ${err.message}`);
    throw err;
  }
}

export const refreshRoute: DynamicRoute = {
  kind: "dynamic",
  id: "refresh",
  method: "POST",
  pattern: "/v2/snaps/refresh",
  handle: handleRefresh,
};
