/**
 * The refresh answer cache is bounded in bytes (keys and answers), per device
 * kind and in total, whatever devices send; client strings longer than the
 * store takes are refused with snapd's error-list before they reach it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GenerationState } from "../../src/routes/generation-state.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import {
  ANSWER_CACHE_DEVICE_BYTES,
  ANSWER_CACHE_TOTAL_BYTES,
  AnswerCache,
  answerCacheStats,
  FIELD_LIMITS,
} from "../../src/routes/refresh-cache.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";
import { HELLO_ID, helloRefreshEnv, postRefresh } from "../support/refresh-env.js";

const SNAP_ID = HELLO_ID;

function envOf(): DynamicEnv {
  return helloRefreshEnv({
    description: "x".repeat(1000),
    arches: ["amd64", "arm64"],
    baseUrl: "http://store.test:8000",
  });
}

const post = (body: unknown, arch = "amd64"): RouteRequest => postRefresh(body, arch);

function refreshes(keys: string[]): unknown {
  return {
    context: keys.map((k) => ({ "snap-id": SNAP_ID, "instance-key": k, revision: 1, "tracking-channel": "stable" })),
    actions: keys.map((k) => ({ action: "refresh", "instance-key": k, "snap-id": SNAP_ID })),
  };
}

test("client strings longer than the store takes are refused with snapd's error-list, naming the field", () => {
  const env = envOf();
  const long = "k".repeat(3 * 1024 * 1024);
  const cases: [string, unknown][] = [
    ["instance-key", refreshes([long])],
    ["snap-id", { actions: [{ action: "refresh", "instance-key": "a", "snap-id": "s".repeat(65) }] }],
    ["name", { actions: [{ action: "install", "instance-key": "install-1", name: "n".repeat(65) }] }],
    ["channel", { actions: [{ action: "install", "instance-key": "i", name: "hello", channel: "c".repeat(257) }] }],
    [
      "tracking-channel",
      { context: [{ "snap-id": SNAP_ID, "instance-key": "a", "tracking-channel": "t".repeat(300) }], actions: [] },
    ],
    [
      "cohort-key",
      { actions: [{ action: "install", "instance-key": "i", name: "hello", "cohort-key": "c".repeat(4000) }] },
    ],
    ["key", { actions: [{ action: "fetch-assertions", key: "g".repeat(300), assertions: [] }] }],
  ];
  for (const [field, body] of cases) {
    const res = handleRefresh(post(body), env);
    assert.equal(res.status, 400, field);
    const list = (JSON.parse(res.body) as { "error-list": { code: string; message: string }[] })["error-list"];
    assert.equal(list[0]?.code, "bad-request", field);
    assert.match(list[0]?.message ?? "", new RegExp(`^cannot handle snap action request: .*"${field}" is longer than`));
  }
  // primary keys too
  const pk = handleRefresh(
    post({
      actions: [
        { action: "fetch-assertions", key: "g1", assertions: [{ type: "account", "primary-key": ["x".repeat(5000)] }] },
      ],
    }),
    env,
  );
  assert.equal(pk.status, 400);
  // at the limit: answered
  const ok = handleRefresh(post(refreshes(["k".repeat(FIELD_LIMITS["instance-key"] ?? 0)])), env);
  assert.equal(ok.status, 200, ok.body);
  assert.equal(answerCacheStats(env.state).entries, 1);
});

test("the answer cache stays within its bytes per device kind and in total, and keeps answering right", () => {
  const env = envOf();
  const before = handleRefresh(post(refreshes([SNAP_ID])), env).body;
  // one device kind, distinct legal instance keys: far more than its share
  let sent = 0;
  for (let r = 0; r < 12; r++) {
    const keys = Array.from({ length: 4000 }, (_, i) => `${String(r * 4000 + i).padStart(10, "0")}${"k".repeat(118)}`);
    assert.equal(handleRefresh(post(refreshes(keys)), env).status, 200);
    sent += keys.length;
    const s = answerCacheStats(env.state);
    assert.ok(s.bytes <= ANSWER_CACHE_DEVICE_BYTES, `${s.bytes} bytes for one device kind`);
  }
  assert.ok(sent * 2 * (128 + 1200) > 2 * ANSWER_CACHE_DEVICE_BYTES, "the load was larger than the bound");
  // many device kinds
  for (let d = 0; d < 100; d++) {
    const keys = Array.from({ length: 2000 }, (_, i) => `${d}-${i}-${"k".repeat(100)}`);
    assert.equal(handleRefresh(post(refreshes(keys), `arch${d}-${"a".repeat(1000)}`), env).status, 200);
    const s = answerCacheStats(env.state);
    assert.ok(s.bytes <= ANSWER_CACHE_TOTAL_BYTES, `${s.bytes} bytes in total`);
  }
  const s = answerCacheStats(env.state);
  assert.ok(s.bytes > ANSWER_CACHE_TOTAL_BYTES / 2, `the cache is used: ${s.bytes} bytes`);
  assert.equal(handleRefresh(post(refreshes([SNAP_ID])), env).body, before);
});

test("AnswerCache: a full device kind starts again, a full cache drops the oldest device kinds first", () => {
  const c = new AnswerCache(10_000, 25_000);
  const a = { json: "x".repeat(1000), bytes: 1000 };
  const one = c.device("one");
  for (let i = 0; i < 20; i++) one.set(`k${i}`, a);
  assert.ok(one.bytes <= 10_000 && one.map.size > 0 && one.map.size < 20);
  const two = c.device("two");
  for (let i = 0; i < 4; i++) two.set(`k${i}`, a);
  const three = c.device("three");
  for (let i = 0; i < 4; i++) three.set(`k${i}`, a);
  assert.ok(c.bytes <= 25_000, `${c.bytes}`);
  assert.ok(!c.byDevice.has("one"), "the oldest device kind went first");
  assert.equal(three.map.size, 4);
  let sum = 0;
  for (const d of c.byDevice.values()) sum += d.bytes;
  assert.equal(c.bytes, sum, "the total is the sum of the device kinds");
  // larger than a device kind's share: answered, not kept
  one.set("huge", { json: "y".repeat(20_000), bytes: 20_000 });
  assert.equal(one.get("huge"), undefined);
});

test("the answer cache belongs to the generation's state: another state of the same catalogue starts empty and answers the same", () => {
  const env = envOf();
  const first = handleRefresh(post(refreshes([SNAP_ID])), env).body;
  assert.equal(answerCacheStats(env.state).entries, 1);
  const next: DynamicEnv = { ...env, state: new GenerationState(env.index) };
  assert.equal(answerCacheStats(next.state).entries, 0, "nothing shared through module scope");
  assert.equal(handleRefresh(post(refreshes([SNAP_ID])), next).body, first);
  assert.equal(answerCacheStats(next.state).entries, 1);
});
