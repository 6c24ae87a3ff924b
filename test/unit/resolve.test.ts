import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Resolution, ResolveRequest } from "../../src/catalogue/resolve.js";
import {
  channelMap,
  currentReleases,
  effectiveHistory,
  findRevision,
  resolveSnap,
} from "../../src/catalogue/resolve.js";
import type { ChannelReleases, Release, RevisionEntry, SnapEntry } from "../../src/catalogue/types.js";
import { isKnownArch, releaseArchKeys, revisionRunsOn } from "../../src/model/arch.js";
import { compareChannels, fullChannelName, parseFullChannel } from "../../src/model/channel.js";
import { parseEpoch } from "../../src/model/epoch.js";
import type { SnapMeta } from "../../src/model/types.js";

// ---- fixtures ---------------------------------------------------------------

/** [revision, architectures (one or a list), snap.yaml epoch] */
type RevSpec = readonly [number, string | readonly string[], string?];
/** One release event [channel (track/risk[/branch] or short), arch key, revision]; seq = position + 1. */
type Event = readonly [string, string, number];

function releasedAt(seq: number): string {
  return new Date(Date.UTC(2024, 0, 1) + seq * 3_600_000).toISOString();
}

function revisionEntry(rev: number, arches: readonly string[], epoch: string): RevisionEntry {
  return {
    revision: rev,
    version: `v${rev}`,
    type: "app",
    confinement: "strict",
    grade: "stable",
    architectures: arches,
    epoch: parseEpoch(epoch),
    sha3_384: "0".repeat(96),
    size: 4096,
    createdAt: "2024-01-01T00:00:00Z",
    snapYaml: "",
    summary: "",
    description: "",
    apps: [],
    defaultProviders: [],
  };
}

/** Builds a SnapEntry from revisions and release events in order (as the catalogue fold would). */
function makeSnap(name: string, revs: readonly RevSpec[], events: readonly Event[], meta: SnapMeta = {}): SnapEntry {
  const lists = new Map<string, { cr: Omit<ChannelReleases, "history">; history: Release[] }>();
  events.forEach(([channel, arch, revision], i) => {
    const ch = parseFullChannel(channel);
    const key = `${fullChannelName(ch)}@${arch}`;
    let list = lists.get(key);
    if (list === undefined) {
      list = { cr: { ...ch, arch }, history: [] };
      lists.set(key, list);
    }
    list.history.push({ revision, releasedAt: releasedAt(i + 1), seq: i + 1 });
  });
  const channels = [...lists.values()]
    .map(({ cr, history }): ChannelReleases => ({ ...cr, history }))
    .sort((a, b) => {
      const c = compareChannels(parseFullChannel(fullName(a)), parseFullChannel(fullName(b)));
      return c !== 0 ? c : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
    });
  const revisions = revs
    .map(([rev, arches, epoch]) => revisionEntry(rev, typeof arches === "string" ? [arches] : arches, epoch ?? "0"))
    .sort((a, b) => a.revision - b.revision);
  return {
    name,
    snapId: `${name}-id`.padEnd(32, "0"),
    publisher: { id: "pub", username: "pub", displayName: "Pub", validation: "unproven" },
    meta,
    revisions,
    channels,
  };
}

function fullName(cr: ChannelReleases): string {
  return cr.branch === undefined ? `${cr.track}/${cr.risk}` : `${cr.track}/${cr.risk}/${cr.branch}`;
}

/**
 * Release lists given as histories (oldest first), replayed the way the
 * realclient harness imports them: revisions in increasing order, each
 * released to every list holding it, in list order.
 */
function fromHistories(lists: readonly (readonly [string, string, readonly number[]])[]): Event[] {
  const revs = [...new Set(lists.flatMap(([, , h]) => h))].sort((a, b) => a - b);
  const out: Event[] = [];
  for (const rev of revs) {
    for (const [channel, arch, history] of lists) {
      for (const r of history) if (r === rev) out.push([channel, arch, rev]);
    }
  }
  return out;
}

