/**
 * The refresh answer cache (docs/architecture.md, "refresh answers"), bounded in bytes, and the
 * length limits on the client strings that reach it. Kept apart from the request parsing in
 * refresh.ts: that file decides what an answer depends on, this one how much of it is kept.
 *
 * Devices of a fleet ask the same questions (same snaps, revisions, channels, architecture), so
 * most refresh actions are answered by one lookup instead of a channel resolution and a render.
 * Per generation (its GenerationState: it goes with the generation), per device kind (architecture,
 * capabilities, base URL). Every key and answer is counted at 2 bytes per UTF-16 unit (what V8
 * needs at most for a string) plus a fixed overhead per entry, and the counts are bounded per
 * device kind and in total. A device kind that fills its share starts again (no LRU bookkeeping
 * per hit); when the total is reached, the device kinds cached longest ago are dropped first.
 */
import { type GenerationState, StateKey } from "./generation-state.js";

/**
 * One action's answer as JSON, with its length in UTF-8 bytes: a response's length is the sum of
 * its answers', so no response is scanned for it (that scan was ~10% of a refresh-all).
 */
export interface Answer {
  readonly json: string;
  readonly bytes: number;
}

/**
 * Per device kind: 16 MiB is about 10,000 answers of a typical 1.5 KB snap, i.e. every (snap,
 * installed revision, channel) a fleet of one architecture has at 500 snaps with 20 variants each.
 */
export const ANSWER_CACHE_DEVICE_BYTES = 16 * 1024 * 1024;
/** Per generation, all device kinds together: 4 full device kinds (say amd64 and arm64, with and without default tracks). */
export const ANSWER_CACHE_TOTAL_BYTES = 64 * 1024 * 1024;
/** What a Map entry, the Answer object and its fields cost besides the two strings (measured ~90 bytes in V8). */
const ENTRY_OVERHEAD = 128;

/**
 * Longest strings a refresh request may carry, per JSON field, in UTF-16 units (refused beyond with
 * a 400 and snapd's error-list). snapd itself never sends more: instance keys are a snap-id (32) or
 * `<snap-id>:<43 base64url>` (76) or `install-N`; snap-ids are 32; snap names at most 40
 * (snapd's ValidateName); a channel is track (the store allows 28) / risk / branch (128); cohort
 * keys are opaque tokens of a few hundred characters. Anything else: DEFAULT_FIELD_LIMIT.
 */
export const FIELD_LIMITS: Readonly<Record<string, number>> = {
  "instance-key": 128,
  "snap-id": 64,
  name: 64,
  channel: 256,
  "tracking-channel": 256,
  "cohort-key": 2048,
  key: 256,
  type: 64,
};
/** Any other string field (and each primary-key or sequence-key element). */
export const DEFAULT_FIELD_LIMIT = 1024;

/** The smallest limit: a string no longer than this needs no lookup (most of a request's strings). */
export const MIN_FIELD_LIMIT = Math.min(DEFAULT_FIELD_LIMIT, ...Object.values(FIELD_LIMITS));

/** The limit of a request field (see FIELD_LIMITS). */
export function fieldLimit(field: string): number {
  return FIELD_LIMITS[field] ?? DEFAULT_FIELD_LIMIT;
}

/** What one entry counts for. */
function entryBytes(key: string, a: Answer): number {
  return 2 * (key.length + a.json.length) + ENTRY_OVERHEAD;
}

/** The answers of one device kind. */
export class DeviceAnswers {
  readonly map = new Map<string, Answer>();
  bytes: number;
  constructor(
    private readonly cache: AnswerCache,
    readonly deviceKey: string,
  ) {
    this.bytes = 2 * deviceKey.length + ENTRY_OVERHEAD;
  }

  get(key: string): Answer | undefined {
    return this.map.get(key);
  }

  set(key: string, a: Answer): void {
    const cost = entryBytes(key, a);
    // an answer larger than a device kind's share is answered, not kept
    if (cost > this.cache.deviceBytes - 2 * this.deviceKey.length - ENTRY_OVERHEAD) return;
    if (this.bytes + cost > this.cache.deviceBytes) this.clear();
    this.cache.makeRoom(this, cost);
    this.map.set(key, a);
    this.bytes += cost;
    this.cache.bytes += cost;
  }

  clear(): void {
    const freed = this.bytes - (2 * this.deviceKey.length + ENTRY_OVERHEAD);
    this.map.clear();
    this.bytes -= freed;
    this.cache.bytes -= freed;
  }
}

/** All device kinds of one generation. */
export class AnswerCache {
  readonly byDevice = new Map<string, DeviceAnswers>();
  bytes = 0;
  constructor(
    readonly deviceBytes = ANSWER_CACHE_DEVICE_BYTES,
    readonly totalBytes = ANSWER_CACHE_TOTAL_BYTES,
  ) {}

  device(deviceKey: string): DeviceAnswers {
    let d = this.byDevice.get(deviceKey);
    if (d === undefined) {
      d = new DeviceAnswers(this, deviceKey);
      this.makeRoom(d, d.bytes);
      this.byDevice.set(deviceKey, d);
      this.bytes += d.bytes;
    }
    return d;
  }

  /** Drops the device kinds cached longest ago (then `keep`'s own answers) until `cost` more bytes fit. */
  makeRoom(keep: DeviceAnswers, cost: number): void {
    for (const [k, d] of this.byDevice) {
      if (this.bytes + cost <= this.totalBytes) return;
      if (d === keep) continue;
      this.byDevice.delete(k);
      this.bytes -= d.bytes;
    }
    if (this.bytes + cost > this.totalBytes) keep.clear();
  }
}

const ANSWERS = new StateKey(() => new AnswerCache());

/** This request's part of the generation's cache: per device architecture, capabilities and base URL. */
export function answersFor(
  state: GenerationState,
  arch: string,
  defaultTracks: boolean,
  baseUrl: string,
): DeviceAnswers {
  return state.get(ANSWERS).device(JSON.stringify([arch, defaultTracks, baseUrl]));
}

/** What the cache of a generation holds (for tests and diagnostics). */
export function answerCacheStats(state: GenerationState): { bytes: number; devices: number; entries: number } {
  const cache = state.peek(ANSWERS);
  if (cache === undefined) return { bytes: 0, devices: 0, entries: 0 };
  let entries = 0;
  for (const d of cache.byDevice.values()) entries += d.map.size;
  return { bytes: cache.bytes, devices: cache.byDevice.size, entries };
}
