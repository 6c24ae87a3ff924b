/**
 * serve: static files from the tree in service and from blobs/ (files.ts),
 * plus a polka shim for what cannot be static (refresh, find, device
 * sessions) and for query-selected files (which it maps onto tree files).
 *
 * Everything is loaded once per generation: the catalogue the tree was built
 * from and its index. Requests only look things up. A change of
 * `current` (checked every second), SIGHUP or `reload()` switches to the
 * generation it names, once it is completely loaded; a request in flight
 * finishes on the generation it started with.
 */
import { randomBytes } from "node:crypto";
import { unwatchFile, watchFile } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import polka from "polka";
import { type CatalogueIndex, indexCatalogue } from "../catalogue/build-catalogue.js";
import { GenerationState } from "../routes/generation-state.js";
import { STORE_VERSION } from "../routes/limits.js";
import { searchIndexOf } from "../routes/search.js";
import {
  BLOBS_PREFIX,
  contentTypeOfTreePath,
  DYNAMIC_ROUTES,
  SNAP_CONTENT_TYPE,
  STATIC_ROUTES,
} from "../routes/table.js";
import { errorResponse, type RouteRequest, type RouteResponse } from "../routes/types.js";
import { type StoreLayout, treePath } from "../store/layout.js";
import { readCurrentGeneration } from "../store/state.js";
import {
  isSharedPath,
  readTreeCatalogue,
  readTreeMeta,
  sharedTreePath,
  TREE_FORMAT,
  type TreeMeta,
} from "../store/tree-files.js";
import { failedTo, SnapshelfError } from "../util/errors.js";
import { answerBudget, busyAnswer, refusedUnanswered, SEND_TIMEOUT_MS, sendCounted } from "./answers.js";
import { BodyBudget, BUSY_RETRY_AFTER, readBody } from "./bodies.js";
import { fileServer } from "./files.js";

/** The longest wait between two tries of a generation that failed to load. */
const RETRY_MAX_MS = 30_000;

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

interface Generation {
  readonly generation: number;
  readonly index: CatalogueIndex;
  /** The handlers' caches and search index for this generation (freed with it). */
  readonly state: GenerationState;
  readonly meta: TreeMeta;
  readonly tree: Handler;
  readonly blobs: Handler;
  /** Tree files rendered for this server's base URL when the tree was built for another one. */
  readonly overlay: ReadonlyMap<string, string>;
}

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Base URL devices use; default: the tree's own, or the listening address with port 0. */
  readonly baseUrl?: string;
  readonly log?: (line: string) => void;
  /** How often `current` is checked for a generation switched by build or rollback (ms, default 1000). */
  readonly pollMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  generation(): number;
  reload(): void;
  close(): Promise<void>;
}

/** Sends `r`; `encoded`: its body already encoded (large answers, serve/answers.ts). */
function send(res: ServerResponse, r: RouteResponse, encoded?: Buffer): void {
  // the string goes to the socket as is (encoded on write): a Buffer copy first cost a refresh ~15 us
  res.writeHead(r.status, {
    "Content-Type": r.contentType,
    "Content-Length": encoded?.length ?? r.bodyBytes ?? Buffer.byteLength(r.body),
    ...(r.headers ?? {}),
  });
  res.end(encoded ?? r.body);
}

