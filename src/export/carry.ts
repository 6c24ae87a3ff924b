/**
 * What export carries from the public store's answers into a bundle: the snap's store metadata
 * (from `v2/snaps/info`) and each revision's store facts (from its `download` action). Pure, so
 * the golden tests run the recorded answers of the real store through the very same code.
 */
import { type BundleRevision, type BundleStoreMeta, blobEntryName } from "../bundle/format.js";
import { epochEquals, formatEpoch } from "../model/epoch.js";
import type { SnapYamlInfo } from "../model/types.js";
import type { UpstreamRevision, UpstreamSnapMeta } from "../upstream/wire.js";

export function toStoreMeta(m: UpstreamSnapMeta, defaultTrack: string | undefined): BundleStoreMeta {
  return {
    ...(m.title === undefined ? {} : { title: m.title }),
    ...(m.summary === undefined ? {} : { summary: m.summary }),
    ...(m.description === undefined ? {} : { description: m.description }),
    ...(m.publisher === undefined ? {} : { publisher: m.publisher }),
    ...(m.license === undefined ? {} : { license: m.license }),
    ...(m.contact === undefined ? {} : { contact: m.contact }),
    ...(m.website === undefined ? {} : { website: m.website }),
    ...(m.storeUrl === undefined ? {} : { storeUrl: m.storeUrl }),
    media: m.media,
    categories: m.categories,
    ...(m.featuredCategories.length === 0 ? {} : { featuredCategories: m.featuredCategories }),
    ...(m.links === undefined ? {} : { links: m.links }),
    ...(m.prices === undefined ? {} : { prices: m.prices }),
    ...(m.private === undefined ? {} : { private: m.private }),
    ...(defaultTrack === undefined || defaultTrack === "latest" ? {} : { defaultTrack }),
  };
}

/**
 * A revision's bundle entry: its blob, and what the store said of it. `info` is the verified
 * blob's snap.yaml (its version and architectures win over the store's).
 */
export function toBundleRevision(name: string, up: UpstreamRevision, info: SnapYamlInfo | undefined): BundleRevision {
  return {
    revision: up.revision,
    file: blobEntryName(name, up.revision),
    sha3_384: up.download.sha3_384,
    size: up.download.size,
    version: info?.version ?? up.version,
    architectures: info?.architectures ?? up.architectures,
    ...(up.createdAt === undefined ? {} : { createdAt: up.createdAt }),
    ...(up.commonIds === undefined ? {} : { commonIds: up.commonIds }),
    ...(up.confinement === undefined ? {} : { confinement: up.confinement }),
    ...(up.epoch === undefined ? {} : { epoch: up.epoch }),
  };
}

/**
 * Where the store's account of a revision disagrees with its verified blob's snap.yaml (one line
 * each, for a warning): the answers serve the blob's, so a device may see other values than the
 * public store showed.
 */
export function storeBlobDisagreements(label: string, up: UpstreamRevision, info: SnapYamlInfo): string[] {
  const out: string[] = [];
  const say = (what: string, store: string, blob: string): void => {
    out.push(`${label}: the store says ${what} ${store}, its snap.yaml ${blob}; serving the snap.yaml's`);
  };
  if (up.confinement !== undefined && up.confinement !== info.confinement)
    say("confinement", up.confinement, info.confinement);
  if (up.epoch !== undefined && !epochEquals(up.epoch, info.epoch))
    say("epoch", formatEpoch(up.epoch), formatEpoch(info.epoch));
  if (up.version !== "" && up.version !== info.version) say("version", up.version, info.version);
  const ua = [...up.architectures].sort().join(",");
  if (ua !== "" && ua !== [...info.architectures].sort().join(","))
    say("architectures", up.architectures.join(", "), info.architectures.join(", "));
  return out;
}
