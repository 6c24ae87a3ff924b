/**
 * An undici client of the public store API, speaking the way snapd does
 * (store-protocol.md §4, §6, §10, §11): snap info with the channel map,
 * `download` actions on `v2/snaps/refresh`, assertions, and blob downloads
 * that resume with `Range` and hash while they write.
 *
 * The dispatcher is injectable (tests point it anywhere, or use a MockAgent);
 * redirects are followed (the public store redirects downloads to its CDN).
 * Network errors, 5xx and 429 are retried with exponential backoff, a bounded
 * number of times; everything else fails at once with a specific error.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { type Dispatcher, getGlobalDispatcher, interceptors, request } from "undici";
import { assertionType } from "../assertions/types.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason, isErrnoError, unlinkQuiet } from "../util/fs.js";
import { asObject, listField, parseJson, stringField } from "../util/json-shape.js";
import { DEFAULT_UPSTREAM } from "./endpoint.js";
import {
  EXPORT_ACTION_FIELDS,
  INFO_FIELDS,
  parseActionError,
  parseActionSnap,
  parseInfo,
  shapeFail,
  type UpstreamInfo,
  type UpstreamRevision,
} from "./wire.js";

export { DEFAULT_UPSTREAM };

const USER_AGENT = "snapshelf/0.1.0 (export; series 16)";
const MAX_JSON = 64 * 1024 * 1024;
const MAX_ASSERTION = 16 * 1024 * 1024;

export interface UpstreamOptions {
  /** Store base URL (default https://api.snapcraft.io). */
  readonly baseUrl?: string;
  /** undici dispatcher (default: the global one); redirects are followed on top of it. */
  readonly dispatcher?: Dispatcher;
  /** Tries per request, first included (default 5). */
  readonly attempts?: number;
  /** First backoff delay; doubles per retry up to `retryMaxMs` (default 500 ms, max 8 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Notes about retries (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

/** Which revision a download action asks for. */
export type ActionSelector = { readonly revision: number } | { readonly channel: string };

/** A failure worth retrying (5xx, 429, a transfer cut short). Network errors from undici count too. */
class TransientError extends Error {}

/** A `download` action the store answered with an error result. */
export class ActionError extends SnapshelfError {
  readonly releases: readonly { readonly architecture: string; readonly channel: string }[];
  constructor(code: string, message: string, releases: readonly { architecture: string; channel: string }[]) {
    super(code, message);
    this.releases = releases;
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof SnapshelfError) return false;
  // undici's network errors (UND_ERR_SOCKET, ECONNREFUSED, timeouts, ...)
  return err instanceof Error;
}

/** Name lookup failed or no route: errno codes of a host that cannot reach the network. */
const UNREACHABLE = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENONET",
]);

/** Whether `err` (or its cause chain) says the host cannot reach the network at all. */
export function isUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return true;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((x) => isUnreachable(x))) return true;
  }
  return false;
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const base = err.message || (typeof code === "string" ? code : "error");
    if (cause instanceof Error && cause.message && !base.includes(cause.message)) return `${base}: ${cause.message}`;
    return base;
  }
  return String(err);
}

const sleepReal = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface DownloadExpectation {
  /** Lower-case hex. */
  readonly sha3_384: string;
  readonly size: number;
}

export class UpstreamClient {
  readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly log: (line: string) => void;
  /** Whether any request got an answer: until then, a failed name lookup or no route fails at once. */
  private reached = false;

