/** Long imports and exports show rate and time remaining on their status line (issue 12, point 4). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, Progress } from "../../src/util/progress.js";

const MiB = 1024 * 1024;

describe("progress rate and time remaining", () => {
  it("formats durations", () => {
    assert.deepEqual([0, 0.2, 45, 60, 125, 3599, 3600, 3725].map(formatDuration), [
      "0s",
      "1s",
      "45s",
      "1m00s",
      "2m05s",
      "59m59s",
      "1h00m",
      "1h02m",
    ]);
  });

  it("the status line says how fast and how long is left, not counting what was already there", () => {
    const saved = process.env["CI"];
    delete process.env["CI"];
    try {
      const chunks: string[] = [];
      const out = { isTTY: true, columns: 300, write: (c: string) => chunks.push(c) > 0 };
      let t = 0;
      const p = new Progress(out, { now: () => t, activity: { doing: "reading", things: "files" } });
      p.startDownloads(3, 110 * MiB);
      // 10 MiB already there (no time), then 20 MiB read in 2 s: 10 MiB/s, 80 MiB left -> 8 s
      p.blobDone("cached.tar", 10 * MiB, "cached");
      t = 500;
      p.blobProgress("a.tar", 1 * MiB, 50 * MiB);
      assert.doesNotMatch(chunks.at(-1) ?? "", /\/s/, "no rate in the first second");
      t = 2000;
      p.blobProgress("a.tar", 20 * MiB, 50 * MiB);
      assert.equal(chunks.at(-1), "\r\x1b[Kreading 1/3 files, 30 MiB of 110 MiB, 10 MiB/s, 8s left: a.tar 40%");
      p.blobDone("a.tar", 50 * MiB, "quietly");
      p.blobDone("b.tar", 50 * MiB, "quietly");
      assert.doesNotMatch(chunks.at(-1) ?? "", /left/, "nothing left: no estimate");
      p.finish();
    } finally {
      if (saved !== undefined) process.env["CI"] = saved;
    }
  });
});
