/**
 * Channels and architectures typed on the command line, checked before any
 * work (hashing, locking) with a "did you mean" for the likely typo. Pure.
 */

import { SnapshelfError } from "../util/errors.js";
import { ARCH_ALL, isKnownArch } from "./arch.js";
import { fullChannelName, isRisk, LATEST_TRACK, parseFullChannel } from "./channel.js";
import { didYouMean, nearest } from "./suggest.js";
import { KNOWN_ARCHES, RISKS } from "./types.js";

function bad(s: string, reason: string): SnapshelfError {
  return new SnapshelfError("invalid-channel", `cannot use channel "${s}": ${reason}`);
}

/** A track name that reads like a version (2.x, 1.0, 22): near misses there are usually other versions. */
function versionLike(track: string): boolean {
  return /^[0-9][0-9.x-]*$/.test(track);
}

/**
 * Checks a channel given as an option (`track/risk[/branch]`, or a bare risk)
 * against the risks and the tracks the store knows, and returns its full name.
 * Refuses a lone word that is not a risk (a track needs its risk), a misspelt
 * risk, and a new track one or two letters away from a known one.
 */
export function checkChannelOption(s: string, knownTracks: () => readonly string[]): string {
  const parts = s.split("/");
  const tracks = (): string[] => [LATEST_TRACK, ...knownTracks().filter((t) => t !== LATEST_TRACK)];
  if (parts.length === 1 && !isRisk(s) && s !== "") {
    if (tracks().includes(s)) throw bad(s, `a track needs its risk; did you mean "${s}/stable"?`);
    throw bad(s, `not a risk (${RISKS.join(", ")})${didYouMean(s, [...RISKS, ...tracks()])}`);
  }
  if (parts.length >= 2) {
    const [first = "", second = ""] = parts;
    if (!isRisk(first) && !isRisk(second) && second !== "") {
      throw bad(s, `"${second}" is not a risk (${RISKS.join(", ")})${didYouMean(second, RISKS)}`);
    }
    if (!isRisk(first) && first !== "" && !versionLike(first)) {
      const known = tracks();
      const near = known.includes(first) ? undefined : nearest(first, known);
      if (near !== undefined) {
        throw bad(s, `the store has no track "${first}"; did you mean "${[near, ...parts.slice(1)].join("/")}"?`);
      }
    }
    if (isRisk(first) && !isRisk(second)) {
      // risk/branch: a branch spelt like a risk is a typo of track/risk the other way round
      const r = nearest(second, RISKS);
      if (r !== undefined)
        throw bad(s, `"${second}" is a branch of ${first}, not a risk; did you mean "${first}/${r}"?`);
    }
  }
  return fullChannelName(parseFullChannel(s));
}

/** Checks an architecture given as an option: a device architecture snapd knows, or `all` when allowed. */
export function checkArchOption(s: string, opts: { all?: boolean } = {}): string {
  if (isKnownArch(s) || (opts.all === true && s === ARCH_ALL)) return s;
  const known = opts.all === true ? [...KNOWN_ARCHES, ARCH_ALL] : [...KNOWN_ARCHES];
  throw new SnapshelfError(
    "invalid-arch",
    `cannot use architecture "${s}": not one snapd knows (${known.join(", ")})${didYouMean(s, known)}`,
  );
}
