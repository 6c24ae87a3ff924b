/**
 * The pure parts of export: which revision a requested channel means on an
 * architecture (default track, risk fallback, branches left to the store),
 * what a snap needs on a device (base, snapd/core, content providers), and
 * the store manifest `--since` reads.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dependenciesOf } from "../../src/export/deps.js";
import { buildManifest, ManifestIndex, parseManifest, renderManifest } from "../../src/export/manifest.js";
import { describeReleases, resolveChannel } from "../../src/export/select.js";
import { emptyRecords, type Records } from "../../src/model/records.js";
import type { UpstreamChannelEntry } from "../../src/upstream/wire.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { formatBytes, Progress } from "../../src/util/progress.js";

const e = (architecture: string, track: string, risk: string, revision: number): UpstreamChannelEntry => ({
  architecture,
  track,
  risk,
  revision,
  version: `v${revision}`,
  releasedAt: `2024-01-0${revision}T00:00:00Z`,
});

const MAP: UpstreamChannelEntry[] = [
  e("amd64", "latest", "stable", 2),
  e("amd64", "latest", "edge", 8),
  e("arm64", "latest", "stable", 4),
  e("amd64", "2.x", "stable", 5),
  e("amd64", "2.x", "beta", 6),
  e("all", "3.x", "stable", 7),
];

describe("resolveChannel", () => {
  it("takes what is released in the channel", () => {
    assert.deepEqual(resolveChannel(MAP, "amd64", "stable", undefined), {
      kind: "found",
      channel: "latest/stable",
      revision: 2,
      releasedAt: "2024-01-02T00:00:00Z",
    });
    assert.equal(resolveChannel(MAP, "amd64", "latest/edge", undefined).kind, "found");
    assert.deepEqual(resolveChannel(MAP, "arm64", "latest/stable", undefined), {
      kind: "found",
      channel: "latest/stable",
      revision: 4,
      releasedAt: "2024-01-04T00:00:00Z",
    });
  });

  it("follows the next more stable risk when a risk is empty, and records where it found it", () => {
    const r = resolveChannel(MAP, "amd64", "candidate", undefined);
    assert.deepEqual(r, { kind: "found", channel: "latest/stable", revision: 2, releasedAt: "2024-01-02T00:00:00Z" });
    const b = resolveChannel(MAP, "amd64", "2.x/edge", undefined);
    assert.equal(b.kind === "found" && `${b.channel} r${b.revision}`, "2.x/beta r6");
    assert.deepEqual(resolveChannel(MAP, "arm64", "edge", undefined), {
      kind: "found",
      channel: "latest/stable",
      revision: 4,
      releasedAt: "2024-01-04T00:00:00Z",
    });
  });

  it("puts a bare risk in the snap's default track; an explicit track wins", () => {
    const r = resolveChannel(MAP, "amd64", "stable", "2.x");
    assert.equal(r.kind === "found" && `${r.channel} r${r.revision}`, "2.x/stable r5");
    const l = resolveChannel(MAP, "amd64", "latest/stable", "2.x");
    assert.equal(l.kind === "found" && `${l.channel} r${l.revision}`, "latest/stable r2");
    assert.equal(resolveChannel(MAP, "amd64", "2.x", undefined).kind, "found");
  });

  it("says missing for a track or architecture without releases", () => {
    assert.deepEqual(resolveChannel(MAP, "arm64", "2.x/stable", undefined), { kind: "missing", channel: "2.x/stable" });
    assert.deepEqual(resolveChannel(MAP, "s390x", "stable", undefined), { kind: "missing", channel: "latest/stable" });
  });

  it("treats an `all` entry as released on every architecture", () => {
    const r = resolveChannel(MAP, "riscv64", "3.x/stable", undefined);
    assert.equal(r.kind === "found" && r.revision, 7);
  });

  it("leaves branches to the store (the info channel map never lists them)", () => {
    assert.deepEqual(resolveChannel(MAP, "amd64", "stable/hotfix-1", undefined), {
      kind: "branch",
      channel: "latest/stable/hotfix-1",
    });
    assert.deepEqual(resolveChannel(MAP, "amd64", "stable/hotfix-1", "2.x"), {
      kind: "branch",
      channel: "2.x/stable/hotfix-1",
    });
  });

  it("refuses malformed channels", () => {
    assert.throws(() => resolveChannel(MAP, "amd64", "a/b/c/d", undefined), SnapshelfError);
    assert.throws(() => resolveChannel(MAP, "amd64", "latest/risky", undefined), /invalid risk/);
  });

  it("describes what is released, for error messages", () => {
    assert.equal(describeReleases(MAP, "arm64"), "latest/stable r4, 3.x/stable r7");
    assert.equal(describeReleases([], "arm64"), "nothing");
  });
});

describe("dependenciesOf", () => {
  const names = (x: ReturnType<typeof dependenciesOf>): string[] => x.map((d) => `${d.name}:${d.reason}`);
  it("an app on core22 needs core22 and snapd", () => {
    assert.deepEqual(names(dependenciesOf({ name: "hello", type: "app", base: "core22", defaultProviders: [] })), [
      "core22:base",
      "snapd:snapd",
    ]);
  });
  it("an app without a base needs core, and not snapd", () => {
    assert.deepEqual(names(dependenciesOf({ name: "old", type: "app", defaultProviders: [] })), ["core:base"]);
    assert.deepEqual(names(dependenciesOf({ name: "old", type: "app", base: "core", defaultProviders: [] })), [
      "core:base",
    ]);
  });
  it("content plugs' default providers are dependencies", () => {
    assert.deepEqual(
      names(
        dependenciesOf({
          name: "tool-a",
          type: "app",
          base: "core22",
          defaultProviders: ["tool-data", "gtk-common-themes"],
        }),
      ),
      ["core22:base", "snapd:snapd", "gtk-common-themes:content", "tool-data:content"],
    );
  });
  it("bases need snapd; core and snapd need nothing; base none needs no base", () => {
    assert.deepEqual(names(dependenciesOf({ name: "core22", type: "base", defaultProviders: [] })), ["snapd:snapd"]);
    assert.deepEqual(names(dependenciesOf({ name: "core", type: "os", defaultProviders: [] })), []);
    assert.deepEqual(names(dependenciesOf({ name: "snapd", type: "snapd", defaultProviders: [] })), []);
    assert.deepEqual(names(dependenciesOf({ name: "x", type: "app", base: "none", defaultProviders: [] })), [
      "snapd:snapd",
    ]);
  });
  it("never depends on itself", () => {
    assert.deepEqual(
      names(dependenciesOf({ name: "tool-data", type: "app", base: "core22", defaultProviders: ["tool-data"] })),
      ["core22:base", "snapd:snapd"],
    );
  });
});

describe("store manifest", () => {
  const HEX = (c: string): string => c.repeat(96);
  const records: Records = {
    ...emptyRecords(),
    assertions: [
      {
        type: "account",
        primaryKey: ["abc"],
        revision: 0,
        format: 0,
        object: HEX("a"),
        headers: {},
      },
    ],
    revisions: [
      {
        name: "hello",
        snapId: "S".repeat(32),
        revision: 2,
        sha3_384: HEX("2"),
        size: 20,
        createdAt: "",
        snapYaml: "",
        info: {
          name: "hello",
          version: "1",
          summary: "",
          description: "",
          type: "app",
          confinement: "strict",
          grade: "stable",
          architectures: ["amd64"],
          epoch: { read: [0], write: [0] },
          apps: [],
          defaultProviders: [],
        },
      },
    ],
    releases: [
      { seq: 1, name: "hello", channel: "latest/stable", arch: "amd64", revision: 1, at: "t" },
      { seq: 2, name: "hello", channel: "latest/stable", arch: "amd64", revision: 2, at: "t" },
    ],
  };

  it("lists revisions, assertions and current channels, and parses back", () => {
    const m = buildManifest(records);
    assert.deepEqual(m.snaps, [
      {
        name: "hello",
        snapId: "S".repeat(32),
        revisions: [{ revision: 2, sha3_384: HEX("2"), size: 20 }],
        channels: [{ channel: "latest/stable", arch: "amd64", revision: 2 }],
      },
    ]);
    assert.deepEqual(parseManifest(renderManifest(m), "have.json"), m);
  });

  it("answers what --since leaves out", () => {
    const idx = new ManifestIndex(buildManifest(records));
    assert.equal(idx.revision("hello", 2)?.sha3_384, HEX("2"));
    assert.equal(idx.revision("hello", 3), undefined);
    assert.equal(idx.hasSnap("hello"), true);
    assert.equal(idx.hasSnap("core22"), false);
    assert.equal(idx.hasAssertion("account", ["abc"], 0, HEX("f")), true);
    assert.equal(idx.hasAssertion("account", ["abc"], 1, HEX("f")), false);
    assert.equal(idx.hasAssertion("account", ["zzz"], 0, HEX("a")), true);
  });

  it("refuses a file that is not a manifest, naming the field", () => {
    assert.throws(() => parseManifest("{}", "x.json"), /cannot read manifest x\.json: field format: missing/);
    assert.throws(
      () =>
        parseManifest(
          JSON.stringify({ format: "snapshelf-manifest", version: 1, snaps: [{ name: "a" }], assertions: [] }),
          "x.json",
        ),
      /field snaps\[0\]\.snap-id: missing/,
    );
    assert.throws(() => parseManifest("not json", "x.json"), /invalid JSON/);
  });
});

describe("progress", () => {
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { isTTY, columns: 200, chunks, write: (c: string) => chunks.push(c) > 0 };
  };
  const run = (p: Progress): void => {
    p.note("resolving hello");
    p.startDownloads(2, 3 * 1024 * 1024);
    p.blobProgress("a.snap", 512 * 1024, 1024 * 1024);
    p.blobProgress("a.snap", 1024 * 1024, 1024 * 1024);
    p.blobDone("a.snap", 1024 * 1024, "downloaded");
    p.blobDone("b.snap", 2 * 1024 * 1024, "cached");
    p.warn("something odd");
    p.finish();
  };

  it("on a terminal: one status line updated in place, throttled", () => {
    const saved = process.env["CI"];
    delete process.env["CI"];
    try {
      const out = sink(true);
      let t = 0;
      run(new Progress(out, { now: () => (t += 10) }));
      const text = out.chunks.join("");
      const redraw = "\r\x1b[K";
      assert.ok(text.includes(`${redraw}downloading 0/2 blobs, 0 B of 3.0 MiB`), JSON.stringify(text));
      assert.ok(text.includes(`${redraw}downloading 2/2 blobs, 3.0 MiB of 3.0 MiB`), JSON.stringify(text));
      assert.match(text, /warning: something odd\n/);
      assert.ok(text.endsWith("\r\x1b[K"), "the status line is cleared at the end");
      // the 10 ms clock: the second per-chunk update within 100 ms is not drawn
      assert.equal(text.match(/a\.snap 100%/g), null);
    } finally {
      if (saved !== undefined) process.env["CI"] = saved;
    }
  });

  it("not on a terminal: sparse lines, no control characters", () => {
    const out = sink(false);
    run(new Progress(out));
    assert.deepEqual(out.chunks, [
      "resolving hello\n",
      "downloaded a.snap (1.0 MiB), 1/2\n",
      "b.snap: already downloaded (2.0 MiB)\n",
      "warning: something odd\n",
    ]);
  });

  it("quiet: warnings only", () => {
    const out = sink(true);
    run(new Progress(out, { quiet: true }));
    assert.deepEqual(out.chunks, ["warning: something odd\n"]);
  });

  it("formats sizes", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(20480), "20 KiB");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(5 * 1024 ** 3), "5.0 GiB");
  });
});
