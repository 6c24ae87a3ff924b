/**
 * Channel names: parsing (snapd's track/risk/branch rules), normalised names
 * and a deterministic order. Pure, no I/O.
 */
import { SnapshelfError } from "../util/errors.js";
import type { Channel, Risk } from "./types.js";
import { RISKS } from "./types.js";

/** The implicit default track. */
export const LATEST_TRACK = "latest";

/**
 * A channel as a client asked for it. `track` is absent when the string named
 * none (a risk-only request), which is what lets a snap's default track apply;
 * an explicit `latest` is kept as `track: "latest"`.
 */
export interface RequestedChannel {
  readonly track?: string;
  readonly risk: Risk;
  readonly branch?: string;
}

/** Whether `s` is one of the four risks. */
export function isRisk(s: string): s is Risk {
  return (RISKS as readonly string[]).includes(s);
}

/** Position of a risk in RISKS (0 = stable ... 3 = edge). */
export function riskIndex(risk: Risk): number {
  return RISKS.indexOf(risk);
}

function invalid(s: string, reason: string): SnapshelfError {
  return new SnapshelfError("invalid-channel", `cannot parse channel ${JSON.stringify(s)}: ${reason}`);
}

function checkRisk(s: string, risk: string): Risk {
  if (!isRisk(risk)) throw invalid(s, `invalid risk ${JSON.stringify(risk)}`);
  return risk;
}

function checkTrack(s: string, track: string): string {
  if (track === "") throw invalid(s, "empty track");
  return track;
}

function checkBranch(s: string, branch: string): string {
  if (branch === "") throw invalid(s, "empty branch");
  return branch;
}

/**
 * Parses a channel string as snapd sends it: `risk`, `track`, `track/risk`,
 * `risk/branch` or `track/risk/branch`. A lone component that is not a risk
 * is a track (risk `stable`); in two components a leading risk makes the
 * second a branch, otherwise it is `track/risk`.
 * @throws SnapshelfError `invalid-channel` on empty strings or components,
 *   more than three components, or a non-risk in the risk position.
 */
export function parseChannel(s: string): RequestedChannel {
  if (s === "") throw invalid(s, "channel name cannot be empty");
  const p = s.split("/");
  switch (p.length) {
    case 1: {
      const [only = ""] = p;
      if (isRisk(only)) return { risk: only };
      return { track: checkTrack(s, only), risk: "stable" };
    }
    case 2: {
      const [first = "", second = ""] = p;
      if (isRisk(first)) return { risk: first, branch: checkBranch(s, second) };
      return { track: checkTrack(s, first), risk: checkRisk(s, second) };
    }
    case 3: {
      const [track = "", risk = "", branch = ""] = p;
      return { track: checkTrack(s, track), risk: checkRisk(s, risk), branch: checkBranch(s, branch) };
    }
    default:
      throw invalid(s, "channel name has too many components");
  }
}

/** Completes a requested channel with `track` when it named none. */
export function toChannel(req: RequestedChannel, track: string = LATEST_TRACK): Channel {
  const t = req.track ?? track;
  return req.branch === undefined ? { track: t, risk: req.risk } : { track: t, risk: req.risk, branch: req.branch };
}

/**
 * Parses a channel string stored in a record: `track/risk[/branch]`; `risk`
 * and `risk/branch` are accepted as shorthand for the `latest` track. A lone
 * track (`2.x`) is rejected: a record must name its risk.
 * @throws SnapshelfError `invalid-channel`.
 */
export function parseFullChannel(s: string): Channel {
  const req = parseChannel(s);
  if (req.track !== undefined && !s.includes("/")) throw invalid(s, "missing risk");
  return toChannel(req);
}

/** `track/risk[/branch]`, always with the track (`latest/stable`). */
export function fullChannelName(c: Channel): string {
  const base = `${c.track}/${c.risk}`;
  return c.branch === undefined ? base : `${base}/${c.branch}`;
}

/**
 * The real store's short form: `latest/` dropped (`stable`, `stable/hotfix-1`),
 * other tracks kept (`2.x/stable`).
 */
export function shortChannelName(c: Channel): string {
  const base = c.track === LATEST_TRACK ? c.risk : `${c.track}/${c.risk}`;
  return c.branch === undefined ? base : `${base}/${c.branch}`;
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Orders tracks: `latest` first, then by name (code-unit order, locale independent). */
export function compareTracks(a: string, b: string): number {
  if (a === b) return 0;
  if (a === LATEST_TRACK) return -1;
  if (b === LATEST_TRACK) return 1;
  return compareStrings(a, b);
}

/**
 * Deterministic channel order: track (`latest` first, then by name), risk in
 * RISKS order, no branch before branches, branches by name.
 */
export function compareChannels(a: Channel, b: Channel): number {
  const t = compareTracks(a.track, b.track);
  if (t !== 0) return t;
  const r = riskIndex(a.risk) - riskIndex(b.risk);
  if (r !== 0) return r;
  if (a.branch === b.branch) return 0;
  if (a.branch === undefined) return -1;
  if (b.branch === undefined) return 1;
  return compareStrings(a.branch, b.branch);
}

/** Whether two channels name the same track, risk and branch. */
export function channelEquals(a: Channel, b: Channel): boolean {
  return a.track === b.track && a.risk === b.risk && a.branch === b.branch;
}
