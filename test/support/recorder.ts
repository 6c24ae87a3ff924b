/**
 * A recording HTTP proxy on a loopback port, for e2e tests that must see what a
 * real client sends and what the store answered: every exchange (method, URL,
 * request headers and body, status, response headers and body) is kept in
 * order. A test may rewrite a request body before it is forwarded (to make the
 * store answer an error the client then reacts to). Bodies are held in memory:
 * for the small API requests of a test, never for blobs (the store's download
 * URLs point past the proxy).
 */
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface Exchange {
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The body the client sent (before any rewrite). */
  readonly body: string;
  readonly status: number;
  readonly responseHeaders: IncomingHttpHeaders;
  readonly responseBody: string;
}

export interface Recorder {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly exchanges: Exchange[];
  stop(): Promise<void>;
}

/** Bound on one recorded body: API requests and answers of a test are far smaller. */
const MAX_BODY = 8 << 20;

/** Rewrites a request body before it goes upstream; `undefined` forwards it unchanged. */
export type Rewrite = (method: string, url: string, body: string) => string | undefined;

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    stream.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new Error(`recorder: body over ${MAX_BODY} bytes`));
        return;
      }
      parts.push(c);
    });
    stream.on("end", () => resolve(Buffer.concat(parts)));
    stream.on("error", reject);
  });
}

/** Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`). */
export async function startRecorder(upstream: string, rewrite?: Rewrite): Promise<Recorder> {
  const target = new URL(upstream);
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? "GET";
      const url = req.url ?? "/";
      const body = await readAll(req);
      const sent = rewrite?.(method, url, body.toString("utf8"));
      const out = sent === undefined ? body : Buffer.from(sent, "utf8");
      const headers: OutgoingHttpHeaders = { ...req.headers, host: target.host };
      if (out.length > 0 || headers["content-length"] !== undefined) headers["content-length"] = String(out.length);
      const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>(
        (resolve, reject) => {
          const up = request(
            { host: target.hostname, port: target.port, method, path: url, headers, timeout: 60_000 },
            (r) => {
              readAll(r).then((b) => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: b }), reject);
            },
          );
          up.on("timeout", () => up.destroy(new Error("recorder: upstream timed out")));
          up.on("error", reject);
          up.end(out);
        },
      );
      exchanges.push({
        method,
        url,
        headers: req.headers,
        body: body.toString("utf8"),
        status: answer.status,
        responseHeaders: answer.headers,
        responseBody: answer.body.toString("utf8"),
      });
      const back: OutgoingHttpHeaders = { ...answer.headers, "content-length": String(answer.body.length) };
      delete back["transfer-encoding"];
      res.writeHead(answer.status, back);
      res.end(answer.body);
    })().catch((err: unknown) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`recorder: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
