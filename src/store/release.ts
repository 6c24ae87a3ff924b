/**
 * release: move channel heads like `snapcraft release`, recording the release
 * history per (snap, channel, arch) that epoch-aware refreshes walk.
 */
import { releaseArchKeys, revisionRunsOn } from "../model/arch.js";
import { fullChannelName, parseFullChannel } from "../model/channel.js";
import { type ReleaseRecord, replaceSnapMeta, withReleases } from "../model/records.js";
import { didYouMean } from "../model/suggest.js";
import { SnapshelfError } from "../util/errors.js";
import { type ChangeOptions, changeRecords } from "./change.js";
import type { StoreLayout } from "./layout.js";

export interface ReleaseOptions extends ChangeOptions {
  /** Restrict the release to one architecture (default: every architecture the revision is built for). */
  readonly arch?: string;
  readonly now?: Date;
}

export async function releaseRevision(
  layout: StoreLayout,
  name: string,
  revision: number,
  channels: readonly string[],
  opts: ReleaseOptions = {},
): Promise<readonly Omit<ReleaseRecord, "seq">[]> {
  if (channels.length === 0) throw new SnapshelfError("channel-needed", "cannot release: no channel given");
  const parsed = channels.map((c) => fullChannelName(parseFullChannel(c)));
  return changeRecords(layout, "release", opts, async (records) => {
    const rev = records.revisions.find((r) => r.name === name && r.revision === revision);
    if (!rev) {
      const known = records.revisions.some((r) => r.name === name);
      throw new SnapshelfError(
        known ? "revision-not-found" : "name-not-found",
        known
          ? `cannot release ${name}: no revision ${revision} in the store`
          : `cannot release ${name}: no such snap in the store${didYouMean(name, new Set(records.revisions.map((r) => r.name)))}`,
      );
    }
    let archKeys = releaseArchKeys(rev.info.architectures);
    if (opts.arch !== undefined) {
      if (!revisionRunsOn(rev.info.architectures, opts.arch)) {
        throw new SnapshelfError(
          "bad-input",
          `cannot release ${name} revision ${revision} on ${opts.arch}: it is built for ${rev.info.architectures.join(", ")}`,
        );
      }
      archKeys = [opts.arch];
    }
    const at = (opts.now ?? new Date()).toISOString();
    const events = parsed.flatMap((channel) => archKeys.map((arch) => ({ name, channel, arch, revision, at })));
    return {
      result: events,
      records: withReleases(records, events),
      audit: { op: "release", detail: { name, revision, channels: parsed, arches: archKeys } },
    };
  });
}

/** Sets the track risk-only requests resolve in (store metadata raw imports lack). */
export async function setDefaultTrack(
  layout: StoreLayout,
  name: string,
  track: string,
  opts: ChangeOptions = {},
): Promise<void> {
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9._-]*[a-zA-Z0-9])?$/.test(track)) {
    throw new SnapshelfError("invalid-track", `cannot set default track of ${name}: invalid track "${track}"`);
  }
  await changeRecords(layout, "set default track", opts, async (records) => {
    if (!records.revisions.some((r) => r.name === name)) {
      throw new SnapshelfError(
        "name-not-found",
        `cannot set default track of ${name}: no such snap in the store${didYouMean(name, new Set(records.revisions.map((r) => r.name)))}`,
      );
    }
    const { defaultTrack: _old, ...rest } = records.snaps[name] ?? {};
    return {
      result: undefined,
      records: replaceSnapMeta(records, name, track === "latest" ? rest : { ...rest, defaultTrack: track }),
      audit: { op: "default-track", detail: { name, track } },
    };
  });
}
