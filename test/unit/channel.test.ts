import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  channelEquals,
  compareChannels,
  compareTracks,
  fullChannelName,
  isRisk,
  parseChannel,
  parseFullChannel,
  shortChannelName,
  toChannel,
} from "../../src/model/channel.js";
import type { Channel } from "../../src/model/types.js";
import { SnapshelfError } from "../../src/util/errors.js";

function assertInvalid(fn: () => unknown, s: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SnapshelfError);
    assert.equal(err.code, "invalid-channel");
    assert.ok(err.message.startsWith(`cannot parse channel ${JSON.stringify(s)}: `), err.message);
    assert.match(err.message, reason);
    return true;
  });
}

describe("parseChannel", () => {
  const cases: [string, ReturnType<typeof parseChannel>][] = [
    ["stable", { risk: "stable" }],
    ["candidate", { risk: "candidate" }],
    ["beta", { risk: "beta" }],
    ["edge", { risk: "edge" }],
    // a lone non-risk is a track, risk stable
    ["2.x", { track: "2.x", risk: "stable" }],
    ["latest", { track: "latest", risk: "stable" }],
    ["Stable", { track: "Stable", risk: "stable" }],
    // two components: leading risk => risk/branch, else track/risk
    ["edge/fix-1", { risk: "edge", branch: "fix-1" }],
    ["stable/hotfix-1", { risk: "stable", branch: "hotfix-1" }],
    ["2.x/beta", { track: "2.x", risk: "beta" }],
    ["latest/stable", { track: "latest", risk: "stable" }],
    ["latest/candidate", { track: "latest", risk: "candidate" }],
    // three components
    ["latest/stable/hotfix-1", { track: "latest", risk: "stable", branch: "hotfix-1" }],
    ["2.x/edge/pr-42", { track: "2.x", risk: "edge", branch: "pr-42" }],
    // a track may even be named like a branch of a risk... but never a risk
    ["stable/edge", { risk: "stable", branch: "edge" }],
  ];
  for (const [s, want] of cases) {
    it(`parses ${JSON.stringify(s)}`, () => {
      assert.deepEqual(parseChannel(s), want);
    });
  }

  it("keeps an explicit latest (needed for default-track redirects)", () => {
    assert.equal(parseChannel("latest/stable").track, "latest");
    assert.equal(parseChannel("stable").track, undefined);
    assert.ok(!("track" in parseChannel("stable")));
    assert.ok(!("branch" in parseChannel("2.x/stable")));
  });

  const bad: [string, RegExp][] = [
    ["", /cannot be empty/],
    ["a/b/c/d", /too many components/],
    ["latest/stable/x/y", /too many components/],
    ["latest/foo", /invalid risk "foo"/],
    ["2.x/Stable", /invalid risk "Stable"/],
    ["latest/foo/bar", /invalid risk "foo"/],
    ["latest//x", /invalid risk ""/],
    ["2.x/", /invalid risk ""/],
    ["/stable", /empty track/],
    ["/stable/x", /empty track/],
    ["stable/", /empty branch/],
    ["latest/stable/", /empty branch/],
    ["/", /empty track/],
  ];
  for (const [s, reason] of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      assertInvalid(() => parseChannel(s), s, reason);
    });
  }
});

describe("parseFullChannel", () => {
  it("accepts track/risk[/branch]", () => {
    assert.deepEqual(parseFullChannel("latest/stable"), { track: "latest", risk: "stable" });
    assert.deepEqual(parseFullChannel("2.x/edge"), { track: "2.x", risk: "edge" });
    assert.deepEqual(parseFullChannel("latest/stable/hotfix-1"), {
      track: "latest",
      risk: "stable",
      branch: "hotfix-1",
    });
  });
  it("assumes latest for risk-only and risk/branch", () => {
    assert.deepEqual(parseFullChannel("candidate"), { track: "latest", risk: "candidate" });
    assert.deepEqual(parseFullChannel("stable/hotfix-1"), { track: "latest", risk: "stable", branch: "hotfix-1" });
  });
  it("rejects a lone track and invalid strings", () => {
    assertInvalid(() => parseFullChannel("2.x"), "2.x", /missing risk/);
    assertInvalid(() => parseFullChannel("latest"), "latest", /missing risk/);
    assertInvalid(() => parseFullChannel("latest/foo"), "latest/foo", /invalid risk/);
    assertInvalid(() => parseFullChannel(""), "", /empty/);
  });
});

