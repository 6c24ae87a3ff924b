/**
 * What `export` is asked for: `--from LIST` (store-admin's `export snaps --from-yaml` shape)
 * and, for `--since MANIFEST` with no names, everything the manifest holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseManifest, renderManifest, type StoreManifest } from "../../src/export/manifest.js";
import { parseExportList, requestsFromManifest } from "../../src/export/requests.js";
import { isUnreachable } from "../../src/upstream/client.js";

const LIST = `# what the fleet runs
packages:
  - name: hello
    channels: [stable, 2.x/candidate]
    arches: [amd64, arm64]
  - name: htop
  - name: core22
    revision: 1380
    push_channel: stable
  - name: lxd
    channels: 5.21/stable
    arches: arm64
`;

test("an export list: names, channels and arches, exact revisions with push_channel", () => {
  assert.deepEqual(parseExportList(LIST, "snaps.yaml"), [
    { name: "hello", channels: ["stable", "2.x/candidate"], arches: ["amd64", "arm64"] },
    { name: "htop" },
    { name: "core22", revision: 1380, pushChannel: "stable" },
    { name: "lxd", channels: ["5.21/stable"], arches: ["arm64"] },
  ]);
});

test("a bad export list fails naming the file and the entry", () => {
  const bad: [string, RegExp][] = [
    ["packages: []\n", /: cannot read export list l\.yaml: packages: expected a non-empty list$/],
    ["snaps:\n  - name: a\n", /packages: expected a non-empty list/],
    ["packages:\n  - name: Hello\n", /packages\[0\]\.name: expected a snap name, got "Hello"/],
    ["packages:\n  - name: a\n    revison: 3\n", /packages\[0\]\.revison: unknown field \(known: name, revision/],
    ["packages:\n  - name: a\n    revision: 0\n", /packages\[0\]\.revision: expected a revision number, got 0/],
    ["packages:\n  - name: a\n    revision: 3\n    channels: [edge]\n", /a revision is exact/],
    ["packages:\n  - name: a\n    push_channel: stable\n", /push_channel: needs a revision/],
    ["packages:\n  - name: a\n    channels: [stabel/x/y/z]\n", /packages\[0\]: /],
    ["packages:\n  - name: a\n    arches: [all]\n", /packages\[0\]\.arches: invalid architecture "all"/],
    ["packages:\n  - name: a\n  - name: a\n", /packages\[1\]\.name: a is listed twice/],
    ["packages: [\n", /: cannot read export list l\.yaml: not YAML/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseExportList(text, "l.yaml"), re, text);
});

const HEX = "0".repeat(96);

test("--since with no names: each snap as exported, else its channels; pinned and unreleased snaps left out", () => {
  const m: StoreManifest = {
    snaps: [
      {
        name: "hello",
        snapId: "a".repeat(32),
        revisions: [{ revision: 2, sha3_384: HEX, size: 1 }],
        channels: [{ channel: "latest/stable", arch: "amd64", revision: 2 }],
        exported: { channels: ["stable", "edge"], arches: ["amd64", "arm64"] },
      },
      {
        name: "sideloaded",
        snapId: "b".repeat(32),
        revisions: [{ revision: 1, sha3_384: HEX, size: 1 }],
        channels: [
          { channel: "2.x/stable", arch: "amd64", revision: 1 },
          { channel: "2.x/stable", arch: "armhf", revision: 1 },
          { channel: "latest/edge", arch: "amd64", revision: 1 },
        ],
      },
      {
        name: "pinned",
        snapId: "c".repeat(32),
        revisions: [{ revision: 9, sha3_384: HEX, size: 1 }],
        channels: [{ channel: "latest/stable", arch: "amd64", revision: 9 }],
        exported: { channels: [], arches: ["amd64"] },
      },
      { name: "never", snapId: "d".repeat(32), revisions: [{ revision: 1, sha3_384: HEX, size: 1 }], channels: [] },
    ],
    assertions: [],
  };
  // the manifest file carries `exported-with` through
  const again = parseManifest(renderManifest(m), "have.json");
  assert.deepEqual(again.snaps[0]?.exported, { channels: ["stable", "edge"], arches: ["amd64", "arm64"] });
  assert.equal(again.snaps[1]?.exported, undefined);
  const notes: string[] = [];
  assert.deepEqual(
    requestsFromManifest(again, (l) => notes.push(l)),
    [
      { name: "hello", channels: ["stable", "edge"], arches: ["amd64", "arm64"] },
      { name: "sideloaded", channels: ["2.x/stable", "latest/edge"], arches: ["amd64", "armhf"] },
    ],
  );
  assert.deepEqual(notes, [
    "pinned: exported by revision only; not followed (name it, or list it in --from)",
    "never: released nowhere in the offline store and no export recorded; not followed (name it)",
  ]);
});

test("unreachable: name lookup failures and no route, however undici wraps them; not a refused connection", () => {
  const errno = (code: string): Error => Object.assign(new Error(`getaddrinfo ${code} api.snapcraft.io`), { code });
  assert.ok(isUnreachable(errno("ENOTFOUND")));
  assert.ok(isUnreachable(errno("EAI_AGAIN")));
  assert.ok(isUnreachable(new TypeError("fetch failed", { cause: errno("ENETUNREACH") })));
  assert.ok(isUnreachable(Object.assign(new Error("connect"), { errors: [errno("EHOSTUNREACH")] })));
  assert.ok(!isUnreachable(errno("ECONNREFUSED")));
  assert.ok(!isUnreachable(errno("ECONNRESET")));
  assert.ok(!isUnreachable("ENOTFOUND"));
});
