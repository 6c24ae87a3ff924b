/**
 * The upstream client against undici's MockAgent (the dispatcher is
 * injectable): request shapes snapd's store expects, retries with backoff on
 * 5xx and network errors (bounded), specific errors, Range resume with
 * hashing over the whole file, digest mismatch handling, redirects.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MockAgent } from "undici";
import { ActionError, UpstreamClient } from "../../src/upstream/client.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { tmpWorkDir } from "../support/work-dir.js";

const ORIGIN = "http://up.test";
const sha3 = (b: Buffer): string => createHash("sha3-384").update(b).digest("hex");

function setup(attempts = 4): { agent: MockAgent; client: UpstreamClient; delays: number[]; notes: string[] } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const delays: number[] = [];
  const notes: string[] = [];
  const client = new UpstreamClient({
    baseUrl: `${ORIGIN}/`,
    dispatcher: agent,
    attempts,
    retryBaseMs: 100,
    sleep: async (ms) => {
      delays.push(ms);
    },
    log: (l) => notes.push(l),
  });
  return { agent, client, delays, notes };
}

const INFO = {
  name: "hello",
  "snap-id": "S".repeat(32),
  "default-track": "2.x",
  snap: {
    title: "Hello",
    summary: "Says hello",
    publisher: { id: "p1", username: "pub", "display-name": "Pub", validation: "verified" },
    media: [{ type: "icon", url: "https://x/i.png" }],
    categories: [{ name: "utilities", featured: true }],
    license: null,
  },
  "channel-map": [
    {
      channel: {
        architecture: "amd64",
        name: "stable",
        track: "latest",
        risk: "stable",
        "released-at": "2024-01-02T00:00:00+00:00",
      },
      revision: 7,
      version: "1.0",
    },
  ],
};

const isInfo = (path: string): boolean => path.startsWith("/v2/snaps/info/hello?");

describe("UpstreamClient.info", () => {
  it("asks for one architecture with Snap-Device-Series and parses the channel map", async () => {
    const { agent, client } = setup();
    let seen = "";
    agent
      .get(ORIGIN)
      .intercept({
        path: (p) => {
          seen = p;
          return isInfo(p);
        },
        method: "GET",
        headers: { "snap-device-series": "16" },
      })
      .reply(200, INFO, { headers: { "content-type": "application/json" } });
    const info = await client.info("hello", "arm64");
    assert.match(seen, /architecture=arm64/);
    assert.match(seen, /fields=[^&]*channel|fields=[^&]*revision/);
    assert.equal(info.defaultTrack, "2.x");
    assert.equal(info.meta.publisher?.displayName, "Pub");
    assert.deepEqual(info.meta.categories, ["utilities"]);
    assert.equal(info.meta.license, undefined);
    assert.deepEqual(info.channelMap, [
      {
        architecture: "amd64",
        track: "latest",
        risk: "stable",
        releasedAt: "2024-01-02T00:00:00+00:00",
        revision: 7,
        version: "1.0",
      },
    ]);
  });

  it("says snap not found on 404", async () => {
    const { agent, client } = setup();
    agent
      .get(ORIGIN)
      .intercept({ path: (p) => p.startsWith("/v2/snaps/info/nosuch?"), method: "GET" })
      .reply(404, {});
    await assert.rejects(client.info("nosuch", "amd64"), (err: unknown) => {
      assert.ok(err instanceof SnapshelfError);
      assert.equal(err.code, "name-not-found");
      assert.equal(err.message, 'cannot export "nosuch": snap not found in http://up.test');
      return true;
    });
  });

  it("retries 503 with exponential backoff, then succeeds", async () => {
    const { agent, client, delays, notes } = setup();
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: isInfo, method: "GET" }).reply(503, "busy").times(2);
    pool.intercept({ path: isInfo, method: "GET" }).reply(200, INFO);
    const info = await client.info("hello", "amd64");
    assert.equal(info.channelMap[0]?.revision, 7);
    assert.deepEqual(delays, [100, 200]);
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /HTTP 503; retrying in 100 ms \(attempt 2 of 4\)/);
  });

  it("gives up after the bounded number of attempts on network errors", async () => {
    const { agent, client, delays } = setup(3);
    agent.get(ORIGIN).intercept({ path: isInfo, method: "GET" }).replyWithError(new Error("connection reset")).times(3);
    await assert.rejects(client.info("hello", "amd64"), (err: unknown) => {
      assert.ok(err instanceof SnapshelfError);
      assert.equal(err.code, "network");
      assert.match(
        err.message,
        /^cannot get info of hello \(amd64\) from http:\/\/up\.test: .*connection reset.* \(gave up after 3 attempts\)$/,
      );
      return true;
    });
    assert.deepEqual(delays, [100, 200]);
  });

  it("does not retry other client errors, and names a bad field", async () => {
    const { agent, client, delays } = setup();
    agent
      .get(ORIGIN)
      .intercept({ path: isInfo, method: "GET" })
      .reply(200, { ...INFO, "channel-map": [{ channel: { architecture: "amd64", risk: "stable" }, revision: "7" }] });
    await assert.rejects(
      client.info("hello", "amd64"),
      /field channel-map\[0\]\.revision: expected an integer, got a string/,
    );
    assert.deepEqual(delays, []);
  });
});

describe("UpstreamClient.downloadAction", () => {
  it("sends a download action pinned to a revision with the device architecture", async () => {
    const { agent, client } = setup();
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({
        path: "/v2/snaps/refresh",
        method: "POST",
        headers: { "snap-device-architecture": "arm64", "snap-device-series": "16" },
        body: (b) => {
          body = JSON.parse(b) as Record<string, unknown>;
          return true;
        },
      })
      .reply(200, {
        results: [
          {
            result: "download",
            "instance-key": "download-1",
            name: "hello",
            snap: {
              name: "hello",
              "snap-id": "S".repeat(32),
              revision: 4,
              version: "1.1",
              type: "app",
              base: "core22",
              architectures: ["arm64"],
              download: { url: "http://cdn/x.snap", "sha3-384": "AB".repeat(48), size: 10 },
              "snap-yaml": "name: hello\n",
            },
          },
        ],
      });
    const r = await client.downloadAction("hello", "arm64", { revision: 4 });
    assert.deepEqual(body["context"], []);
    assert.deepEqual(body["actions"], [
      { action: "download", "instance-key": "download-1", name: "hello", epoch: null, revision: 4 },
    ]);
    assert.ok((body["fields"] as string[]).includes("snap-yaml"));
    assert.equal(r.download.sha3_384, "ab".repeat(48));
    assert.equal(r.base, "core22");
    assert.equal(r.snapYaml, "name: hello\n");
  });

  it("turns revision-not-found into a specific error listing where the snap is", async () => {
    const { agent, client } = setup();
    agent
      .get(ORIGIN)
      .intercept({ path: "/v2/snaps/refresh", method: "POST" })
      .reply(200, {
        results: [
          {
            result: "error",
            "instance-key": "download-1",
            name: "hello",
            error: {
              code: "revision-not-found",
              message: "no",
              extra: { releases: [{ architecture: "amd64", channel: "stable" }] },
            },
          },
        ],
      });
    await assert.rejects(
      client.downloadAction("hello", "arm64", { channel: "latest/stable/hotfix-1" }),
      (err: unknown) => {
        assert.ok(err instanceof ActionError);
        assert.equal(err.code, "revision-not-found");
        assert.equal(
          err.message,
          'cannot export "hello": no channel latest/stable/hotfix-1 for arm64 (released: stable on amd64)',
        );
        return true;
      },
    );
  });
});

describe("UpstreamClient.download", () => {
  const BLOB = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));

  it("resumes a partial file with Range and checks the digest of the whole file", async () => {
    const dir = await tmpWorkDir("upstream-resume");
    const partial = join(dir, "x.partial");
    await writeFile(partial, BLOB.subarray(0, 1000));
    const { agent, client } = setup();
    let range = "";
    agent
      .get(ORIGIN)
      .intercept({
        path: "/dl/x.snap",
        method: "GET",
        headers: (h) => {
          range = String(h["range"] ?? "");
          return true;
        },
      })
      .reply(206, BLOB.subarray(1000), { headers: { "content-range": `bytes 1000-2999/3000` } });
    const progress: number[] = [];
    await client.download(`${ORIGIN}/dl/x.snap`, partial, { sha3_384: sha3(BLOB), size: BLOB.length }, "x.snap", (b) =>
      progress.push(b),
    );
    assert.equal(range, "bytes=1000-");
    assert.deepEqual(await readFile(partial), BLOB);
    assert.equal(progress.at(-1), 3000);
  });

  it("follows redirects (the public store sends downloads to its CDN)", async () => {
    const dir = await tmpWorkDir("upstream-redirect");
    const partial = join(dir, "x.partial");
    const { agent, client } = setup();
    agent
      .get(ORIGIN)
      .intercept({ path: "/api/v1/snaps/download/x.snap", method: "GET" })
      .reply(302, "", { headers: { location: "http://cdn.test/blob/x.snap" } });
    agent.get("http://cdn.test").intercept({ path: "/blob/x.snap", method: "GET" }).reply(200, BLOB);
    await client.download(
      `${ORIGIN}/api/v1/snaps/download/x.snap`,
      partial,
      { sha3_384: sha3(BLOB), size: BLOB.length },
      "x.snap",
    );
    assert.deepEqual(await readFile(partial), BLOB);
  });

  it("does not download a partial file that is already complete", async () => {
    const dir = await tmpWorkDir("upstream-complete");
    const partial = join(dir, "x.partial");
    await writeFile(partial, BLOB);
    const { client } = setup(); // no interceptor: any request would fail
    await client.download(`${ORIGIN}/dl/x.snap`, partial, { sha3_384: sha3(BLOB), size: BLOB.length }, "x.snap");
  });

  it("rejects a corrupt blob after one fresh retry and leaves nothing behind", async () => {
    const dir = await tmpWorkDir("upstream-corrupt");
    const partial = join(dir, "x.partial");
    const bad = Buffer.from(BLOB);
    bad[10] = bad[10]! ^ 0xff;
    const { agent, client, notes } = setup();
    agent.get(ORIGIN).intercept({ path: "/dl/x.snap", method: "GET" }).reply(200, bad).times(2);
    await assert.rejects(
      client.download(`${ORIGIN}/dl/x.snap`, partial, { sha3_384: sha3(BLOB), size: BLOB.length }, "x.snap"),
      (err: unknown) => {
        assert.ok(err instanceof SnapshelfError);
        assert.equal(err.code, "blob-digest-mismatch");
        assert.equal(
          err.message,
          `cannot download x.snap from ${ORIGIN}/dl/x.snap: sha3-384 mismatch: got ${sha3(bad)} but expected ${sha3(BLOB)}`,
        );
        return true;
      },
    );
    assert.deepEqual(await readdir(dir), []);
    assert.match(notes.join("\n"), /downloading once more from scratch/);
  });

  it("fails at once on 404 (not transient)", async () => {
    const dir = await tmpWorkDir("upstream-404");
    const { agent, client, delays } = setup();
    agent.get(ORIGIN).intercept({ path: "/dl/x.snap", method: "GET" }).reply(404, "gone");
    await assert.rejects(
      client.download(`${ORIGIN}/dl/x.snap`, join(dir, "p"), { sha3_384: sha3(BLOB), size: BLOB.length }, "x.snap"),
      /cannot download x\.snap from http:\/\/up\.test\/dl\/x\.snap: HTTP 404: gone/,
    );
    assert.deepEqual(delays, []);
  });
});

describe("UpstreamClient.assertion", () => {
  it("asks with the assertion Accept header and max-format, and says not-found on 404", async () => {
    const { agent, client } = setup();
    let seen = "";
    const pool = agent.get(ORIGIN);
    pool
      .intercept({
        path: (p) => {
          seen = p;
          return p.startsWith("/v2/assertions/snap-declaration/16/");
        },
        method: "GET",
        headers: { accept: "application/x.ubuntu.assertion" },
      })
      .reply(200, "type: snap-declaration\n\nsig\n");
    pool
      .intercept({ path: (p) => p.startsWith("/v2/assertions/account/nobody"), method: "GET" })
      .reply(
        404,
        { "error-list": [{ code: "not-found", message: "not found" }] },
        { headers: { "content-type": "application/json" } },
      );
    const raw = await client.assertion("snap-declaration", ["16", "abc"]);
    assert.equal(raw.toString(), "type: snap-declaration\n\nsig\n");
    assert.equal(seen, "/v2/assertions/snap-declaration/16/abc?max-format=5");
    await assert.rejects(client.assertion("account", ["nobody"]), (err: unknown) => {
      assert.ok(err instanceof SnapshelfError);
      assert.equal(err.code, "not-found");
      return true;
    });
  });
});
