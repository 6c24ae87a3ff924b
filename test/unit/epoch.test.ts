import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canRead,
  epochEquals,
  formatEpoch,
  isZeroEpoch,
  parseEpoch,
  toEpochJson,
  ZERO_EPOCH,
} from "../../src/model/epoch.js";
import type { Epoch } from "../../src/model/types.js";
import { SnapshelfError } from "../../src/util/errors.js";

const e = (read: number[], write: number[]): Epoch => ({ read, write });

function assertInvalid(v: unknown, reason: RegExp): void {
  assert.throws(
    () => parseEpoch(v),
    (err: unknown) => {
      assert.ok(err instanceof SnapshelfError);
      assert.equal(err.code, "invalid-epoch");
      assert.match(err.message, /^cannot parse epoch /);
      assert.match(err.message, reason);
      return true;
    },
  );
}

describe("parseEpoch", () => {
  const cases: [unknown, Epoch][] = [
    [undefined, e([0], [0])],
    [null, e([0], [0])],
    ["", e([0], [0])],
    ["0", e([0], [0])],
    [0, e([0], [0])],
    ["1", e([1], [1])],
    [1, e([1], [1])],
    [42, e([42], [42])],
    ["4294967295", e([4294967295], [4294967295])],
    ["1*", e([0, 1], [1])],
    ["5*", e([4, 5], [5])],
    // structured (snap.yaml and snapd's JSON form)
    [{ read: [0], write: [0] }, e([0], [0])],
    [{ read: [1, 2, 3], write: [1, 3] }, e([1, 2, 3], [1, 3])],
    [{ read: [0, 1], write: [1] }, e([0, 1], [1])],
    // snapd defaults: read := write, write := last read, both unset = 0
    [{ write: [2] }, e([2], [2])],
    [{ read: [1, 2] }, e([1, 2], [2])],
    [{}, e([0], [0])],
    [{ read: null, write: null }, e([0], [0])],
    // YAML may give quoted numbers inside the lists
    [{ read: ["1", "2"], write: ["2"] }, e([1, 2], [2])],
    // unknown keys are ignored (as snapd's unmarshalling does)
    [{ read: [3], write: [3], other: true }, e([3], [3])],
  ];
  for (const [v, want] of cases) {
    it(`parses ${JSON.stringify(v) ?? "undefined"}`, () => {
      assert.deepEqual(parseEpoch(v), want);
    });
  }

  const bad: [unknown, RegExp][] = [
    ["0*", /0\* is an invalid epoch/],
    ["01", /no zero padding/],
    ["-1", /base 10/],
    ["+1", /base 10/],
    ["1.5", /base 10/],
    ["x", /base 10/],
    ["1**", /base 10/],
    ["*", /base 10/],
    [" 1", /base 10/],
    ["4294967296", /less than 2³²/],
    [4294967296, /less than 2³²/],
    [-1, /non-negative/],
    [1.5, /non-negative/],
    [true, /must be a number, a string or a read\/write object/],
    [[1], /must be a number, a string or a read\/write object/],
    [{ read: [] }, /explicitly empty/],
    [{ read: [1], write: [] }, /explicitly empty/],
    [{ write: [] }, /explicitly empty/],
    [{ read: "1" }, /must be lists of epoch numbers/],
    [{ read: [true] }, /must be lists of epoch numbers/],
    [{ read: ["01"] }, /no zero padding/],
    [{ read: [2, 1], write: [2] }, /strictly increasing/],
    [{ read: [1, 1], write: [1] }, /strictly increasing/],
    [{ read: [1], write: [2] }, /non-empty intersection/],
    [{ read: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], write: [1] }, /more than 10/],
    [{ read: [1, -1] }, /non-negative/],
  ];
  for (const [v, reason] of bad) {
    it(`rejects ${JSON.stringify(v)}`, () => {
      assertInvalid(v, reason);
    });
  }

  it("returns the shared zero epoch for every zero form", () => {
    assert.equal(parseEpoch(undefined), ZERO_EPOCH);
    assert.equal(parseEpoch({ read: [0] }), ZERO_EPOCH);
  });
});

describe("canRead", () => {
  it("is read ∩ write ≠ ∅", () => {
    const zero = parseEpoch("0");
    const one = parseEpoch("1");
    const oneStar = parseEpoch("1*");
    const two = parseEpoch("2");
    // tool-a: r3 (1*) reads epoch 0 data, r4 (1) does not
    assert.ok(canRead(oneStar, zero));
    assert.ok(!canRead(one, zero));
    assert.ok(canRead(one, oneStar));
    assert.ok(canRead(oneStar, oneStar));
    assert.ok(canRead(one, one));
    assert.ok(!canRead(zero, one));
    assert.ok(!canRead(zero, oneStar));
    assert.ok(canRead(zero, zero));
    assert.ok(!canRead(two, one));
    assert.ok(canRead(parseEpoch({ read: [1, 2, 3], write: [3] }), e([2], [2])));
  });
  it("counts empty lists as [0]", () => {
    assert.ok(canRead(e([], []), ZERO_EPOCH));
    assert.ok(canRead(ZERO_EPOCH, e([], [])));
    assert.ok(!canRead(e([], []), e([1], [1])));
  });
});

describe("formatEpoch (snapd Epoch.String)", () => {
  const cases: [Epoch, string][] = [
    [e([0], [0]), "0"],
    [e([], []), "0"],
    [e([0], []), "0"],
    [e([1], [1]), "1"],
    [e([0, 1], [1]), "1*"],
    [e([4, 5], [5]), "5*"],
    [e([1, 2], [1]), '{"read":[1,2],"write":[1]}'],
    [e([0, 2], [2]), '{"read":[0,2],"write":[2]}'],
    [e([1, 2, 3], [1, 3]), '{"read":[1,2,3],"write":[1,3]}'],
    [e([1], [1, 2]), '{"read":[1],"write":[1,2]}'],
  ];
  for (const [ep, want] of cases) {
    it(`formats ${JSON.stringify(ep)} as ${want}`, () => {
      assert.equal(formatEpoch(ep), want);
    });
  }
  it("round-trips the short forms", () => {
    for (const s of ["0", "1", "7", "1*", "9*"]) assert.equal(formatEpoch(parseEpoch(s)), s);
  });
});

describe("epochEquals / isZeroEpoch / toEpochJson", () => {
  it("treats all zero forms as equal", () => {
    assert.ok(epochEquals(e([], []), ZERO_EPOCH));
    assert.ok(epochEquals(ZERO_EPOCH, e([0], [])));
    assert.ok(isZeroEpoch(e([0], [0])));
    assert.ok(!isZeroEpoch(e([0, 1], [1])));
  });
  it("compares lists otherwise", () => {
    assert.ok(epochEquals(parseEpoch("1*"), e([0, 1], [1])));
    assert.ok(!epochEquals(parseEpoch("1*"), parseEpoch("1")));
    assert.ok(!epochEquals(parseEpoch("1"), ZERO_EPOCH));
    assert.ok(!epochEquals(ZERO_EPOCH, parseEpoch("1")));
  });
  it("renders empty lists as [0] on the wire", () => {
    assert.deepEqual(toEpochJson(e([], [])), { read: [0], write: [0] });
    assert.deepEqual(toEpochJson(parseEpoch("1*")), { read: [0, 1], write: [1] });
  });
});
