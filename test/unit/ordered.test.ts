/**
 * mapOrdered: bounded concurrency that behaves like a sequential loop to its
 * caller (order of results and of onResult, the error it throws).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { mapOrdered } from "../../src/util/ordered.js";

test("never runs more than the limit at once, and returns results in input order", async () => {
  let running = 0;
  let peak = 0;
  const delays = [30, 5, 20, 1, 10, 2, 15];
  const seen: number[] = [];
  const out = await mapOrdered(
    delays,
    3,
    async (d, i) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(d);
      running--;
      return i * 10;
    },
    (_v, i) => seen.push(i),
  );
  assert.equal(peak, 3);
  assert.deepEqual(out, [0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6], "onResult in input order");
});

test("throws the earliest failing item's error, starts nothing after a failure", async () => {
  const started: number[] = [];
  await assert.rejects(
    mapOrdered([0, 1, 2, 3, 4, 5], 2, async (_x, i) => {
      started.push(i);
      // item 2 fails quickly, item 1 fails later: the loop's error is item 1's
      if (i === 1) {
        await sleep(30);
        throw new Error("one");
      }
      if (i === 2) throw new Error("two");
      await sleep(1);
      return i;
    }),
    /one/,
  );
  assert.ok(!started.includes(5), `started ${started.join(",")}`);
});

test("an empty list and a limit below one", async () => {
  assert.deepEqual(await mapOrdered([], 4, async () => 1), []);
  assert.deepEqual(await mapOrdered([1, 2], 0, async (x) => x + 1), [2, 3]);
});
