/**
 * Catalogue queries: which revision a request gets (revision pinning, channel
 * resolution with default tracks, risk fallback and branches, epochs), the
 * channel map of `v2/snaps/info`, and the `extra.releases` of errors.
 * Pure: no I/O, no clock. See store-protocol.md §4.5–4.8 and §6.
 */
import { ARCH_ALL, revisionRunsOn } from "../model/arch.js";
import type { RequestedChannel } from "../model/channel.js";
import {
  compareChannels,
  fullChannelName,
  isRisk,
  LATEST_TRACK,
  parseChannel,
  riskIndex,
  shortChannelName,
  toChannel,
} from "../model/channel.js";
import { canRead, formatEpoch } from "../model/epoch.js";
import type { Channel, Epoch } from "../model/types.js";
import { RISKS } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";
import type { ChannelReleases, Release, RevisionEntry, SnapEntry } from "./types.js";

/** What a snap action asks for, reduced to what resolution needs. */
export interface ResolveRequest {
  /** Device architecture (`Snap-Device-Architecture`). */
  readonly arch: string;
  /** As requested; absent = the caller had none (install defaults to `stable` before calling). */
  readonly channel?: string;
  /** Revision pinning (§4.7); wins over channel. */
  readonly revision?: number;
  /** Refresh: the context epoch; install/download: the action's epoch object when not null (§4.8). */
  readonly installedEpoch?: Epoch;
  /** The client sent `Snap-Device-Capabilities` containing `default-tracks`. */
  readonly defaultTracks: boolean;
}

/**
 * An `{architecture, channel}` pair of `error.extra.releases` (channel in the
 * store's short form). A type alias, not an interface, so it stays assignable
 * to JSON index-signature types.
 */
export type ReleaseRef = { readonly architecture: string; readonly channel: string };

/**
 * The outcome of {@link resolveSnap}. On success `effectiveChannel` is the
 * short name of the channel the revision came from (after risk fallback) and
 * `releasedAt` the time of that release (both absent for revision pinning);
 * `redirectChannel` is set when the track came from the snap's default track.
 */
export type Resolution =
  | {
      readonly ok: true;
      readonly revision: RevisionEntry;
      readonly effectiveChannel?: string;
      readonly redirectChannel?: string;
      readonly releasedAt?: string;
    }
  | {
      readonly ok: false;
      readonly code: "revision-not-found" | "invalid-channel";
      readonly message: string;
      readonly releases: readonly ReleaseRef[];
    };

/** One row of the `v2/snaps/info` channel map. */
export interface ChannelMapEntry {
  readonly channel: Channel;
  readonly revision: RevisionEntry;
  readonly releasedAt: string;
}

/** The revision entry numbered `n`, if the snap still has it. */
export function findRevision(snap: SnapEntry, n: number): RevisionEntry | undefined {
  return snap.revisions.find((r) => r.revision === n);
}

/** The channel of a release list, or undefined if its risk is not a risk (never in a built catalogue). */
function channelOf(cr: ChannelReleases): Channel | undefined {
  if (!isRisk(cr.risk)) return undefined;
  return cr.branch === undefined
    ? { track: cr.track, risk: cr.risk }
    : { track: cr.track, risk: cr.risk, branch: cr.branch };
}

/** Every distinct channel the snap has release lists for, sorted by {@link compareChannels}. */
function distinctChannels(snap: SnapEntry, withBranches: boolean): Channel[] {
  const seen = new Map<string, Channel>();
  for (const cr of snap.channels) {
    const ch = channelOf(cr);
    if (ch === undefined || (!withBranches && ch.branch !== undefined)) continue;
    seen.set(fullChannelName(ch), ch);
  }
  return [...seen.values()].sort(compareChannels);
}

/**
 * The release history of channel `ch` as a device of architecture `arch`
 * sees it, oldest first: the `arch` and `all` histories merged by `seq`,
 * without releases of revisions the snap no longer has (or that do not run on
 * `arch`). The last element is what the channel currently holds; empty means
 * the channel is closed for this architecture.
 */
export function effectiveHistory(snap: SnapEntry, ch: Channel, arch: string): readonly Release[] {
  const merged: Release[] = [];
  for (const cr of snap.channels) {
    if (cr.track !== ch.track || cr.risk !== ch.risk || cr.branch !== ch.branch) continue;
    if (cr.arch !== arch && cr.arch !== ARCH_ALL) continue;
    for (const rel of cr.history) {
      const rev = findRevision(snap, rel.revision);
      if (rev !== undefined && revisionRunsOn(rev.architectures, arch)) merged.push(rel);
    }
  }
  // Array.prototype.sort is stable: equal seqs (never in a built catalogue) keep list order.
  return merged.sort((a, b) => a.seq - b.seq);
}

/**
 * The channel map of `v2/snaps/info` for one architecture: the current
 * release of every non-empty `track/risk` (branches are never listed, closed
 * channels are omitted), `latest` track first, then tracks by name, risks
 * stable to edge.
 */
export function channelMap(snap: SnapEntry, arch: string): readonly ChannelMapEntry[] {
  const out: ChannelMapEntry[] = [];
  for (const channel of distinctChannels(snap, false)) {
    const current = effectiveHistory(snap, channel, arch).at(-1);
    if (current === undefined) continue;
    const revision = findRevision(snap, current.revision);
    if (revision !== undefined) out.push({ channel, revision, releasedAt: current.releasedAt });
  }
  return out;
}