function loadGeneration(layout: StoreLayout, baseUrl: string | undefined, log: (l: string) => void): Generation {
  const generation = readCurrentGeneration(layout);
  if (generation === undefined) {
    throw new SnapshelfError("nothing-built", `cannot serve ${layout.root}: nothing built yet (run snapshelf build)`);
  }
  const dir = treePath(layout, generation);
  const meta = readTreeMeta(dir, `generation ${generation}`);
  const catalogue = readTreeCatalogue(dir, `generation ${generation}`);
  const index = indexCatalogue(catalogue);
  const state = new GenerationState(index);
  // the search index too is built here, once per generation, before it serves a request
  searchIndexOf(state);
  const overlay = new Map<string, string>();
  const oldLayout = meta.format !== TREE_FORMAT;
  if ((baseUrl !== undefined && baseUrl !== meta.baseUrl) || oldLayout) {
    // same renderers as the build, for this server's URL: done once, here, not per request (also
    // for a tree of an older layout, whose URL-bearing files, info, are where this code does not look)
    const url = baseUrl ?? meta.baseUrl;
    for (const route of STATIC_ROUTES) {
      if (!route.usesBaseUrl) continue;
      for (const f of route.files(index, { baseUrl: url })) if ("text" in f.body) overlay.set(f.path, f.body.text);
    }
    log(
      oldLayout
        ? `generation ${generation} was built by an older snapshelf (tree format ${meta.format}): serving its ${overlay.size} URL-bearing responses from memory (snapshelf build writes the current layout)`
        : `tree was built for ${meta.baseUrl}; serving ${overlay.size} URL-bearing responses rendered for ${baseUrl}`,
    );
  }
  // files are looked up when asked for: no walk of the tree or blobs/ at start-up (src/serve/files.ts)
  // tree paths hold other content in other generations: no dates as validators (files.ts)
  const own = fileServer({ root: dir, contentType: contentTypeOfTreePath, dates: false });
  // per-revision files shared by all generations (src/build/tree-files.ts); never remembered: a
  // newer revision of an assertion may replace one
  const shared = fileServer({
    root: sharedTreePath(layout),
    contentType: contentTypeOfTreePath,
    remember: false,
    dates: false,
  });
  // a tree of the current layout never holds shared paths itself: one lookup, not a miss first
  const tree: Handler = (req, res, next) => {
    if (!isSharedPath((req.url ?? "").replace(/^\/+/, ""))) own(req, res, next);
    else if (oldLayout) own(req, res, () => shared(req, res, next));
    else shared(req, res, next);
  };
  const blobs = fileServer({ root: layout.blobs, contentType: () => SNAP_CONTENT_TYPE, highWaterMark: 1 << 20 });
  return { generation, index, state, meta, tree, blobs, overlay };
}

