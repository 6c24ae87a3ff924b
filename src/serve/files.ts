/**
 * Static files for the shim: tree files and blobs, by the path the route
 * table selected. Replaces sirv, which (a) walked the whole tree and the
 * blob directory at every start and reload (24,000 stats and 20,000
 * directory reads for a 20k-revision store: seconds of start-up and tens of
 * MB of tables) and (b) crashed the process on a reversed `Range` header
 * (`bytes=5-2`: createReadStream throws after the headers went out).
 *
 * Files are looked up when first asked for and their stat is remembered
 * (trees are immutable per generation, blobs are content-addressed: a file
 * that exists never changes; misses are not remembered, a blob may arrive).
 * Single byte ranges are honoured (snapd resumes downloads with
 * `Range: bytes=N-`); a malformed or multi-range header is ignored (RFC 9110
 * allows it) and the whole file is sent; an unsatisfiable one is a 416.
 */
import { createReadStream, type Stats, stat } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream";

export type FileHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface FileServerOptions {
  /** Directory the paths are relative to. */
  readonly root: string;
  /** Content-Type of a path (relative, no leading slash); default application/octet-stream. */
  readonly contentType?: (path: string) => string | undefined;
  /** Read size: large for multi-GiB blobs, small for JSON. */
  readonly highWaterMark?: number;
  /** Remember a file's stat once found (default true: the files never change). */
  readonly remember?: boolean;
}

interface Entry {
  readonly abs: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
}

/** A safe relative path: no empty, `.`/`..` or dot-leading segments, no backslash or NUL. */
function safePath(path: string): boolean {
  if (path === "" || path.includes("\\") || path.includes("\0")) return false;
  return path.split("/").every((s) => s !== "" && !s.startsWith("."));
}

type Range = { start: number; end: number } | "unsatisfiable" | undefined;

/** One `bytes=` range against `size`; undefined when absent or not a single well-formed range. */
export function parseRange(header: string | undefined, size: number): Range {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    // suffix: the last N bytes
    const n = Number(b);
    if (!Number.isSafeInteger(n)) return undefined;
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

export function fileServer(opts: FileServerOptions): FileHandler {
  const known = new Map<string, Entry>();
  const toEntry = (path: string, abs: string, st: Stats): Entry => ({
    abs,
    size: st.size,
    etag: `W/"${st.size}-${st.mtime.getTime()}"`,
    lastModified: st.mtime.toUTCString(),
    contentType: opts.contentType?.(path) ?? "application/octet-stream",
  });

  const respond = (req: IncomingMessage, res: ServerResponse, e: Entry): void => {
    if (req.headers["if-none-match"] === e.etag) {
      res.writeHead(304, { ETag: e.etag });
      res.end();
      return;
    }
    const headers: Record<string, string | number> = {
      "Content-Type": e.contentType,
      "Last-Modified": e.lastModified,
      ETag: e.etag,
      "Accept-Ranges": "bytes",
    };
    const range = parseRange(req.headers.range, e.size);
    if (range === "unsatisfiable") {
      const body = JSON.stringify({
        "error-list": [{ code: "range-not-satisfiable", message: `cannot serve range: file has ${e.size} bytes` }],
      });
      res.writeHead(416, {
        "Content-Type": "application/json",
        "Content-Range": `bytes */${e.size}`,
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    let status = 200;
    let start = 0;
    let end = e.size - 1;
    if (range) {
      status = 206;
      ({ start, end } = range);
      headers["Content-Range"] = `bytes ${start}-${end}/${e.size}`;
    }
    headers["Content-Length"] = e.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (req.method === "HEAD" || e.size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(e.abs, { start, end, highWaterMark: opts.highWaterMark ?? 64 * 1024 });
    // errors (file gone, client gone) end the response; nothing more can be said once headers are out
    pipeline(stream, res, () => undefined);
  };

  return (req, res, next) => {
    const path = (req.url ?? "").split("?")[0]?.replace(/^\/+/, "") ?? "";
    if (!safePath(path)) return next();
    const hit = known.get(path);
    if (hit) return respond(req, res, hit);
    const abs = join(opts.root, path);
    stat(abs, (err, st) => {
      if (err || !st.isFile()) return next();
      const e = toEntry(path, abs, st);
      if (opts.remember !== false) known.set(path, e);
      respond(req, res, e);
    });
  };
}