// fixturegen/main.go: hello-offline
const HELLO_REVS: RevSpec[] = [
  [1, "amd64"],
  [2, "amd64"],
  [3, "amd64"],
  [4, "arm64"],
  [5, "amd64"],
  [6, "arm64"],
  [7, "amd64"],
  [8, "amd64"],
];
const HELLO_EVENTS = fromHistories([
  ["latest/stable", "amd64", [1, 2]],
  ["latest/stable", "arm64", [4]],
  ["latest/candidate", "amd64", [3]],
  ["latest/candidate", "arm64", [4]],
  ["latest/edge", "amd64", [3, 8]],
  ["latest/edge", "arm64", [4]],
  ["latest/stable/hotfix-1", "amd64", [7]],
  ["2.x/stable", "amd64", [5]],
  ["2.x/stable", "arm64", [6]],
]);
const hello = (meta: SnapMeta = {}): SnapEntry => makeSnap("hello-offline", HELLO_REVS, HELLO_EVENTS, meta);

// fixturegen/main.go: tool-a, architectures [all], epochs 0, 0, 1*, 1; only stable.
const TOOLA_REVS: RevSpec[] = [
  [1, "all"],
  [2, "all"],
  [3, "all", "1*"],
  [4, "all", "1"],
];
/** As in manifest.json: the same history released under each device arch. */
const toolAPerArch = (): SnapEntry =>
  makeSnap(
    "tool-a",
    TOOLA_REVS,
    fromHistories([
      ["latest/stable", "amd64", [1, 2, 3, 4]],
      ["latest/stable", "arm64", [1, 2, 3, 4]],
    ]),
  );
/** As the catalogue fold keys it (releaseArchKeys): under `all`. */
const toolAAll = (): SnapEntry =>
  makeSnap("tool-a", TOOLA_REVS, fromHistories([["latest/stable", "all", [1, 2, 3, 4]]]));

// ---- helpers ----------------------------------------------------------------

function req(arch: string, extra: Partial<ResolveRequest> = {}): ResolveRequest {
  return { arch, defaultTracks: true, ...extra };
}

type Ok = Extract<Resolution, { ok: true }>;
type NotOk = Extract<Resolution, { ok: false }>;

function ok(res: Resolution): Ok {
  if (!res.ok) assert.fail(`expected a revision, got ${res.code}: ${res.message}`);
  return res;
}

function notOk(res: Resolution): NotOk {
  if (res.ok) assert.fail(`expected an error, got r${res.revision.revision} from ${res.effectiveChannel}`);
  return res;
}

/** Asserts the revision and effective channel (and absence of a redirect unless given). */
function expectRev(res: Resolution, rev: number, effective?: string, redirect?: string): Ok {
  const r = ok(res);
  assert.equal(r.revision.revision, rev);
  if (effective !== undefined) assert.equal(r.effectiveChannel, effective);
  assert.equal(r.redirectChannel, redirect);
  return r;
}

const HELLO_RELEASES = [
  { architecture: "amd64", channel: "stable" },
  { architecture: "amd64", channel: "stable/hotfix-1" },
  { architecture: "amd64", channel: "candidate" },
  { architecture: "amd64", channel: "edge" },
  { architecture: "amd64", channel: "2.x/stable" },
  { architecture: "arm64", channel: "stable" },
  { architecture: "arm64", channel: "candidate" },
  { architecture: "arm64", channel: "edge" },
  { architecture: "arm64", channel: "2.x/stable" },
];

// ---- tests --------------------------------------------------------------------

describe("arch", () => {
  it("isKnownArch", () => {
    assert.ok(isKnownArch("amd64") && isKnownArch("arm64") && isKnownArch("riscv64"));
    assert.ok(!isKnownArch("all") && !isKnownArch("x86_64") && !isKnownArch(""));
  });
  it("revisionRunsOn", () => {
    assert.ok(revisionRunsOn(["amd64"], "amd64"));
    assert.ok(!revisionRunsOn(["amd64"], "arm64"));
    assert.ok(revisionRunsOn(["all"], "arm64"));
    assert.ok(revisionRunsOn(["amd64", "arm64"], "arm64"));
    assert.ok(!revisionRunsOn([], "amd64"));
  });
  it("releaseArchKeys", () => {
    assert.deepEqual(releaseArchKeys(["all"]), ["all"]);
    assert.deepEqual(releaseArchKeys(["amd64", "all"]), ["all"]);
    assert.deepEqual(releaseArchKeys(["arm64", "amd64", "arm64"]), ["amd64", "arm64"]);
    assert.deepEqual(releaseArchKeys(["amd64"]), ["amd64"]);
  });
});

