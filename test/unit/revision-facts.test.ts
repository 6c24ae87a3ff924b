/**
 * One parser for the revision facts the store's answers and bundle.json share; the two
 * readers' differences are its options.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRevisionFacts } from "../../src/model/revision-facts.js";

const fail = (path: string, reason: string): Error => new Error(`field ${path}: ${reason}`);

test("reads created-at, common-ids, confinement and epoch; absent or null ones are left out", () => {
  const o = { "created-at": "2024-01-02T03:04:05Z", "common-ids": ["a.b"], confinement: "strict", epoch: null };
  assert.deepEqual(parseRevisionFacts(o, "r", fail), {
    createdAt: "2024-01-02T03:04:05Z",
    commonIds: ["a.b"],
    confinement: "strict",
  });
  assert.deepEqual(parseRevisionFacts({ "common-ids": null }, "r", fail), {});
});

test("emptyIsAbsent (the store's answers): an empty created-at or confinement is left out", () => {
  const o = { "created-at": "", confinement: "" };
  assert.deepEqual(parseRevisionFacts(o, "r", fail, { emptyIsAbsent: true }), {});
  assert.deepEqual(parseRevisionFacts(o, "r", fail), { createdAt: "", confinement: "" });
});

test("checkTime (bundle.json): a created-at that is not a time is refused, naming the field", () => {
  for (const t of ["", "yesterday"]) {
    assert.throws(
      () => parseRevisionFacts({ "created-at": t }, "revisions[0]", fail, { checkTime: true }),
      new Error(`field revisions[0].created-at: invalid time ${JSON.stringify(t)}`),
    );
  }
  assert.throws(() => parseRevisionFacts({ epoch: "x" }, "r", fail), /^Error: field r\.epoch: /);
});