function toRouteRequest(req: IncomingMessage & { params?: Record<string, string> }, body?: Buffer): RouteRequest {
  const url = new URL(req.url ?? "/", "http://localhost");
  return {
    method: req.method ?? "GET",
    params: req.params ?? {},
    query: url.searchParams,
    headers: req.headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/**
 * Requests Node's HTTP parser rejects (malformed request line or headers,
 * oversized headers, timeouts) never reach the app: answer them like every
 * other error, snapd-style JSON, instead of Node's empty-bodied default.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers-too-large", "cannot read request: headers too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "request-timeout", "cannot read request: timed out"]
        : [400, "bad-request", "cannot read request: malformed HTTP"];
  const body = errorResponse(status, code, message).body;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nSnap-Store-Version: ${STORE_VERSION}\r\nConnection: close\r\n\r\n${body}`,
  );
}

type App = ReturnType<typeof polka>;
type ParamsRequest = IncomingMessage & { params?: Record<string, string> };

/**
 * The generation in service and the base URL its answers are rendered for. Handlers read
 * `current` once, in the tick the request arrives; `reload` switches it.
 */
class Service {
  current: Generation | undefined;
  /** A generation that failed to load on a miss: not tried again there (the poll keeps trying it). */
  private failedGeneration: number | undefined;

  constructor(
    private readonly layout: StoreLayout,
    public baseUrl: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** The generation a request is answered from; none built is a 503. */
  inService(): Generation {
    const gen = this.current;
    if (!gen) throw new SnapshelfError("nothing-built", "no generation in service");
    return gen;
  }

  load(): Generation {
    return loadGeneration(this.layout, this.baseUrl, this.log);
  }

  use(next: Generation): void {
    this.current = next;
    this.log(`serving generation ${next.generation}`);
  }

  readonly reload = (): void => {
    this.use(this.load());
  };

  /**
   * What to answer from when `gen` lacks a static file: a newer generation that `current` already
   * names but this process has not loaded yet (it polls; with --workers, another worker may have
   * just answered this device from the newer one, e.g. a refresh naming a new snap-revision). It is
   * loaded now, so a device never sees the two mixed. A generation that fails to load is not tried
   * again here (404s must not each cost a load); the poll keeps trying it.
   */
  newer(gen: Generation): Generation | undefined {
    if (this.current !== undefined && this.current !== gen) return this.current;
    const onDisk = readCurrentGeneration(this.layout);
    if (onDisk === undefined || onDisk === gen.generation || onDisk === this.failedGeneration) return undefined;
    try {
      this.reload();
    } catch (err) {
      this.failedGeneration = onDisk;
      this.log(`error: ${failedTo("switch generation", err)}`);
      return undefined;
    }
    return this.current === gen ? undefined : this.current;
  }
}

/** Starts the server; resolves once it listens. */
export async function startServer(layout: StoreLayout, opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  const service = new Service(layout, opts.baseUrl, log);
  const app = newApp(service, log);
  const answers = answerBudget();
  mountDynamicRoutes(app, service, new BodyBudget(), answers);
  mountStaticRoutes(app, service, answers);
  mountBlobs(app, service);

  // fail before listening when nothing is built; loaded once: kept unless the base URL is only known
  // after listening (--port 0), where the URL-bearing responses must be rendered for it
  const first = service.load();
  const { server, url } = await listen(app, opts.port, opts.host);
  // base URL devices use: --base-url; with --port 0 the address just picked; else the tree's own
  if (service.baseUrl === undefined && opts.port === 0) service.baseUrl = url;
  try {
    if (service.baseUrl === opts.baseUrl) service.use(first);
    else service.reload();
  } catch (err) {
    server.close();
    throw err;
  }
  const unfollow = followCurrent(layout, service, opts.pollMs ?? 1000, log);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  // a client that takes no byte of its answer for this long is let go (serve/answers.ts)
  server.timeout = SEND_TIMEOUT_MS;
  server.on("clientError", answerClientError);
  return {
    url,
    server,
    generation: () => service.current?.generation ?? 0,
    reload: service.reload,
    close: () => {
      unfollow();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The polka app: JSON error answers, and the headers every answer carries. */
function newApp(service: Service, log: (line: string) => void): App {
  const app = polka({
    onNoMatch: (_req: IncomingMessage, res: ServerResponse) => send(res, errorResponse(404, "not-found", "not found")),
    onError: (err: unknown, _req: IncomingMessage, res: ServerResponse) => {
      const e = err instanceof SnapshelfError ? err : undefined;
      if (!e) log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
      // a body refused (size, or bodies in flight) is not read: close instead of draining it for keep-alive
      if ((e?.status === 413 || e?.code === "store-busy") && !res.headersSent) res.setHeader("Connection", "close");
      if (e?.code === "store-busy" && !res.headersSent) res.setHeader("Retry-After", String(BUSY_RETRY_AFTER));
      // a failure after the headers went out cannot be answered: end the connection instead
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, errorResponse(e?.status ?? 500, e?.code ?? "internal-error", e?.message ?? "internal server error"));
    },
  });

  app.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    res.setHeader("Snap-Store-Version", STORE_VERSION);
    // the generation this request is answered from (handlers take `current` in this same tick)
    res.setHeader("Snapshelf-Generation", String(service.current?.generation ?? 0));
    next();
  });
  return app;
}

/** The dynamic routes (refresh, search, ...): rendered per request from the generation's catalogue. */
function mountDynamicRoutes(app: App, service: Service, bodies: BodyBudget, answers: BodyBudget): void {
  for (const route of DYNAMIC_ROUTES) {
    const handler = async (req: ParamsRequest, res: ServerResponse) => {
      const gen = service.inService();
      // a large request while no large answer fits: refused before its body is read
      if (route.method === "POST" && refusedUnanswered(Number(req.headers["content-length"] ?? 0), answers)) {
        send(res, busyAnswer());
        return;
      }
      const body = route.method === "POST" ? await readBody(req, bodies) : undefined;
      const env = {
        index: gen.index,
        state: gen.state,
        ctx: { baseUrl: service.baseUrl ?? gen.meta.baseUrl },
        token: () => randomBytes(24).toString("base64url"),
        generation: gen.generation,
      };
      sendCounted(res, route.handle(toRouteRequest(req, body), env), answers, send);
    };
    if (route.method === "POST") app.post(route.pattern, handler);
    else app.get(route.pattern, handler);
  }
}

/** The static routes: a tree file (or the in-memory overlay); a miss may catch up with a newer generation. */
function mountStaticRoutes(app: App, service: Service, answers: BodyBudget): void {
  for (const route of STATIC_ROUTES) {
    const answer = (
      req: ParamsRequest,
      res: ServerResponse,
      gen: Generation,
      url: string | undefined,
      mayCatchUp: boolean,
    ): void => {
      req.url = url;
      const rr = toRouteRequest(req);
      const missing = (): void => {
        const next = mayCatchUp ? service.newer(gen) : undefined;
        if (next === undefined) {
          send(res, route.notFound(rr));
          return;
        }
        res.setHeader("Snapshelf-Generation", String(next.generation));
        answer(req, res, next, url, false);
      };
      const path = route.select(rr, gen.index);
      if (path === undefined) {
        missing();
        return;
      }
      const inMemory = gen.overlay.get(path);
      if (inMemory !== undefined) {
        sendCounted(res, { status: 200, contentType: route.contentType, body: inMemory }, answers, send);
        return;
      }
      req.url = "/" + path;
      gen.tree(req, res, missing);
    };
    app.get(route.pattern, (req: ParamsRequest, res: ServerResponse) => {
      answer(req, res, service.inService(), req.url, true);
    });
  }
}

/** Blobs by their sha3-384 name. */
function mountBlobs(app: App, service: Service): void {
  app.get(`${BLOBS_PREFIX}*`, (req: IncomingMessage, res: ServerResponse) => {
    const gen = service.inService();
    const name = (req.url ?? "").slice(BLOBS_PREFIX.length).split("?")[0] ?? "";
    if (!/^[0-9a-f]{96}\.snap$/.test(name)) return send(res, errorResponse(404, "not-found", "not found"));
    req.url = "/" + name;
    gen.blobs(req, res, () => send(res, errorResponse(404, "not-found", "not found")));
  });
}

/** Listens; resolves with the server and the URL of the address it listens on. */
async function listen(app: App, port: number, host: string): Promise<{ server: Server; url: string }> {
  const server = app.listen(port, host).server as Server;
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${h}:${addr.port}` };
}

/**
 * Follows `current` without a restart: a stat every pollMs (SIGHUP switches at once); a
 * generation that fails to load (say its copy is still arriving) leaves the one in service
 * serving and is tried again, every pollMs doubling up to RETRY_MAX_MS, until it loads or
 * `current` names another. Returns what stops following.
 */
function followCurrent(layout: StoreLayout, service: Service, pollMs: number, log: (line: string) => void): () => void {
  let retry: NodeJS.Timeout | undefined;
  let retryMs = pollMs;
  const follow = () => {
    clearTimeout(retry);
    retry = undefined;
    if (readCurrentGeneration(layout) === service.current?.generation) {
      retryMs = pollMs;
      return;
    }
    try {
      service.reload();
      retryMs = pollMs;
    } catch (err) {
      log(`error: ${failedTo("switch generation", err)} (trying again in ${retryMs} ms)`);
      retry = setTimeout(follow, retryMs);
      retry.unref();
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  };
  watchFile(layout.current, { interval: pollMs, persistent: false }, follow);
  return () => {
    unwatchFile(layout.current, follow);
    clearTimeout(retry);
  };
}