describe("resolveSnap: hello-offline channels (realclient fixture)", () => {
  const snap = hello();
  const amd64: [string | undefined, number, string][] = [
    [undefined, 2, "stable"],
    ["stable", 2, "stable"],
    ["latest/stable", 2, "stable"],
    ["latest", 2, "stable"],
    ["candidate", 3, "candidate"],
    ["latest/candidate", 3, "candidate"],
    ["beta", 3, "candidate"],
    ["edge", 8, "edge"],
    ["latest/edge", 8, "edge"],
    ["stable/hotfix-1", 7, "stable/hotfix-1"],
    ["latest/stable/hotfix-1", 7, "stable/hotfix-1"],
    ["2.x", 5, "2.x/stable"],
    ["2.x/stable", 5, "2.x/stable"],
    ["2.x/candidate", 5, "2.x/stable"],
    ["2.x/edge", 5, "2.x/stable"],
  ];
  for (const [channel, rev, effective] of amd64) {
    it(`amd64 ${channel ?? "(no channel)"} -> r${rev} from ${effective}`, () => {
      const r = expectRev(resolveSnap(snap, req("amd64", channel === undefined ? {} : { channel })), rev, effective);
      assert.ok(r.releasedAt !== undefined);
    });
  }
  const arm64: [string, number, string][] = [
    ["stable", 4, "stable"],
    ["candidate", 4, "candidate"],
    ["beta", 4, "candidate"],
    ["edge", 4, "edge"],
    ["2.x", 6, "2.x/stable"],
    ["2.x/stable", 6, "2.x/stable"],
  ];
  for (const [channel, rev, effective] of arm64) {
    it(`arm64 ${channel} -> r${rev} from ${effective}`, () => {
      expectRev(resolveSnap(snap, req("arm64", { channel })), rev, effective);
    });
  }

  it("reports the time of the release it used", () => {
    // events: r1 stable(1), r2 stable(2), r3 candidate(3), r3 edge(4), r4 ... r8 edge last
    const edge = ok(resolveSnap(snap, req("amd64", { channel: "edge" })));
    const hist = effectiveHistory(snap, { track: "latest", risk: "edge" }, "amd64");
    assert.deepEqual(
      hist.map((h) => h.revision),
      [3, 8],
    );
    assert.equal(edge.releasedAt, hist[1]?.releasedAt);
    const beta = ok(resolveSnap(snap, req("amd64", { channel: "beta" })));
    assert.equal(
      beta.releasedAt,
      effectiveHistory(snap, { track: "latest", risk: "candidate" }, "amd64")[0]?.releasedAt,
    );
  });

  it("a branch serves what it holds and is listed in the channel it came from", () => {
    const r = expectRev(resolveSnap(snap, req("amd64", { channel: "stable/hotfix-1" })), 7, "stable/hotfix-1");
    assert.equal(r.revision.version, "v7");
  });

  it("a missing branch is revision-not-found with every release listed (no fallback)", () => {
    const r = notOk(resolveSnap(snap, req("amd64", { channel: "stable/nosuch" })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision available for channel 'latest/stable/nosuch' on amd64");
    assert.deepEqual(r.releases, HELLO_RELEASES);
    // an existing branch name under another risk does not fall back either
    notOk(resolveSnap(snap, req("amd64", { channel: "edge/hotfix-1" })));
    notOk(resolveSnap(snap, req("amd64", { channel: "candidate/hotfix-1" })));
  });

  it("a branch existing only on another arch is revision-not-found listing it", () => {
    const r = notOk(resolveSnap(snap, req("arm64", { channel: "stable/hotfix-1" })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision available for channel 'latest/stable/hotfix-1' on arm64");
    assert.ok(r.releases.some((x) => x.architecture === "amd64" && x.channel === "stable/hotfix-1"));
    assert.deepEqual(r.releases, HELLO_RELEASES);
  });

  it("an unknown track is revision-not-found with releases", () => {
    for (const channel of ["3.x", "3.x/stable", "3.x/edge", "3.x/stable/b"]) {
      const r = notOk(resolveSnap(snap, req("amd64", { channel })));
      assert.equal(r.code, "revision-not-found");
      assert.match(r.message, /^No revision available for channel '3\.x\/.*' on amd64$/);
      assert.deepEqual(r.releases, HELLO_RELEASES);
    }
  });

  it("an architecture with nothing released is revision-not-found listing the other arches", () => {
    const r = notOk(resolveSnap(snap, req("s390x", { channel: "stable" })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision available for channel 'latest/stable' on s390x");
    assert.deepEqual(r.releases, HELLO_RELEASES);
    assert.ok(!r.releases.some((x) => x.architecture === "s390x"));
  });

  it("invalid channel strings are invalid-channel with releases", () => {
    for (const channel of ["", "a/b/c/d", "latest/foo", "/stable", "stable/", "latest//x"]) {
      const r = notOk(resolveSnap(snap, req("amd64", { channel })));
      assert.equal(r.code, "invalid-channel", channel);
      assert.ok(r.message.startsWith(`cannot parse channel ${JSON.stringify(channel)}: `), r.message);
      assert.deepEqual(r.releases, HELLO_RELEASES);
    }
  });

  it("refresh of an older revision (epoch 0) gets the current one", () => {
    expectRev(
      resolveSnap(snap, req("amd64", { channel: "latest/stable", installedEpoch: parseEpoch("0") })),
      2,
      "stable",
    );
  });
});

describe("resolveSnap: revision pinning", () => {
  const snap = hello();
  it("returns the revision regardless of channels", () => {
    const r = expectRev(resolveSnap(snap, req("amd64", { revision: 1 })), 1);
    assert.equal(r.effectiveChannel, undefined);
    assert.equal(r.releasedAt, undefined);
    expectRev(resolveSnap(snap, req("arm64", { revision: 6 })), 6);
  });
  it("wins over the channel and the epoch", () => {
    expectRev(resolveSnap(snap, req("amd64", { revision: 1, channel: "edge" })), 1);
    expectRev(resolveSnap(snap, req("amd64", { revision: 5, channel: "no/such/channel/x" })), 5);
    expectRev(resolveSnap(toolAAll(), req("amd64", { revision: 4, installedEpoch: parseEpoch("0") })), 4);
  });
  it("a revision of another arch is revision-not-found", () => {
    const r = notOk(resolveSnap(snap, req("amd64", { revision: 4 })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision 4 available on amd64");
    assert.deepEqual(r.releases, HELLO_RELEASES);
    notOk(resolveSnap(snap, req("arm64", { revision: 2 })));
  });
  it("an unknown revision is revision-not-found", () => {
    assert.equal(notOk(resolveSnap(snap, req("amd64", { revision: 99 }))).code, "revision-not-found");
    assert.equal(notOk(resolveSnap(snap, req("amd64", { revision: 0 }))).code, "revision-not-found");
  });
  it("an `all` revision pins on every arch", () => {
    expectRev(resolveSnap(toolAAll(), req("riscv64", { revision: 2 })), 2);
  });
});

describe("resolveSnap: default tracks", () => {
  const snap = hello({ defaultTrack: "2.x" });

  it("risk-only requests resolve in the default track and redirect", () => {
    expectRev(resolveSnap(snap, req("amd64", { channel: "stable" })), 5, "2.x/stable", "2.x/stable");
    expectRev(resolveSnap(snap, req("arm64", { channel: "stable" })), 6, "2.x/stable", "2.x/stable");
  });
  it("no channel at all behaves like stable", () => {
    expectRev(resolveSnap(snap, req("amd64")), 5, "2.x/stable", "2.x/stable");
  });
  it("the redirect names the requested risk, the effective channel the one used after fallback", () => {
    expectRev(resolveSnap(snap, req("amd64", { channel: "edge" })), 5, "2.x/stable", "2.x/edge");
    expectRev(resolveSnap(snap, req("amd64", { channel: "candidate" })), 5, "2.x/stable", "2.x/candidate");
  });
  it("without the default-tracks capability: latest, no redirect", () => {
    expectRev(resolveSnap(snap, req("amd64", { channel: "stable", defaultTracks: false })), 2, "stable");
    expectRev(resolveSnap(snap, req("amd64", { defaultTracks: false })), 2, "stable");
    expectRev(resolveSnap(snap, req("amd64", { channel: "edge", defaultTracks: false })), 8, "edge");
  });
  it("an explicit track never redirects", () => {
    expectRev(resolveSnap(snap, req("amd64", { channel: "latest/stable" })), 2, "stable");
    expectRev(resolveSnap(snap, req("amd64", { channel: "latest" })), 2, "stable");
    expectRev(resolveSnap(snap, req("amd64", { channel: "latest/edge" })), 8, "edge");
    expectRev(resolveSnap(snap, req("amd64", { channel: "latest/stable/hotfix-1" })), 7, "stable/hotfix-1");
    expectRev(resolveSnap(snap, req("amd64", { channel: "2.x/stable" })), 5, "2.x/stable");
    expectRev(resolveSnap(snap, req("amd64", { channel: "2.x" })), 5, "2.x/stable");
  });
  it("a risk/branch request looks for the branch in the default track", () => {
    const r = notOk(resolveSnap(snap, req("amd64", { channel: "stable/hotfix-1" })));
    assert.equal(r.message, "No revision available for channel '2.x/stable/hotfix-1' on amd64");
  });
  it("a default track of latest never redirects", () => {
    expectRev(resolveSnap(hello({ defaultTrack: "latest" }), req("amd64", { channel: "stable" })), 2, "stable");
    expectRev(resolveSnap(hello({ defaultTrack: "" }), req("amd64", { channel: "stable" })), 2, "stable");
  });
  it("a default track with no releases is revision-not-found", () => {
    const r = notOk(resolveSnap(hello({ defaultTrack: "9.x" }), req("amd64", { channel: "stable" })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision available for channel '9.x/stable' on amd64");
  });
  it("pinning ignores the default track", () => {
    expectRev(resolveSnap(snap, req("amd64", { revision: 2 })), 2);
  });
});

describe("resolveSnap: risk fallback", () => {
  it("tool-a candidate (nothing released) gives r4 from stable", () => {
    for (const snap of [toolAPerArch(), toolAAll()]) {
      for (const arch of ["amd64", "arm64"]) {
        expectRev(resolveSnap(snap, req(arch, { channel: "candidate" })), 4, "stable");
        expectRev(resolveSnap(snap, req(arch, { channel: "beta" })), 4, "stable");
        expectRev(resolveSnap(snap, req(arch, { channel: "edge" })), 4, "stable");
        expectRev(resolveSnap(snap, req(arch, { channel: "latest/edge" })), 4, "stable");
      }
    }
  });

  const snap = makeSnap(
    "fallback",
    [
      [1, "amd64"],
      [2, "amd64"],
      [3, "amd64"],
      [4, "amd64"],
    ],
    [
      ["latest/stable", "amd64", 1],
      ["latest/candidate", "amd64", 2],
      ["2.x/edge", "amd64", 3],
      ["3.x/beta", "amd64", 4],
    ],
  );
  it("beta follows candidate, edge follows beta then candidate", () => {
    expectRev(resolveSnap(snap, req("amd64", { channel: "beta" })), 2, "candidate");
    expectRev(resolveSnap(snap, req("amd64", { channel: "edge" })), 2, "candidate");
    expectRev(resolveSnap(snap, req("amd64", { channel: "candidate" })), 2, "candidate");
    expectRev(resolveSnap(snap, req("amd64", { channel: "stable" })), 1, "stable");
    expectRev(resolveSnap(snap, req("amd64", { channel: "3.x/edge" })), 4, "3.x/beta");
  });
  it("never towards a riskier risk", () => {
    for (const channel of ["2.x", "2.x/stable", "2.x/candidate", "2.x/beta"]) {
      const r = notOk(resolveSnap(snap, req("amd64", { channel })));
      assert.equal(r.code, "revision-not-found");
    }
    expectRev(resolveSnap(snap, req("amd64", { channel: "2.x/edge" })), 3, "2.x/edge");
    notOk(resolveSnap(snap, req("amd64", { channel: "3.x/candidate" })));
  });
  it("never across tracks", () => {
    // 2.x/stable is empty although latest/stable is not
    const r = notOk(resolveSnap(snap, req("amd64", { channel: "2.x/stable" })));
    assert.equal(r.message, "No revision available for channel '2.x/stable' on amd64");
    assert.deepEqual(r.releases, [
      { architecture: "amd64", channel: "stable" },
      { architecture: "amd64", channel: "candidate" },
      { architecture: "amd64", channel: "2.x/edge" },
      { architecture: "amd64", channel: "3.x/beta" },
    ]);
  });
  it("fallback is per architecture", () => {
    const s = makeSnap(
      "perarch",
      [
        [1, "amd64"],
        [2, "arm64"],
        [3, "arm64"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/stable", "arm64", 2],
        ["latest/edge", "arm64", 3],
      ],
    );
    expectRev(resolveSnap(s, req("amd64", { channel: "edge" })), 1, "stable");
    expectRev(resolveSnap(s, req("arm64", { channel: "edge" })), 3, "edge");
    expectRev(resolveSnap(s, req("arm64", { channel: "beta" })), 2, "stable");
  });
  it("a branch holding an older revision than its risk is still served", () => {
    const s = makeSnap(
      "branchy",
      [
        [1, "amd64"],
        [2, "amd64"],
      ],
      [
        ["latest/stable/old", "amd64", 1],
        ["latest/stable", "amd64", 2],
      ],
    );
    expectRev(resolveSnap(s, req("amd64", { channel: "stable/old" })), 1, "stable/old");
    expectRev(resolveSnap(s, req("amd64", { channel: "edge" })), 2, "stable");
  });
  it("a snap with no releases at all is revision-not-found with no releases", () => {
    const r = notOk(resolveSnap(makeSnap("empty", [[1, "amd64"]], []), req("amd64")));
    assert.equal(r.code, "revision-not-found");
    assert.deepEqual(r.releases, []);
  });
});

describe("resolveSnap: epochs (tool-a, realclient fixture)", () => {
  for (const [label, make] of [
    ["per-arch keys", toolAPerArch],
    ["all key", toolAAll],
  ] as const) {
    for (const arch of ["amd64", "arm64"]) {
      it(`${label}, ${arch}: install without an epoch gets the current r4`, () => {
        expectRev(resolveSnap(make(), req(arch, { channel: "stable" })), 4, "stable");
      });
      it(`${label}, ${arch}: an epoch-0 device stops at the bridge r3 (1*)`, () => {
        const r = expectRev(
          resolveSnap(make(), req(arch, { channel: "latest/stable", installedEpoch: parseEpoch("0") })),
          3,
          "stable",
        );
        const hist = effectiveHistory(make(), { track: "latest", risk: "stable" }, arch);
        assert.equal(r.releasedAt, hist.find((h) => h.revision === 3)?.releasedAt);
      });
      it(`${label}, ${arch}: an r3 (1*) device goes on to r4`, () => {
        expectRev(
          resolveSnap(make(), req(arch, { channel: "latest/stable", installedEpoch: parseEpoch("1*") })),
          4,
          "stable",
        );
        expectRev(resolveSnap(make(), req(arch, { installedEpoch: parseEpoch("1") })), 4, "stable");
      });
      it(`${label}, ${arch}: the epoch walk also applies after risk fallback`, () => {
        expectRev(
          resolveSnap(make(), req(arch, { channel: "candidate", installedEpoch: parseEpoch("0") })),
          3,
          "stable",
        );
      });
    }
  }

  it("no revision can read the epoch: revision-not-found", () => {
    const r = notOk(resolveSnap(toolAAll(), req("amd64", { channel: "stable", installedEpoch: parseEpoch("2") })));
    assert.equal(r.code, "revision-not-found");
    assert.equal(r.message, "No revision in channel 'latest/stable' on amd64 can read epoch 2");
    assert.deepEqual(r.releases, [{ architecture: "amd64", channel: "stable" }]);
    const r2 = notOk(
      resolveSnap(toolAAll(), req("amd64", { installedEpoch: parseEpoch({ read: [5, 6], write: [6, 7] }) })),
    );
    assert.equal(
      r2.message,
      `No revision in channel 'latest/stable' on amd64 can read epoch {"read":[5,6],"write":[6,7]}`,
    );
  });

  it("takes the most recent readable release, even a re-release of an older revision", () => {
    const s = makeSnap(
      "rerelease",
      [
        [1, "amd64"],
        [2, "amd64", "1"],
        [3, "amd64", "2"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/stable", "amd64", 2],
        ["latest/stable", "amd64", 1],
        ["latest/stable", "amd64", 3],
      ],
    );
    const r = expectRev(resolveSnap(s, req("amd64", { installedEpoch: parseEpoch("0") })), 1, "stable");
    assert.equal(r.releasedAt, effectiveHistory(s, { track: "latest", risk: "stable" }, "amd64")[2]?.releasedAt);
    // epoch 1 installed: r2 writes... r3 reads only 2, r1 reads only 0, r2 reads 1
    expectRev(resolveSnap(s, req("amd64", { installedEpoch: parseEpoch("1") })), 2, "stable");
    expectRev(resolveSnap(s, req("amd64", { installedEpoch: parseEpoch("2") })), 3, "stable");
  });

  it("an epoch never makes a branch fall back", () => {
    const s = makeSnap(
      "ep-branch",
      [
        [1, "amd64"],
        [2, "amd64", "1"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/stable/b", "amd64", 2],
      ],
    );
    const r = notOk(resolveSnap(s, req("amd64", { channel: "stable/b", installedEpoch: parseEpoch("0") })));
    assert.equal(r.message, "No revision in channel 'latest/stable/b' on amd64 can read epoch 0");
  });
});

describe("effectiveHistory", () => {
  // r1 all, r2 amd64, r3 all, r4 amd64 (epoch 1), r5 arm64
  const events: Event[] = [
    ["latest/stable", "all", 1],
    ["latest/stable", "amd64", 2],
    ["latest/stable", "all", 3],
    ["latest/stable", "arm64", 5],
    ["latest/stable", "amd64", 4],
  ];
  const revs: RevSpec[] = [
    [1, "all"],
    [2, "amd64"],
    [3, "all"],
    [4, "amd64", "1"],
    [5, "arm64"],
  ];
  const snap = makeSnap("mixed", revs, events);
  const stable = { track: "latest", risk: "stable" } as const;

  it("merges the arch and `all` histories by seq", () => {
    assert.deepEqual(
      effectiveHistory(snap, stable, "amd64").map((r) => r.revision),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      effectiveHistory(snap, stable, "arm64").map((r) => r.revision),
      [1, 3, 5],
    );
    assert.deepEqual(
      effectiveHistory(snap, stable, "riscv64").map((r) => r.revision),
      [1, 3],
    );
    assert.deepEqual(
      effectiveHistory(snap, stable, "all").map((r) => r.revision),
      [1, 3],
    );
    const seqs = effectiveHistory(snap, stable, "amd64").map((r) => r.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
  });

  it("the latest release for an arch wins, whichever key it is under", () => {
    expectRev(resolveSnap(snap, req("amd64")), 4, "stable");
    expectRev(resolveSnap(snap, req("arm64")), 5, "stable");
    expectRev(resolveSnap(snap, req("riscv64")), 3, "stable");
    // after an `all` release, it is current everywhere
    const later = makeSnap("mixed", [...revs, [6, "all"]], [...events, ["latest/stable", "all", 6]]);
    expectRev(resolveSnap(later, req("amd64")), 6, "stable");
    expectRev(resolveSnap(later, req("arm64")), 6, "stable");
  });

  it("the epoch walk crosses the merged history", () => {
    // amd64: r1 r2 r3 r4(epoch 1): an epoch-0 device gets r3 (all)
    expectRev(resolveSnap(snap, req("amd64", { installedEpoch: parseEpoch("0") })), 3, "stable");
  });

  it("skips revisions no longer in snap.revisions", () => {
    const removed: SnapEntry = { ...snap, revisions: snap.revisions.filter((r) => r.revision !== 4) };
    assert.deepEqual(
      effectiveHistory(removed, stable, "amd64").map((r) => r.revision),
      [1, 2, 3],
    );
    expectRev(resolveSnap(removed, req("amd64")), 3, "stable");
    assert.deepEqual(
      channelMap(removed, "amd64").map((e) => e.revision.revision),
      [3],
    );
    assert.equal(findRevision(removed, 4), undefined);
  });

  it("a channel whose every revision is gone is closed (and follows)", () => {
    const s = makeSnap(
      "gone",
      [
        [1, "amd64"],
        [2, "amd64"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/candidate", "amd64", 2],
      ],
    );
    const removed: SnapEntry = { ...s, revisions: s.revisions.filter((r) => r.revision !== 2) };
    expectRev(resolveSnap(s, req("amd64", { channel: "candidate" })), 2, "candidate");
    expectRev(resolveSnap(removed, req("amd64", { channel: "candidate" })), 1, "stable");
    assert.deepEqual(currentReleases(removed), [{ architecture: "amd64", channel: "stable" }]);
  });

  it("ignores releases of revisions that do not run on the arch", () => {
    // a malformed catalogue: an arm64 revision under the amd64 key
    const s = makeSnap(
      "bad",
      [
        [1, "amd64"],
        [2, "arm64"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/stable", "amd64", 2],
      ],
    );
    expectRev(resolveSnap(s, req("amd64")), 1, "stable");
  });

  it("distinguishes branches and tracks", () => {
    assert.deepEqual(
      effectiveHistory(hello(), { track: "latest", risk: "stable", branch: "hotfix-1" }, "amd64").map(
        (r) => r.revision,
      ),
      [7],
    );
    assert.deepEqual(
      effectiveHistory(hello(), { track: "latest", risk: "stable" }, "amd64").map((r) => r.revision),
      [1, 2],
    );
    assert.deepEqual(effectiveHistory(hello(), { track: "2.x", risk: "edge" }, "amd64"), []);
  });
});

describe("channelMap", () => {
  it("hello-offline amd64: current release per track/risk, no branches, latest first", () => {
    const m = channelMap(hello(), "amd64");
    assert.deepEqual(
      m.map((e) => [fullChannelName(e.channel), e.revision.revision]),
      [
        ["latest/stable", 2],
        ["latest/candidate", 3],
        ["latest/edge", 8],
        ["2.x/stable", 5],
      ],
    );
    assert.ok(m.every((e) => e.channel.branch === undefined));
    const edgeHist = effectiveHistory(hello(), { track: "latest", risk: "edge" }, "amd64");
    assert.equal(m[2]?.releasedAt, edgeHist.at(-1)?.releasedAt);
  });
  it("hello-offline arm64", () => {
    assert.deepEqual(
      channelMap(hello(), "arm64").map((e) => [fullChannelName(e.channel), e.revision.revision]),
      [
        ["latest/stable", 4],
        ["latest/candidate", 4],
        ["latest/edge", 4],
        ["2.x/stable", 6],
      ],
    );
  });
  it("tool-a (all) is listed for every arch; an unknown arch with nothing gets an empty map", () => {
    for (const arch of ["amd64", "arm64", "riscv64"]) {
      assert.deepEqual(
        channelMap(toolAAll(), arch).map((e) => [fullChannelName(e.channel), e.revision.revision]),
        [["latest/stable", 4]],
      );
    }
    assert.deepEqual(channelMap(hello(), "s390x"), []);
  });
  it("orders tracks latest first then by name, risks stable..edge, whatever the input order", () => {
    const s = makeSnap(
      "order",
      [[1, "all"]],
      [
        ["2.x/edge", "all", 1],
        ["10/stable", "all", 1],
        ["latest/edge", "all", 1],
        ["1.0/beta", "all", 1],
        ["2.x/stable", "all", 1],
        ["latest/candidate", "all", 1],
        ["latest/stable/zz", "all", 1],
        ["latest/stable", "all", 1],
      ],
    );
    const shuffled: SnapEntry = { ...s, channels: [...s.channels].reverse() };
    for (const snap of [s, shuffled]) {
      assert.deepEqual(
        channelMap(snap, "amd64").map((e) => fullChannelName(e.channel)),
        ["latest/stable", "latest/candidate", "latest/edge", "1.0/beta", "10/stable", "2.x/stable", "2.x/edge"],
      );
    }
  });
});

describe("currentReleases", () => {
  it("lists every arch and channel with a current release, branches included, sorted", () => {
    assert.deepEqual(currentReleases(hello()), HELLO_RELEASES);
  });
  it("lists `all` releases under the arches named in the snap's channels", () => {
    assert.deepEqual(currentReleases(toolAPerArch()), [
      { architecture: "amd64", channel: "stable" },
      { architecture: "arm64", channel: "stable" },
    ]);
    const s = makeSnap(
      "mixed",
      [
        [1, "amd64"],
        [2, "arm64"],
        [3, "all"],
      ],
      [
        ["latest/stable", "amd64", 1],
        ["latest/stable", "arm64", 2],
        ["latest/edge", "all", 3],
      ],
    );
    assert.deepEqual(currentReleases(s), [
      { architecture: "amd64", channel: "stable" },
      { architecture: "amd64", channel: "edge" },
      { architecture: "arm64", channel: "stable" },
      { architecture: "arm64", channel: "edge" },
    ]);
  });
  it("lists `all` releases under `all` when no arch is named, or under the given arches", () => {
    assert.deepEqual(currentReleases(toolAAll()), [{ architecture: "all", channel: "stable" }]);
    assert.deepEqual(currentReleases(toolAAll(), ["riscv64"]), [{ architecture: "riscv64", channel: "stable" }]);
    assert.deepEqual(currentReleases(toolAAll(), ["all"]), [{ architecture: "all", channel: "stable" }]);
  });
  it("resolution errors list `all` releases under the requesting arch", () => {
    const r = notOk(resolveSnap(toolAAll(), req("amd64", { channel: "stable/nosuch" })));
    assert.deepEqual(r.releases, [{ architecture: "amd64", channel: "stable" }]);
    // a device-specific snap does not gain the requesting arch
    const h = notOk(resolveSnap(hello(), req("riscv64")));
    assert.ok(!h.releases.some((x) => x.architecture === "riscv64"));
  });
});
