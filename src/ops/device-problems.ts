/**
 * Problems devices would hit that the records show: a snap with no release
 * anywhere (nothing installs it), a default track with nothing released
 * (`snap install NAME` finds nothing), a revision never released (no device
 * can get it). Overrides count as releases. Pure.
 */
import { parseFullChannel } from "../model/channel.js";
import type { Records } from "../model/records.js";

function trackOf(channel: string): string | undefined {
  try {
    return parseFullChannel(channel).track;
  } catch {
    return undefined;
  }
}

/** A warning when nothing of `name` is released in `track` (setting it as default track would strand devices). */
export function emptyTrackWarning(records: Records, name: string, track: string): string | undefined {
  if (track === "latest") return undefined;
  const released = [...records.releases, ...(records.overrides ?? [])];
  if (released.some((e) => e.name === name && trackOf(e.channel) === track)) return undefined;
  return `warning: nothing of ${name} is released in track ${track}: \`snap install ${name}\` finds nothing until something is (snapshelf release ${name} REV ${track}/stable)`;
}

export function deviceProblems(records: Records): string[] {
  const released = [...records.releases, ...(records.overrides ?? [])];
  const byName = new Map<string, number[]>();
  for (const r of records.revisions) byName.set(r.name, [...(byName.get(r.name) ?? []), r.revision]);
  const out: string[] = [];
  for (const [name, revisions] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const mine = released.filter((e) => e.name === name);
    if (mine.length === 0) {
      out.push(`${name} is released in no channel: devices cannot install it (snapshelf release ${name} REV CHANNEL)`);
      continue;
    }
    const track = records.snaps[name]?.defaultTrack;
    if (track !== undefined && !mine.some((e) => trackOf(e.channel) === track)) {
      out.push(
        `${name}'s default track ${track} has nothing released: \`snap install ${name}\` finds nothing (release to ${track}/stable, or snapshelf default-track ${name} latest)`,
      );
    }
    const never = revisions.filter((rev) => !mine.some((e) => e.revision === rev)).sort((a, b) => a - b);
    if (never.length > 0) {
      out.push(
        `${name} revision${never.length === 1 ? "" : "s"} ${never.join(", ")} never released: no device can get ${never.length === 1 ? "it" : "them"} (snapshelf release ${name} ${never[0]} CHANNEL, or remove --revision)`,
      );
    }
  }
  return out;
}