describe("toChannel", () => {
  it("fills the track only when none was named", () => {
    assert.deepEqual(toChannel({ risk: "edge" }), { track: "latest", risk: "edge" });
    assert.deepEqual(toChannel({ risk: "edge" }, "2.x"), { track: "2.x", risk: "edge" });
    assert.deepEqual(toChannel({ track: "latest", risk: "edge" }, "2.x"), { track: "latest", risk: "edge" });
    assert.deepEqual(toChannel({ risk: "stable", branch: "b" }, "2.x"), { track: "2.x", risk: "stable", branch: "b" });
  });
});

describe("channel names", () => {
  const cases: [Channel, string, string][] = [
    [{ track: "latest", risk: "stable" }, "latest/stable", "stable"],
    [{ track: "latest", risk: "candidate" }, "latest/candidate", "candidate"],
    [{ track: "2.x", risk: "stable" }, "2.x/stable", "2.x/stable"],
    [{ track: "latest", risk: "stable", branch: "hotfix-1" }, "latest/stable/hotfix-1", "stable/hotfix-1"],
    [{ track: "2.x", risk: "edge", branch: "pr-1" }, "2.x/edge/pr-1", "2.x/edge/pr-1"],
  ];
  for (const [c, full, short] of cases) {
    it(`names ${full}`, () => {
      assert.equal(fullChannelName(c), full);
      assert.equal(shortChannelName(c), short);
      // both forms parse back to the same channel
      assert.deepEqual(parseFullChannel(full), c);
      assert.deepEqual(toChannel(parseChannel(short)), c);
    });
  }
});

describe("compareChannels", () => {
  it("orders latest first, tracks by name, risks stable..edge, branches after their risk", () => {
    const want: Channel[] = [
      { track: "latest", risk: "stable" },
      { track: "latest", risk: "stable", branch: "a" },
      { track: "latest", risk: "stable", branch: "hotfix-1" },
      { track: "latest", risk: "candidate" },
      { track: "latest", risk: "beta" },
      { track: "latest", risk: "edge" },
      { track: "latest", risk: "edge", branch: "x" },
      { track: "1.0", risk: "stable" },
      { track: "10", risk: "edge" },
      { track: "2.x", risk: "stable" },
      { track: "2.x", risk: "candidate" },
      { track: "Z", risk: "stable" },
      { track: "a", risk: "stable" },
    ];
    const shuffled = [...want].reverse();
    shuffled.push(shuffled.splice(3, 1)[0]!);
    assert.deepEqual([...shuffled].sort(compareChannels), want);
    assert.equal(compareChannels({ track: "latest", risk: "stable" }, { track: "latest", risk: "stable" }), 0);
  });
  it("puts latest before tracks that sort lower", () => {
    assert.ok(compareTracks("latest", "1.0") < 0);
    assert.ok(compareTracks("1.0", "latest") > 0);
    assert.ok(compareTracks("0", "1") < 0);
  });
});

describe("helpers", () => {
  it("isRisk", () => {
    assert.ok(isRisk("stable") && isRisk("edge"));
    assert.ok(!isRisk("latest") && !isRisk("Stable") && !isRisk(""));
  });
  it("channelEquals", () => {
    assert.ok(channelEquals({ track: "latest", risk: "stable" }, { track: "latest", risk: "stable" }));
    assert.ok(!channelEquals({ track: "latest", risk: "stable" }, { track: "latest", risk: "stable", branch: "b" }));
    assert.ok(!channelEquals({ track: "latest", risk: "stable" }, { track: "2.x", risk: "stable" }));
  });
});
