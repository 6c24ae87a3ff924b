import { indexCatalogue } from "../catalogue/build-catalogue.js";
import { listenMismatch } from "../model/base-url.js";
import { type StoreLayout, treePath } from "../store/layout.js";
import { readCurrentGeneration } from "../store/state.js";
import { readTreeCatalogue, readTreeMeta, TREE_FORMAT } from "../store/tree-files.js";
import { SnapshelfError } from "../util/errors.js";
import { type NginxOptions, type NginxTls, parseListen } from "./config.js";
import { DEFAULT_UPSTREAM } from "./defaults.js";

export interface NginxFlags {
  readonly serverName?: string;
  readonly listen?: string;
  readonly upstream?: string;
  readonly tls?: NginxTls;
  readonly standalone?: boolean;
  readonly user?: string;
  readonly id?: string;
}

/** The tree in service: its generation, catalogue and metadata. */
export async function readServedTree(layout: StoreLayout) {
  const generation = readCurrentGeneration(layout);
  if (generation === undefined) {
    throw new SnapshelfError("nothing-built", `cannot read ${layout.root}: nothing built yet (run snapshelf build)`);
  }
  const dir = treePath(layout, generation);
  const what = `read generation ${generation}`;
  const meta = readTreeMeta(dir, what);
  return { generation, dir, meta, index: indexCatalogue(readTreeCatalogue(dir, what)) };
}

/** Generator options for the store's tree in service, defaults from its base URL. */
export async function nginxOptionsFromStore(
  layout: StoreLayout,
  flags: NginxFlags,
  warn: (line: string) => void = () => {},
): Promise<NginxOptions> {
  const tree = await readServedTree(layout);
  // nginx reads the files where this code's route table says they are
  if (tree.meta.format !== TREE_FORMAT) {
    throw new SnapshelfError(
      "tree-format",
      `cannot configure nginx for generation ${tree.generation}: it was built by an older snapshelf (tree format ${tree.meta.format}, this one writes ${TREE_FORMAT}); run snapshelf build first`,
    );
  }
  const base = new URL(tree.meta.baseUrl);
  const https = base.protocol === "https:";
  if (https && flags.tls === undefined && flags.listen === undefined) {
    warn(
      `note: the tree was built for ${tree.meta.baseUrl} but no --tls-cert/--tls-key was given: nginx will speak plain HTTP (terminate TLS in front of it, or pass the certificate)`,
    );
  }
  if (!https && flags.tls !== undefined) {
    warn(
      `note: serving TLS, but the tree was built for ${tree.meta.baseUrl}: download URLs say http (rebuild with --base-url https://...)`,
    );
  }
  const port = base.port !== "" ? base.port : flags.tls !== undefined || https ? "443" : "80";
  const listen = flags.listen ?? port;
  parseListen(listen);
  const mismatch = listenMismatch(listen, tree.meta.baseUrl);
  if (mismatch !== undefined) warn(`warning: ${mismatch}`);
  return {
    storeDir: layout.root,
    generation: tree.generation,
    index: tree.index,
    listen,
    serverName: flags.serverName ?? (base.hostname.startsWith("[") ? "_" : base.hostname),
    pathPrefix: base.pathname.replace(/\/+$/, ""),
    upstream: flags.upstream ?? DEFAULT_UPSTREAM,
    ...(flags.tls !== undefined ? { tls: flags.tls } : {}),
    ...(flags.standalone ? { standalone: flags.user !== undefined ? { user: flags.user } : {} } : {}),
    ...(flags.id !== undefined ? { id: flags.id } : {}),
  };
}
