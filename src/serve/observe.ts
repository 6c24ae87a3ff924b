/**
 * What an operator watches of a running `serve`: an access log (nginx's
 * combined format plus the device architecture and snapd version from the
 * request) and download counts per blob. Both attach to the HTTP server's
 * `request` event, so the request path itself is untouched.
 *
 * Counts keep no device identity: one number per blob. Each serve process
 * (each worker too) writes its own file, state/downloads/<pid>.json, at most
 * every few seconds and at exit, atomically; `status` sums the files of live
 * processes (see src/ops/downloads.ts). A file holds at most one entry per
 * blob the store has (only successful downloads of existing blobs count), so
 * it is bounded by the store, never by clients.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, unlink } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { join } from "node:path";
import type { StoreLayout } from "../store/layout.js";
import { writeJsonAtomic } from "../util/fs.js";
import { processAlive } from "../util/lock.js";

/** Longest request line or header value written to the log (a client cannot grow a line further). */
const MAX_FIELD = 1024;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** nginx's $time_local: `10/Oct/2000:13:55:36 +0000` (always UTC here). */
export function timeLocal(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** A header value as nginx logs it: quotes and control bytes escaped (\xHH), bounded. */
function esc(v: string | undefined): string {
  if (v === undefined || v === "") return "-";
  const cut = v.length > MAX_FIELD ? v.slice(0, MAX_FIELD) : v;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are what is escaped
  return cut.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Device architecture and snapd version: from Snap-Device-Architecture, else the snapd User-Agent. */
export function deviceOf(req: IncomingMessage): { arch?: string; snapd?: string } {
  const ua = header(req, "user-agent") ?? "";
  const snapd = /^snapd\/([^\s()]+)/.exec(ua)?.[1];
  const arch = header(req, "snap-device-architecture") ?? /\(([a-z0-9_]+)\) linux\//.exec(ua)?.[1];
  return { ...(arch !== undefined ? { arch } : {}), ...(snapd !== undefined ? { snapd } : {}) };
}

/** The URL as the client sent it (the router rewrites `req.url` for mounted handlers). */
function requestUrl(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url;
}

/** One access log line: nginx combined, then `arch=... snapd=...` ("-" when unknown). */
export function accessLogLine(req: IncomingMessage, res: ServerResponse, bytes: number, now: Date): string {
  const request = `${req.method ?? "-"} ${requestUrl(req) ?? "-"} HTTP/${req.httpVersion}`;
  const dev = deviceOf(req);
  return (
    `${req.socket.remoteAddress ?? "-"} - - [${timeLocal(now)}] "${esc(request)}" ${res.statusCode} ${bytes} ` +
    `"${esc(header(req, "referer"))}" "${esc(header(req, "user-agent"))}" arch=${esc(dev.arch)} snapd=${esc(dev.snapd)}\n`
  );
}

const BLOB_PATH = /\/blobs\/([0-9a-f]{96})\.snap$/;

/** The blob a successful download fetched from its start (a resumed range is not a new download), if any. */
export function downloadedBlob(req: IncomingMessage, res: ServerResponse): string | undefined {
  if (req.method !== "GET") return undefined;
  const hex = BLOB_PATH.exec((requestUrl(req) ?? "").split("?")[0] ?? "")?.[1];
  if (hex === undefined) return undefined;
  if (res.statusCode === 200) return hex;
  if (res.statusCode === 206 && /^bytes=0-/.test(header(req, "range") ?? "")) return hex;
  return undefined;
}

export interface Observer {
  close(): Promise<void>;
}

export interface ObserveOptions {
  /** A file to append to, or "-" for stdout. */
  readonly accessLog?: string;
  readonly log: (line: string) => void;
  /** How often counts are written (ms, default 5000). */
  readonly flushMs?: number;
}

/** Attaches the access log and the download counter to a running server. */
export async function observeServer(server: Server, layout: StoreLayout, opts: ObserveOptions): Promise<Observer> {
  let sink: WriteStream | NodeJS.WriteStream | undefined;
  if (opts.accessLog === "-") sink = process.stdout;
  else if (opts.accessLog !== undefined) {
    const file = createWriteStream(opts.accessLog, { flags: "a" });
    await new Promise<void>((resolve, reject) => {
      file.once("open", () => resolve());
      file.once("error", reject);
    });
    file.on("error", (err) => opts.log(`error: cannot write access log ${opts.accessLog}: ${err.message}`));
    sink = file;
  }

  const counts = new Map<string, number>();
  const started = new Date().toISOString();
  const dir = layout.downloads;
  const mine = join(dir, `${process.pid}.json`);
  let counting = true;
  let dirty = false;
  try {
    await mkdir(dir, { recursive: true });
    // files of processes that are gone: their counts ended with them
    for (const f of await readdir(dir)) {
      const pid = Number(/^([0-9]+)\.json$/.exec(f)?.[1]);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
        await unlink(join(dir, f)).catch(() => undefined);
      }
    }
    await writeJsonAtomic(mine, { pid: process.pid, started, counts: {} });
  } catch (err) {
    counting = false;
    opts.log(`note: download counts are off: cannot write ${dir}: ${(err as Error).message}`);
  }
  const flush = async (): Promise<void> => {
    if (!counting || !dirty) return;
    dirty = false;
    const sorted = Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    await writeJsonAtomic(mine, { pid: process.pid, started, counts: sorted }).catch((err: Error) => {
      opts.log(`error: cannot write download counts ${mine}: ${err.message}`);
    });
  };
  const timer = setInterval(() => void flush(), opts.flushMs ?? 5000);
  timer.unref();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const at = new Date();
    res.once("finish", () => {
      if (sink !== undefined) {
        const sent = req.method === "HEAD" ? 0 : Number(res.getHeader("content-length") ?? 0) || 0;
        sink.write(accessLogLine(req, res, sent, at));
      }
      const hex = counting ? downloadedBlob(req, res) : undefined;
      if (hex !== undefined) {
        counts.set(hex, (counts.get(hex) ?? 0) + 1);
        dirty = true;
      }
    });
  };
  server.on("request", onRequest);

  return {
    close: async () => {
      clearInterval(timer);
      server.off("request", onRequest);
      await flush();
      if (sink !== undefined && sink !== process.stdout) {
        const s = sink as WriteStream;
        await new Promise<void>((resolve) => s.end(resolve));
      }
    },
  };
}
