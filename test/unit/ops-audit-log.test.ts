import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { filterAudit, formatAuditLine, parseAuditLog, parseSince } from "../../src/ops/audit-log.js";

const LOG = [
  '{"time":"2026-01-01T00:00:00.000Z","user":"ops","op":"import","inputs":["a.snap"],"assertions":3}',
  '{"time":"2026-01-02T00:00:00.000Z","user":"ops","op":"build","generation":1}',
  "",
  '{"time":"2026-01-03T00:00:00.000Z","user":"root","op":"rollback","from":2,"to":1}',
  '{"time":"2026-01-04T00:00:00.000Z","user":"ro', // torn by a crash
].join("\n");

describe("audit log", () => {
  it("parses records, reporting bad lines by number", () => {
    const log = parseAuditLog(LOG);
    assert.deepEqual(
      log.entries.map((e) => e.op),
      ["import", "build", "rollback"],
    );
    assert.deepEqual(log.entries[2]?.detail, { from: 2, to: 1 });
    assert.deepEqual(log.bad, ["line 5: not JSON"]);
    assert.deepEqual(parseAuditLog('[1]\n{"op":"x"}\n').bad, ["line 1: not an object", "line 2: no time or op"]);
  });

  it("filters by time and op", () => {
    const { entries } = parseAuditLog(LOG);
    assert.deepEqual(
      filterAudit(entries, new Date("2026-01-02T00:00:00Z")).map((e) => e.op),
      ["build", "rollback"],
    );
    assert.deepEqual(
      filterAudit(entries, undefined, "import").map((e) => e.op),
      ["import"],
    );
  });

  it("reads --since as a date or an age", () => {
    const now = new Date("2026-01-10T12:00:00Z");
    assert.equal(parseSince("2026-01-02", now).toISOString(), "2026-01-02T00:00:00.000Z");
    assert.equal(parseSince("2026-01-02T03:04:05Z", now).toISOString(), "2026-01-02T03:04:05.000Z");
    assert.equal(parseSince("12h", now).toISOString(), "2026-01-10T00:00:00.000Z");
    assert.equal(parseSince("7d", now).toISOString(), "2026-01-03T12:00:00.000Z");
    assert.equal(parseSince("30m", now).toISOString(), "2026-01-10T11:30:00.000Z");
    for (const bad of ["yesterday", "7", "-1d", "2026-13-45x"]) {
      assert.throws(() => parseSince(bad, now), /cannot use --since/, bad);
    }
  });

  it("formats one line per change", () => {
    const { entries } = parseAuditLog(LOG);
    assert.equal(
      entries[0] && formatAuditLine(entries[0]),
      "2026-01-01T00:00:00.000Z ops import inputs=a.snap assertions=3",
    );
  });
});
