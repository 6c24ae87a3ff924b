/**
 * list: what the store holds, from its records (not from the tree in
 * service: `status` says whether a build is pending). Pure.
 */

import { buildCatalogue } from "../catalogue/build-catalogue.js";
import type { ChannelReleases, Publisher } from "../catalogue/types.js";
import { formatEpoch } from "../model/epoch.js";
import type { Records } from "../model/records.js";
import { didYouMean } from "../model/suggest.js";
import type { SnapMeta } from "../model/types.js";
import { SnapshelfError } from "../util/errors.js";

export interface SnapSummary {
  readonly name: string;
  readonly snapId: string;
  readonly revisions: number;
  /** Version of the highest revision. */
  readonly version: string;
  readonly architectures: readonly string[];
  /** `channel@arch` with something released (overrides included). */
  readonly channels: number;
  readonly overrides: number;
  /** Bytes of all its blobs. */
  readonly size: number;
}

export interface RevisionView {
  readonly revision: number;
  readonly version: string;
  readonly architectures: readonly string[];
  readonly epoch: string;
  readonly size: number;
  readonly sha3_384: string;
  readonly createdAt: string;
  /** `channel@arch` this revision is what is served in. */
  readonly serving: readonly string[];
}

export interface ChannelView {
  readonly channel: string;
  /** Device architecture or `all`. */
  readonly arch: string;
  /** What the channel serves for this arch key: the override, else the imported head. */
  readonly revision: number;
  readonly override?: { readonly revision: number; readonly at: string };
  /** The imported release history, oldest first. */
  readonly history: readonly { readonly revision: number; readonly at: string }[];
}

export interface SnapDetail {
  readonly name: string;
  readonly snapId: string;
  readonly publisher: Publisher;
  readonly meta: SnapMeta;
  readonly size: number;
  readonly revisions: readonly RevisionView[];
  readonly channels: readonly ChannelView[];
}

function channelName(cr: ChannelReleases): string {
  return `${cr.track}/${cr.risk}${cr.branch === undefined ? "" : `/${cr.branch}`}`;
}

/** Every snap with its details, sorted by name. */
export function listSnaps(records: Records): SnapDetail[] {
  const catalogue = buildCatalogue(records);
  const overrides = records.overrides ?? [];
  return catalogue.snaps.map((s) => {
    const channels: ChannelView[] = [];
    for (const cr of s.channels) {
      const channel = channelName(cr);
      const o = overrides.find((x) => x.name === s.name && x.channel === channel && x.arch === cr.arch);
      const history = (o === undefined ? cr.history : cr.history.slice(0, -1)).map((h) => ({
        revision: h.revision,
        at: h.releasedAt,
      }));
      const present = new Set(s.revisions.map((r) => r.revision));
      const head = cr.history.filter((h) => present.has(h.revision)).at(-1);
      if (head === undefined) continue;
      channels.push({
        channel,
        arch: cr.arch,
        revision: head.revision,
        ...(o === undefined ? {} : { override: { revision: o.revision, at: o.at } }),
        history,
      });
    }
    const revisions: RevisionView[] = s.revisions.map((r) => ({
      revision: r.revision,
      version: r.version,
      architectures: r.architectures,
      epoch: formatEpoch(r.epoch),
      size: r.size,
      sha3_384: r.sha3_384,
      createdAt: r.createdAt,
      serving: channels.filter((c) => c.revision === r.revision).map((c) => `${c.channel}@${c.arch}`),
    }));
    return {
      name: s.name,
      snapId: s.snapId,
      publisher: s.publisher,
      meta: s.meta,
      size: s.revisions.reduce((n, r) => n + r.size, 0),
      revisions,
      channels,
    };
  });
}

/** One line per snap. */
export function summariseSnaps(snaps: readonly SnapDetail[]): SnapSummary[] {
  return snaps.map((s) => {
    const newest = s.revisions.at(-1);
    return {
      name: s.name,
      snapId: s.snapId,
      revisions: s.revisions.length,
      version: newest?.version ?? "",
      architectures: [...new Set(s.revisions.flatMap((r) => r.architectures))].sort(),
      channels: s.channels.length,
      overrides: s.channels.filter((c) => c.override !== undefined).length,
      size: s.size,
    };
  });
}

/** The details of one snap; name-not-found if the store does not have it. */
export function snapDetail(records: Records, name: string): SnapDetail {
  const s = listSnaps(records).find((x) => x.name === name);
  if (!s)
    throw new SnapshelfError(
      "name-not-found",
      `cannot list ${name}: no such snap in the store${didYouMean(name, new Set(records.revisions.map((r) => r.name)))}`,
    );
  return s;
}
