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
 * A file reached through a symbolic link below the root is not served (as
 * nginx's `disable_symlinks on`).
 *
 * Ranges are answered exactly as the generated nginx configuration answers
 * them (nginx's range filter with `max_ranges 1`, RFC 9110 §14): one range
 * gets a 206; several get the whole file; an unsatisfiable, malformed or
 * overflowing one a 416 whose Content-Range names only the size; `If-Range` with
 * a validator other than the current one gets the whole file. The ETag is
 * strong and changes with the content: inode, size and mtime in nanoseconds
 * (a tree path holds another file in every generation that changes it, and
 * a resumed download must never splice two). Dates name a second, so for
 * paths whose content may change (tree files) there is no Last-Modified and
 * a date in `If-Range` never matches.
 */
import { type BigIntStats, constants, createReadStream, open, realpath, realpathSync, stat } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { RANGE_NOT_SATISFIABLE_BODY } from "../routes/limits.js";

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
  /**
   * Send Last-Modified and honour dates in If-Range (default true). Off where a path may hold
   * other content later (tree files): a date names a second, not a version.
   */
  readonly dates?: boolean;
}

interface Entry {
  readonly abs: string;
  readonly size: number;
  readonly etag: string;
  /** The mtime as HTTP-date, when dates are validators here. */
  readonly lastModified: string | undefined;
  readonly contentType: string;
}

/** A safe relative path: no empty, `.`/`..` or dot-leading segments, no backslash or NUL. */
function safePath(path: string): boolean {
  if (path === "" || path.includes("\\") || path.includes("\0")) return false;
  return path.split("/").every((s) => s !== "" && !s.startsWith("."));
}

type Range = { start: number; end: number } | "unsatisfiable" | undefined;

const MAX_OFF = 2n ** 63n - 1n;

/**
 * A `Range` header against a file of `size` bytes, as nginx's range filter parses it with
 * `max_ranges 1` (ngx_http_range_parse): undefined for the whole file (no `bytes=` range, several
 * ranges, or one starting at 0 of an empty file), "unsatisfiable" for a 416 (malformed, beyond the
 * end, or numbers past 2^63), else the one range, `end` inclusive.
 */
export function parseRange(header: string | undefined, size: number): Range {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== "bytes=") return undefined;
  const s = header;
  let p = 6;
  const digit = (): bigint | undefined => {
    const c = s.charCodeAt(p);
    return c >= 48 && c <= 57 ? BigInt(c - 48) : undefined;
  };
  const spaces = (): void => {
    while (s[p] === " ") p++;
  };
  /** Digits at p, or undefined past 2^63 - 1. */
  const number = (): bigint | undefined => {
    let n = 0n;
    for (let d = digit(); d !== undefined; d = digit()) {
      n = n * 10n + d;
      if (n > MAX_OFF) return undefined;
      p++;
    }
    return n;
  };
  const cl = BigInt(size);
  let first: [bigint, bigint] | undefined;
  let total = 0n;
  let ranges = 1;
  for (;;) {
    let start = 0n;
    let end = 0n;
    let open = false;
    spaces();
    if (s[p] !== "-") {
      if (digit() === undefined) return "unsatisfiable";
      const a = number();
      if (a === undefined) return "unsatisfiable";
      start = a;
      spaces();
      if (s[p++] !== "-") return "unsatisfiable";
      spaces();
      if (p >= s.length || s[p] === ",") {
        end = cl;
        open = true;
      }
    } else {
      p++;
      if (digit() === undefined) return "unsatisfiable";
      const n = number();
      if (n === undefined) return "unsatisfiable";
      spaces();
      if (p < s.length && s[p] !== ",") return "unsatisfiable";
      start = n < cl ? cl - n : 0n;
      end = cl;
      open = true;
    }
    if (!open) {
      if (digit() === undefined) return "unsatisfiable";
      const b = number();
      if (b === undefined) return "unsatisfiable";
      spaces();
      if (p < s.length && s[p] !== ",") return "unsatisfiable";
      end = b >= cl ? cl : b + 1n;
    }
    if (start < end) {
      first ??= [start, end];
      if (total > MAX_OFF - (end - start)) return "unsatisfiable";
      total += end - start;
      if (ranges-- === 0) return undefined;
    } else if (start === 0n) return undefined;
    if (s[p++] !== ",") break;
  }
  if (first === undefined) return "unsatisfiable";
  if (total > cl) return undefined;
  return { start: Number(first[0]), end: Number(first[1]) - 1 };
}