  constructor(opts: UpstreamOptions = {}) {
    const base = (opts.baseUrl ?? DEFAULT_UPSTREAM).replace(/\/+$/, "");
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new SnapshelfError("invalid-argument", `cannot use upstream ${JSON.stringify(base)}: not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new SnapshelfError("invalid-argument", `cannot use upstream ${base}: not an http(s) URL`);
    }
    this.baseUrl = base;
    this.dispatcher = (opts.dispatcher ?? getGlobalDispatcher()).compose(
      interceptors.redirect({ maxRedirections: 10 }),
    );
    this.attempts = Math.max(1, opts.attempts ?? 5);
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 8000;
    this.sleep = opts.sleep ?? sleepReal;
    this.log = opts.log ?? (() => {});
  }

  /** Runs `fn`, retrying transient failures with exponential backoff. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const v = await fn();
        this.reached = true;
        return v;
      } catch (err) {
        if (!this.reached && isUnreachable(err)) {
          // an offline host: retrying a name lookup only delays the answer
          throw new SnapshelfError(
            "upstream-unreachable",
            `cannot reach ${new URL(this.baseUrl).host}: run export on a connected machine, or give --upstream / HTTPS_PROXY`,
          );
        }
        if (!isTransient(err)) throw err;
        if (attempt >= this.attempts) {
          throw new SnapshelfError(
            "network",
            `cannot ${what}: ${reasonOf(err)} (gave up after ${attempt} attempt${attempt === 1 ? "" : "s"})`,
          );
        }
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
        this.log(`${what}: ${reasonOf(err)}; retrying in ${delay} ms (attempt ${attempt + 1} of ${this.attempts})`);
        await this.sleep(delay);
      }
    }
  }

  private url(path: string, query?: URLSearchParams): string {
    const q = query === undefined ? "" : `?${query.toString()}`;
    return `${this.baseUrl}/${path}${q}`;
  }

  private async send(
    method: "GET" | "POST",
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Dispatcher.ResponseData> {
    return request(url, {
      dispatcher: this.dispatcher,
      method,
      headers: { "user-agent": USER_AGENT, ...headers },
      ...(body === undefined ? {} : { body }),
    });
  }

  /** Reads a body as text, at most `max` bytes. */
  private static async text(res: Dispatcher.ResponseData, max: number, what: string): Promise<string> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body) {
      const b = c as Buffer;
      n += b.length;
      if (n > max) {
        res.body.destroy();
        throw new SnapshelfError("upstream-bad-response", `cannot ${what}: response larger than ${max} bytes`);
      }
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /** Throws TransientError for retryable statuses (after draining the body). */
  private static async checkTransient(res: Dispatcher.ResponseData, url: string): Promise<void> {
    if (res.statusCode >= 500 || res.statusCode === 429) {
      await res.body.dump().catch(() => undefined);
      throw new TransientError(`${url} answered HTTP ${res.statusCode}`);
    }
  }

  /** The `error-list` message of a JSON error body, if any. */
  private static async errorMessage(res: Dispatcher.ResponseData): Promise<string> {
    const text = await UpstreamClient.text(res, 1 << 20, "read error").catch(() => "");
    try {
      const o = JSON.parse(text) as { "error-list"?: { message?: unknown }[] };
      const m = o["error-list"]?.[0]?.message;
      if (typeof m === "string" && m !== "") return m;
    } catch {
      // not JSON
    }
    return text.slice(0, 200).trim();
  }

  /**
   * `GET v2/snaps/info/NAME?architecture=ARCH`: metadata and the channel map
   * of one device architecture. Unknown snap: `name-not-found`.
   */
  async info(name: string, arch: string): Promise<UpstreamInfo> {
    const what = `get info of ${name} (${arch}) from ${this.baseUrl}`;
    const url = this.url(
      `v2/snaps/info/${encodeURIComponent(name)}`,
      new URLSearchParams({ fields: INFO_FIELDS.join(","), architecture: arch }),
    );
    return this.retrying(what, async () => {
      const res = await this.send("GET", url, { "snap-device-series": "16", accept: "application/json" });
      await UpstreamClient.checkTransient(res, url);
      if (res.statusCode === 404) {
        await res.body.dump().catch(() => undefined);
        throw new SnapshelfError(
          "name-not-found",
          `cannot export ${JSON.stringify(name)}: snap not found in ${this.baseUrl}`,
        );
      }
      if (res.statusCode !== 200) {
        const msg = await UpstreamClient.errorMessage(res);
        throw new SnapshelfError("upstream-error", `cannot ${what}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ""}`);
      }
      const text = await UpstreamClient.text(res, MAX_JSON, what);
      return parseInfo(parseJson(text, shapeFail(what)), what);
    });
  }

  /**
   * One `download` action (`POST v2/snaps/refresh`) for NAME on ARCH, by
   * revision or channel: the revision's download URL, digest, size and
   * snap.yaml. Errors: `name-not-found`, `revision-not-found` (an
   * `ActionError` carrying where the snap is released instead).
   */
  async downloadAction(name: string, arch: string, sel: ActionSelector): Promise<UpstreamRevision> {
    const target = "revision" in sel ? `revision ${sel.revision}` : `channel ${sel.channel}`;
    const what = `get ${name} ${target} (${arch}) from ${this.baseUrl}`;
    const action: Record<string, unknown> = {
      action: "download",
      "instance-key": "download-1",
      name,
      epoch: null,
      ...("revision" in sel ? { revision: sel.revision } : { channel: sel.channel }),
    };
    const body = JSON.stringify({ context: [], actions: [action], fields: EXPORT_ACTION_FIELDS });
    const url = this.url("v2/snaps/refresh");
    return this.retrying(what, async () => {
      const res = await this.send(
        "POST",
        url,
        {
          "snap-device-series": "16",
          "snap-device-architecture": arch,
          "snap-device-capabilities": "default-tracks",
          "snap-classic": "true",
          accept: "application/json",
          "content-type": "application/json",
        },
        body,
      );
      await UpstreamClient.checkTransient(res, url);
      if (res.statusCode !== 200) {
        const msg = await UpstreamClient.errorMessage(res);
        throw new SnapshelfError("upstream-error", `cannot ${what}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ""}`);
      }
      const fail = shapeFail(what);
      const o = asObject(parseJson(await UpstreamClient.text(res, MAX_JSON, what), fail), "", fail);
      const results = listField(o, "results", "", fail);
      for (const [i, r] of results.entries()) {
        const p = `results[${i}]`;
        const ro = asObject(r, p, fail);
        if (ro["instance-key"] !== "download-1") continue;
        const kind = stringField(ro, "result", p, fail);
        if (kind === "error") {
          const e = parseActionError(ro, p, fail);
          if (e.code === "name-not-found" || e.code === "id-not-found") {
            throw new ActionError(
              "name-not-found",
              `cannot export ${JSON.stringify(name)}: snap not found in ${this.baseUrl}`,
              [],
            );
          }
          if (e.code === "revision-not-found") {
            const where = e.releases.map((x) => `${x.channel} on ${x.architecture}`).join(", ");
            throw new ActionError(
              "revision-not-found",
              `cannot export ${JSON.stringify(name)}: no ${target} for ${arch}${where ? ` (released: ${where})` : ""}`,
              e.releases,
            );
          }
          throw new ActionError("upstream-error", `cannot ${what}: ${e.code}: ${e.message}`, e.releases);
        }
        const snap = parseActionSnap(ro, p, fail);
        if (snap.name !== name) throw fail(`${p}.snap.name`, `asked for ${name}, got ${snap.name}`);
        if ("revision" in sel && snap.revision !== sel.revision) {
          throw fail(`${p}.snap.revision`, `asked for revision ${sel.revision}, got ${snap.revision}`);
        }
        return snap;
      }
      const errs = o["error-list"];
      if (Array.isArray(errs) && errs.length > 0) {
        const m = (errs[0] as { message?: unknown }).message;
        throw new SnapshelfError("upstream-error", `cannot ${what}: ${typeof m === "string" ? m : "store error"}`);
      }
      throw new SnapshelfError("upstream-bad-response", `cannot ${what}: no result for the action`);
    });
  }

  /**
   * `GET v2/assertions/TYPE/KEY...` (the reduced primary key), with the
   * max-format snapd 2.57.6 sends. Returns the body: the assertion's exact
   * bytes (possibly followed by more of a stream). Not found: `not-found`.
   * `sequence: "latest"` asks for the newest of a sequence (KEY is then the sequence key).
   */
  async assertion(type: string, key: readonly string[], opts: { readonly sequence?: "latest" } = {}): Promise<Buffer> {
    const ref = `${type}/${key.join("/")}${opts.sequence === undefined ? "" : `?sequence=${opts.sequence}`}`;
    const what = `get assertion ${ref} from ${this.baseUrl}`;
    const max = assertionType(type)?.maxFormat ?? 0;
    const query = new URLSearchParams({ "max-format": String(max) });
    // sequence-forming types: the sequence key in the path, `sequence=latest` in the query (store-protocol.md §10.2)
    if (opts.sequence !== undefined) query.set("sequence", opts.sequence);
    const url = this.url(`v2/assertions/${[type, ...key].map(encodeURIComponent).join("/")}`, query);
    return this.retrying(what, async () => {
      const res = await this.send("GET", url, {
        accept: "application/x.ubuntu.assertion",
        "x-ubuntu-series": "16",
        "snap-device-series": "16",
      });
      await UpstreamClient.checkTransient(res, url);
      if (res.statusCode === 404) {
        await res.body.dump().catch(() => undefined);
        throw new SnapshelfError("not-found", `cannot export: ${this.baseUrl} has no assertion ${ref}`);
      }
      if (res.statusCode !== 200) {
        const msg = await UpstreamClient.errorMessage(res);
        throw new SnapshelfError("upstream-error", `cannot ${what}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ""}`);
      }
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res.body) {
        const b = c as Buffer;
        n += b.length;
        if (n > MAX_ASSERTION) {
          res.body.destroy();
          throw new SnapshelfError("upstream-bad-response", `cannot ${what}: larger than ${MAX_ASSERTION} bytes`);
        }
        chunks.push(b);
      }
      return Buffer.concat(chunks);
    });
  }

  /**
   * Downloads `url` into `partial`, resuming what is there with `Range`, and
   * hashing while writing. Returns when the file has `expect.size` bytes and
   * the expected sha3-384. A mismatch discards the file and downloads once
   * more from scratch (as snapd does), then fails with `blob-digest-mismatch`
   * leaving nothing behind. A transfer cut short keeps the partial file for
   * the next attempt (or the next run).
   */
  async download(
    url: string,
    partial: string,
    expect: DownloadExpectation,
    label: string,
    onProgress?: (bytes: number) => void,
  ): Promise<void> {
    for (let round = 1; ; round++) {
      const got = await this.retrying(`download ${label}`, () =>
        this.downloadOnce(url, partial, expect, label, onProgress),
      );
      if (got.size === expect.size && got.sha3_384 === expect.sha3_384) return;
      await unlinkQuiet(partial);
      if (round >= 2) {
        throw new SnapshelfError(
          "blob-digest-mismatch",
          got.size !== expect.size
            ? `cannot download ${label} from ${url}: got ${got.size} bytes but expected ${expect.size}`
            : `cannot download ${label} from ${url}: sha3-384 mismatch: got ${got.sha3_384} but expected ${expect.sha3_384}`,
        );
      }
      this.log(`download ${label}: sha3-384 mismatch, downloading once more from scratch`);
    }
  }

  private async downloadOnce(
    url: string,
    partial: string,
    expect: DownloadExpectation,
    label: string,
    onProgress?: (bytes: number) => void,
  ): Promise<{ sha3_384: string; size: number }> {
    const ioFail = (err: unknown): SnapshelfError =>
      new SnapshelfError("download-write-failed", `cannot write ${partial}: ${fsErrorReason(err)}`);
    let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
    if (have > expect.size) {
      await unlinkQuiet(partial);
      have = 0;
    }
    const hash = createHash("sha3-384");
    if (have > 0) await hashPrefix(partial, hash).catch((err: unknown) => Promise.reject(ioFail(err)));
    if (have === expect.size) return { sha3_384: hash.digest("hex"), size: have };

    const headers: Record<string, string> = {};
    if (have > 0) headers["range"] = `bytes=${have}-`;
    const res = await this.send("GET", url, headers);
    await UpstreamClient.checkTransient(res, url);
    if (res.statusCode === 416) {
      await res.body.dump().catch(() => undefined);
      await unlinkQuiet(partial);
      throw new TransientError(`${url} refused range bytes=${have}-`);
    }
    let append = false;
    if (res.statusCode === 206 && have > 0) {
      const cr = String(res.headers["content-range"] ?? "");
      const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(cr);
      if (m === null || Number(m[1]) !== have) {
        await res.body.dump().catch(() => undefined);
        await unlinkQuiet(partial);
        throw new TransientError(`${url} answered range bytes=${have}- with content-range ${JSON.stringify(cr)}`);
      }
      append = true;
    } else if (res.statusCode !== 200) {
      const msg = await UpstreamClient.errorMessage(res);
      throw new SnapshelfError(
        res.statusCode === 404 ? "not-found" : "download-failed",
        `cannot download ${label} from ${url}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ""}`,
      );
    }
    let total = append ? have : 0;
    const digest = append ? hash : createHash("sha3-384");
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(partial, append ? "a" : "w", 0o644);
    } catch (err) {
      await res.body.dump().catch(() => undefined);
      throw ioFail(err);
    }
    try {
      for await (const c of res.body) {
        const b = c as Buffer;
        if (total + b.length > expect.size) {
          // more than the store promised: the blob is not the one we want
          res.body.destroy();
          digest.update(b);
          return { sha3_384: "", size: total + b.length };
        }
        try {
          await writeAll(fh, b);
        } catch (err) {
          res.body.destroy();
          throw ioFail(err);
        }
        digest.update(b);
        total += b.length;
        onProgress?.(total);
      }
    } finally {
      await fh.close();
    }
    if (total < expect.size) throw new TransientError(`transfer ended after ${total} of ${expect.size} bytes`);
    return { sha3_384: digest.digest("hex"), size: total };
  }
}

async function writeAll(fh: Awaited<ReturnType<typeof open>>, b: Buffer): Promise<void> {
  let off = 0;
  while (off < b.length) {
    const { bytesWritten } = await fh.write(b, off, b.length - off);
    off += bytesWritten;
  }
}

async function hashPrefix(path: string, hash: Hash): Promise<void> {
  try {
    for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
  } catch (err) {
    if (isErrnoError(err) && err.code === "ENOENT") return;
    throw err;
  }
}
