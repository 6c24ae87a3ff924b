/**
 * Overrides: pin what a channel serves (`snapshelf override NAME
 * CHANNEL=REVISION`), list them, delete them. The imported release history is
 * never touched; the fold applies overrides as the channel's head (see
 * src/catalogue/overrides.ts for the rule, including epochs). The pure
 * changes come first, the locked, audited use-cases after.
 */

import { compareOverrides } from "../catalogue/overrides.js";
import { releaseArchKeys, revisionRunsOn } from "../model/arch.js";
import { fullChannelName, parseFullChannel } from "../model/channel.js";
import type { OverrideRecord, Records } from "../model/records.js";
import { didYouMean } from "../model/suggest.js";
import { type ChangeOptions, changeRecords } from "../store/change.js";
import type { StoreLayout } from "../store/layout.js";
import { SnapshelfError } from "../util/errors.js";

export interface OverrideRequest {
  readonly name: string;
  /** As typed: `stable`, `2.x/candidate`, `latest/stable/hotfix-1`. */
  readonly channel: string;
  readonly revision: number;
  /** One architecture (default: every arch key the revision is released under). */
  readonly arch?: string;
  readonly at: string;
}

/** Parses `CHANNEL=REVISION` (the argument form Canonical's proxy uses). */
export function parseChannelRevision(arg: string): { channel: string; revision: number } {
  const m = /^([^=\s]+)=([1-9][0-9]*)$/.exec(arg);
  if (!m?.[1] || !m[2]) {
    throw new SnapshelfError(
      "invalid-override",
      `cannot parse override "${arg}": want CHANNEL=REVISION, e.g. stable=12`,
    );
  }
  const revision = Number(m[2]);
  if (!Number.isSafeInteger(revision)) {
    throw new SnapshelfError("invalid-override", `cannot parse override "${arg}": revision too large`);
  }
  return { channel: m[1], revision };
}

/** The full channel name of what an operator typed (`stable` -> `latest/stable`). */
export function normaliseChannel(channel: string): string {
  return fullChannelName(parseFullChannel(channel));
}

/**
 * Pure: `records` with the override set, replacing any override of the same
 * (name, channel, arch key). Throws when the snap, the revision or the
 * architecture do not fit.
 */
export function withOverride(records: Records, req: OverrideRequest): { records: Records; set: OverrideRecord[] } {
  const channel = normaliseChannel(req.channel);
  const rev = records.revisions.find((r) => r.name === req.name && r.revision === req.revision);
  if (!rev) {
    const known = records.revisions.some((r) => r.name === req.name);
    throw new SnapshelfError(
      known ? "revision-not-found" : "name-not-found",
      known
        ? `cannot override ${req.name} ${channel}: no revision ${req.revision} in the store`
        : `cannot override ${req.name}: no such snap in the store${didYouMean(req.name, new Set(records.revisions.map((r) => r.name)))}`,
    );
  }
  let arches = releaseArchKeys(rev.info.architectures);
  if (req.arch !== undefined) {
    if (!revisionRunsOn(rev.info.architectures, req.arch)) {
      throw new SnapshelfError(
        "bad-input",
        `cannot override ${req.name} ${channel} on ${req.arch}: revision ${req.revision} is built for ${rev.info.architectures.join(", ")}`,
      );
    }
    arches = [req.arch];
  }
  const set = arches.map((arch) => ({ name: req.name, channel, arch, revision: req.revision, at: req.at }));
  const replaced = (o: OverrideRecord) => o.name === req.name && o.channel === channel && arches.includes(o.arch);
  const overrides = [...(records.overrides ?? []).filter((o) => !replaced(o)), ...set].sort(compareOverrides);
  return { records: { ...records, overrides }, set };
}

/**
 * Pure: `records` without the overrides of NAME in CHANNEL (on `arch` only,
 * if given). Throws when there is none, so a typo is not silently ignored.
 */
export function withoutOverride(
  records: Records,
  name: string,
  channelArg: string,
  arch?: string,
): { records: Records; deleted: OverrideRecord[] } {
  const channel = normaliseChannel(channelArg);
  const match = (o: OverrideRecord) =>
    o.name === name && o.channel === channel && (arch === undefined || o.arch === arch);
  const all = records.overrides ?? [];
  const deleted = all.filter(match);
  if (deleted.length === 0) {
    throw new SnapshelfError(
      "not-found",
      `cannot delete override of ${name} ${channel}${arch === undefined ? "" : ` on ${arch}`}: there is none`,
    );
  }
  const rest = all.filter((o) => !match(o));
  const { overrides: _drop, ...without } = records;
  return { records: rest.length > 0 ? { ...without, overrides: rest } : without, deleted };
}

export interface OverrideView extends OverrideRecord {
  /** The imported release it shadows (the imported head), if the channel has one. */
  readonly imported?: number;
}

/** Pure: the overrides (of NAME, if given) with the imported head each one shadows. */
export function listOverrides(records: Records, name?: string): OverrideView[] {
  const present = new Set(records.revisions.map((r) => `${r.name}\0${r.revision}`));
  return (records.overrides ?? [])
    .filter((o) => name === undefined || o.name === name)
    .map((o) => {
      const head = records.releases
        .filter((e) => e.name === o.name && e.channel === o.channel && e.arch === o.arch)
        .filter((e) => present.has(`${e.name}\0${e.revision}`))
        .reduce<number | undefined>((_, e) => e.revision, undefined);
      return head === undefined ? { ...o } : { ...o, imported: head };
    });
}

/** Sets an override (locked, audited). */
export async function setOverride(
  layout: StoreLayout,
  req: Omit<OverrideRequest, "at">,
  now = new Date(),
  opts: ChangeOptions = {},
): Promise<OverrideRecord[]> {
  return changeRecords(layout, "override", opts, async (stored) => {
    const { records, set } = withOverride(stored, { ...req, at: now.toISOString() });
    return {
      result: set,
      records,
      audit: {
        op: "override",
        detail: {
          name: req.name,
          channel: set[0]?.channel ?? req.channel,
          revision: req.revision,
          arches: set.map((o) => o.arch),
        },
      },
      at: now,
    };
  });
}

/** Deletes overrides (locked, audited); the imported release serves again after the next build. */
export async function deleteOverride(
  layout: StoreLayout,
  name: string,
  channel: string,
  arch?: string,
  opts: ChangeOptions = {},
): Promise<OverrideRecord[]> {
  return changeRecords(layout, "delete override", opts, async (stored) => {
    const { records, deleted } = withoutOverride(stored, name, channel, arch);
    return {
      result: deleted,
      records,
      audit: {
        op: "delete-override",
        detail: {
          name,
          channel: deleted[0]?.channel ?? channel,
          arches: deleted.map((o) => o.arch),
          revisions: deleted.map((o) => o.revision),
        },
      },
    };
  });
}