/** Whether an If-Range validator names the entry as it is now (nginx: exact ETag, or exact Last-Modified date). */
function ifRangeHolds(v: string, e: Entry): boolean {
  if (v.length >= 2 && v.endsWith('"')) return v === e.etag;
  return e.lastModified !== undefined && Date.parse(v) === Date.parse(e.lastModified);
}

export function fileServer(opts: FileServerOptions): FileHandler {
  const known = new Map<string, Entry>();
  const toEntry = (path: string, abs: string, st: BigIntStats): Entry => ({
    abs,
    size: Number(st.size),
    etag: `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`,
    lastModified: opts.dates === false ? undefined : st.mtime.toUTCString(),
    contentType: opts.contentType?.(path) ?? "application/octet-stream",
  });
  // where files must really be: a path resolving elsewhere went through a symbolic link
  let realRoot: string;
  try {
    realRoot = realpathSync.native(opts.root);
  } catch {
    realRoot = opts.root;
  }

  const respond = (req: IncomingMessage, res: ServerResponse, e: Entry, path: string, next: () => void): void => {
    if (req.headers["if-none-match"] === e.etag) {
      res.writeHead(304, { ETag: e.etag });
      res.end();
      return;
    }
    const headers: Record<string, string | number> = {
      "Content-Type": e.contentType,
      ...(e.lastModified !== undefined ? { "Last-Modified": e.lastModified } : {}),
      ETag: e.etag,
      "Accept-Ranges": "bytes",
    };
    const h = req.headers["if-range"];
    const ifRange = Array.isArray(h) ? h[0] : h;
    const range = ifRange === undefined || ifRangeHolds(ifRange, e) ? parseRange(req.headers.range, e.size) : undefined;
    if (range === "unsatisfiable") {
      res.writeHead(416, {
        "Content-Type": "application/json",
        "Content-Range": `bytes */${e.size}`,
        "Content-Length": Buffer.byteLength(RANGE_NOT_SATISFIABLE_BODY),
      });
      res.end(req.method === "HEAD" ? undefined : RANGE_NOT_SATISFIABLE_BODY);
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
    if (req.method === "HEAD" || e.size === 0) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    // opened before the headers go out, never through a symbolic link: a file remembered here and
    // since removed, or replaced by a link, is not found (and forgotten), not a 200 cut short
    open(e.abs, constants.O_RDONLY | constants.O_NOFOLLOW, (err, fd) => {
      if (err) {
        known.delete(path);
        next();
        return;
      }
      res.writeHead(status, headers);
      const stream = createReadStream(e.abs, { fd, start, end, highWaterMark: opts.highWaterMark ?? 64 * 1024 });
      // errors (client gone) end the response; nothing more can be said once headers are out
      pipeline(stream, res, () => undefined);
    });
  };

  return (req, res, next) => {
    const path = (req.url ?? "").split("?")[0]?.replace(/^\/+/, "") ?? "";
    if (!safePath(path)) return next();
    const hit = known.get(path);
    if (hit) return respond(req, res, hit, path, next);
    const abs = join(opts.root, path);
    stat(abs, { bigint: true }, (err, st) => {
      if (err || !st.isFile()) return next();
      realpath.native(abs, (err2, real) => {
        if (err2 || real !== join(realRoot, path)) return next();
        const e = toEntry(path, abs, st);
        if (opts.remember !== false) known.set(path, e);
        respond(req, res, e, path, next);
      });
    });
  };
}
