/**
 * Which revision a requested channel means on one architecture, from the
 * public store's channel map (pure). Follows the store (store-protocol.md
 * §4.6): a risk-only or branch-only channel is in the snap's default track;
 * an empty risk follows the next more stable one of the same track. Branches
 * are not in the info channel map, so they are resolved by the store itself
 * (a `download` action); `resolveChannel` says so.
 */
import { fullChannelName, parseChannel, riskIndex, toChannel } from "../model/channel.js";
import { type Channel, RISKS } from "../model/types.js";
import type { UpstreamChannelEntry } from "../upstream/wire.js";

export type ChannelResolution =
  /** Released (possibly by following a more stable risk): `channel` is where it is released. */
  | {
      readonly kind: "found";
      readonly channel: string;
      readonly revision: number;
      readonly releasedAt?: string;
    }
  /** Nothing in that track on this architecture. */
  | { readonly kind: "missing"; readonly channel: string }
  /** A branch: ask the store (`channel` is the full name to ask for). */
  | { readonly kind: "branch"; readonly channel: string };

/** The full channel a request names for a snap with `defaultTrack`. */
export function requestedChannel(requested: string, defaultTrack: string | undefined): Channel {
  return toChannel(parseChannel(requested), defaultTrack ?? "latest");
}

/** Whether a channel-map entry is for device `arch` (the store may report `all` for arch-independent revisions). */
export function entryOnArch(e: UpstreamChannelEntry, arch: string): boolean {
  return e.architecture === arch || e.architecture === "all";
}

/**
 * Resolves `requested` (as an operator or snapd writes it: `stable`,
 * `2.x/beta`, `edge/fix-1`) on `arch` against `map`.
 * @throws SnapshelfError `invalid-channel` for a malformed channel.
 */
export function resolveChannel(
  map: readonly UpstreamChannelEntry[],
  arch: string,
  requested: string,
  defaultTrack: string | undefined,
): ChannelResolution {
  const ch = requestedChannel(requested, defaultTrack);
  const full = fullChannelName(ch);
  if (ch.branch !== undefined) return { kind: "branch", channel: full };
  for (let i = riskIndex(ch.risk); i >= 0; i--) {
    const risk = RISKS[i]!;
    const e = map.find((x) => entryOnArch(x, arch) && x.track === ch.track && x.risk === risk);
    if (e !== undefined) {
      return {
        kind: "found",
        channel: fullChannelName({ track: ch.track, risk }),
        revision: e.revision,
        ...(e.releasedAt === undefined ? {} : { releasedAt: e.releasedAt }),
      };
    }
  }
  return { kind: "missing", channel: full };
}

/** What is released on an architecture, for messages: `latest/stable r2, 2.x/stable r5`. */
export function describeReleases(map: readonly UpstreamChannelEntry[], arch: string): string {
  const items = map.filter((e) => entryOnArch(e, arch)).map((e) => `${e.track}/${e.risk} r${e.revision}`);
  return items.length === 0 ? "nothing" : items.join(", ");
}
