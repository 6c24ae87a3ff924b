/**
 * GET /v2/snaps/info/:name (store-protocol.md §6): one file per snap per
 * device architecture, selected by the `architecture` query parameter.
 */
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import { channelMap } from "../catalogue/resolve.js";
import type { SnapEntry } from "../catalogue/types.js";
import { shortChannelName } from "../model/channel.js";
import { type RenderContext, sortedKeys, toResources, toRevisionLevel, toSnapLevel } from "../wire/snap.js";
import {
  deviceArch,
  errorResponse,
  JSON_TYPE,
  type RouteRequest,
  type StaticRoute,
  type TreeFile,
  type WebSelect,
} from "./types.js";
import { selectFromWeb, unanchored } from "./web.js";

const NAME = /^[a-z0-9](?:-?[a-z0-9])*$/;
const ARCH = /^[a-z0-9]+$/;

/** The info document of a snap for one architecture, or undefined when nothing is released there. */
export function renderInfo(snap: SnapEntry, arch: string, ctx: RenderContext): string | undefined {
  const entries = channelMap(snap, arch);
  const first = entries[0];
  if (!first) return undefined;
  // the real store's order: alphabetical keys, `channel` among the revision's fields
  const doc = {
    "channel-map": entries.map((e) =>
      sortedKeys({
        channel: {
          architecture: arch,
          name: shortChannelName(e.channel),
          "released-at": e.releasedAt,
          risk: e.channel.risk,
          track: e.channel.track,
        },
        ...toRevisionLevel(e.revision, ctx),
        resources: toResources(e.revision, ctx),
      }),
    ),
    "default-track":
      snap.meta.defaultTrack !== undefined && snap.meta.defaultTrack !== "latest" ? snap.meta.defaultTrack : null,
    name: snap.name,
    snap: toSnapLevel(snap, first.revision),
    "snap-id": snap.snapId,
  };
  return JSON.stringify(doc);
}

/**
 * One flat directory (names and architectures have no dots): a directory per snap cost a build a
 * mkdir per snap, even for snaps it only links from the previous generation.
 */
export function infoPath(name: string, arch: string): string {
  return `v2/snaps/info/${name}.${arch}.json`;
}

function* infoFiles(index: CatalogueIndex, ctx: RenderContext): Iterable<TreeFile> {
  for (const snap of index.catalogue.snaps) {
    for (const arch of index.catalogue.arches) {
      const text = renderInfo(snap, arch, ctx);
      if (text !== undefined) yield { path: infoPath(snap.name, arch), body: { text } };
    }
  }
}

const INFO_PATTERN = "/v2/snaps/info/:name";

const INFO_WEB: WebSelect = {
  rules: [
    {
      path: `^/v2/snaps/info/(?<name>${unanchored(NAME)})$`,
      values: {
        arch: {
          from: [
            { query: "architecture" },
            { header: "snap-device-architecture" },
            { header: "x-ubuntu-architecture" },
          ],
          match: unanchored(ARCH),
          absent: { value: "amd64" },
        },
      },
      file: "v2/snaps/info/{name}.{arch}.json",
    },
  ],
};

const selectInfo = selectFromWeb(INFO_PATTERN, INFO_WEB);

/**
 * The one thing the description does not say: an empty architecture header (the first one sent,
 * without an `architecture` query) is no architecture, so serve answers not found, as it always
 * has. nginx cannot tell an empty header from a missing one and answers for amd64; snapd never
 * sends an empty one.
 */
function emptyArchHeader(req: RouteRequest): boolean {
  return deviceArch(req) === "" && !req.query.has("architecture");
}

export const infoRoute: StaticRoute = {
  kind: "static",
  id: "info",
  pattern: INFO_PATTERN,
  contentType: JSON_TYPE,
  treePrefix: "v2/snaps/info/",
  usesBaseUrl: true,
  files: infoFiles,
  split: { kind: "per-snap" },
  web: INFO_WEB,
  select: (req) => (emptyArchHeader(req) ? undefined : selectInfo(req)),
  notFound: (req) =>
    errorResponse(404, "resource-not-found", `No snap named '${req.params["name"] ?? ""}' found in series '16'.`),
};