/**
 * Every (architecture, channel including branches) with a current release,
 * for `error.extra.releases`; sorted by architecture, then channel. Releases
 * under `all` are listed under each device architecture named in the snap's
 * release lists and in `arches` (pass the requesting device's architecture so
 * snapd sees the channel exists for it), or under `all` if there is none.
 */
export function currentReleases(snap: SnapEntry, arches: readonly string[] = []): readonly ReleaseRef[] {
  const deviceArches = new Set<string>(arches.filter((a) => a !== ARCH_ALL));
  for (const cr of snap.channels) if (cr.arch !== ARCH_ALL) deviceArches.add(cr.arch);
  const archList = deviceArches.size === 0 ? [ARCH_ALL] : [...deviceArches].sort();
  const channels = distinctChannels(snap, true);
  const out: ReleaseRef[] = [];
  for (const architecture of archList) {
    for (const ch of channels) {
      if (effectiveHistory(snap, ch, architecture).length > 0) {
        out.push({ architecture, channel: shortChannelName(ch) });
      }
    }
  }
  return out;
}

function notFound(
  snap: SnapEntry,
  arch: string,
  message: string,
  code: "revision-not-found" | "invalid-channel" = "revision-not-found",
): Resolution {
  return { ok: false, code, message, releases: currentReleases(snap, [arch]) };
}

function resolveRevision(snap: SnapEntry, revision: number, arch: string): Resolution {
  const rev = findRevision(snap, revision);
  if (rev === undefined || !revisionRunsOn(rev.architectures, arch)) {
    return notFound(snap, arch, `No revision ${revision} available on ${arch}`);
  }
  return { ok: true, revision: rev };
}

/** The channels to try for a request, in order: the channel itself, then safer risks (never for branches). */
function fallbackChain(wanted: Channel): Channel[] {
  if (wanted.branch !== undefined) return [wanted];
  const chain: Channel[] = [];
  for (let i = riskIndex(wanted.risk); i >= 0; i--) {
    const risk = RISKS[i];
    if (risk !== undefined) chain.push({ track: wanted.track, risk });
  }
  return chain;
}

/**
 * Chooses the revision a snap action gets (store-protocol.md §4.6–4.8):
 *
 * - `revision` set: that revision if it runs on `arch` (else revision-not-found).
 * - Otherwise the channel (absent = `stable`) is parsed; an unparsable one is
 *   `invalid-channel`. A channel naming no track uses the snap's default track
 *   when the client has the `default-tracks` capability (and then, unless it is
 *   `latest`, answers `redirectChannel` = the requested channel in that track),
 *   else `latest`. An explicit track never redirects.
 * - A risk with nothing released for `arch` follows the next safer risk of the
 *   same track (edge → beta → candidate → stable); branches never fall back.
 *   Nothing found: revision-not-found listing the current releases.
 * - Without `installedEpoch` the channel's current revision is returned; with
 *   it, the most recent release in the channel's history whose revision can
 *   read that epoch (none: revision-not-found, the refresh handler then
 *   answers with the installed revision).
 */
export function resolveSnap(snap: SnapEntry, req: ResolveRequest): Resolution {
  const { arch } = req;
  if (req.revision !== undefined) return resolveRevision(snap, req.revision, arch);

  let requested: RequestedChannel;
  try {
    requested = parseChannel(req.channel ?? "stable");
  } catch (err) {
    if (err instanceof SnapshelfError) return notFound(snap, arch, err.message, "invalid-channel");
    throw err;
  }

  // An empty default track is treated as none.
  const defaultTrack = req.defaultTracks && snap.meta.defaultTrack ? snap.meta.defaultTrack : undefined;
  const wanted = toChannel(requested, defaultTrack ?? LATEST_TRACK);
  const redirectChannel =
    requested.track === undefined && defaultTrack !== undefined && defaultTrack !== LATEST_TRACK
      ? fullChannelName(wanted)
      : undefined;

  let used: Channel | undefined;
  let history: readonly Release[] = [];
  for (const candidate of fallbackChain(wanted)) {
    history = effectiveHistory(snap, candidate, arch);
    if (history.length > 0) {
      used = candidate;
      break;
    }
  }
  if (used === undefined) {
    return notFound(snap, arch, `No revision available for channel '${fullChannelName(wanted)}' on ${arch}`);
  }

  const { installedEpoch } = req;
  for (let i = history.length - 1; i >= 0; i--) {
    const rel = history[i];
    const revision = rel === undefined ? undefined : findRevision(snap, rel.revision);
    if (rel === undefined || revision === undefined) continue;
    if (installedEpoch !== undefined && !canRead(revision.epoch, installedEpoch)) continue;
    return {
      ok: true,
      revision,
      effectiveChannel: shortChannelName(used),
      releasedAt: rel.releasedAt,
      ...(redirectChannel === undefined ? {} : { redirectChannel }),
    };
  }
  const epoch = installedEpoch === undefined ? "0" : formatEpoch(installedEpoch);
  return notFound(snap, arch, `No revision in channel '${fullChannelName(used)}' on ${arch} can read epoch ${epoch}`);
}
