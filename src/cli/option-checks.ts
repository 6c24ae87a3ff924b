/**
 * Options checked before a verb does any work: channels against the risks and
 * the store's tracks, architectures against snapd's list.
 */
import { LATEST_TRACK, parseFullChannel } from "../model/channel.js";
import { checkChannelOption } from "../model/option-checks.js";
import type { StoreLayout } from "../store/layout.js";

/** Whether checking `channel` may need the store's tracks (a track other than latest is named). */
function namesATrack(channel: string): boolean {
  const first = channel.split("/")[0] ?? "";
  return first !== LATEST_TRACK && !["stable", "candidate", "beta", "edge"].includes(first);
}

/** The tracks the store's release records use (read only when a channel names a track). */
export async function storeTracks(layout: StoreLayout | undefined, channels: readonly string[]): Promise<string[]> {
  if (layout === undefined || !channels.some(namesATrack)) return [];
  const { readRecords } = await import("../store/state.js");
  const records = await readRecords(layout);
  const tracks = new Set<string>();
  for (const r of records.releases) {
    try {
      tracks.add(parseFullChannel(r.channel).track);
    } catch {
      // a record that does not parse is verify's business
    }
  }
  for (const meta of Object.values(records.snaps)) if (meta.defaultTrack !== undefined) tracks.add(meta.defaultTrack);
  return [...tracks].sort();
}

/** Checks every channel (full names returned, in order); throws on the first typo. */
export async function checkedChannels(layout: StoreLayout | undefined, channels: readonly string[]): Promise<string[]> {
  const tracks = await storeTracks(layout, channels);
  return channels.map((c) => checkChannelOption(c, () => tracks));
}
