/**
 * What the snap action endpoint answers to requests that are malformed, or malformed only in
 * members the answer does not need, byte for byte (status and body). The store reads a member only
 * when the resolution needs it: an unknown snap's `revision`, `channel` and `epoch`, the
 * `if-newer-than` of an assertion it does not have and the `if-sequence-equal-or-newer-than` of a
 * sequence it does not have are not looked at; the first bad member in reading order names the
 * 400. The golden file pins which request gets which answer, so a change in where members are
 * checked shows here.
 */
import { test } from "node:test";
import type { AssertionEntry } from "../../src/catalogue/types.js";
import { handleRefresh } from "../../src/routes/refresh.js";
import type { DynamicEnv } from "../../src/routes/types.js";
import { assertGolden } from "../support/golden.js";
import { HELLO_ID, helloRefreshEnv, postRefresh as post } from "../support/refresh-env.js";

const SNAP_ID = HELLO_ID;
const UNKNOWN_ID = "u".repeat(32);

function envOf(): DynamicEnv {
  const assertion = (type: string, primaryKey: string[], revision: number): AssertionEntry => ({
    type,
    primaryKey,
    revision,
    format: 0,
    object: "b".repeat(96),
    headers: {},
  });
  const assertions = [
    assertion("snap-declaration", ["16", SNAP_ID], 3),
    assertion("validation-set", ["16", "acc", "set", "2"], 1),
    assertion("validation-set", ["16", "acc", "set", "4"], 1),
  ];
  return helloRefreshEnv({ description: "hello", arches: ["amd64"], baseUrl: "http://store.test", assertions });
}

const install = (extra: Record<string, unknown>) => ({ action: "install", "instance-key": "i", ...extra });
const refresh = (extra: Record<string, unknown>) => ({ action: "refresh", "instance-key": "r", ...extra });
const fetch = (...assertions: unknown[]) => ({ action: "fetch-assertions", key: "k", assertions });
const decl = (extra: Record<string, unknown> = {}) => ({
  type: "snap-declaration",
  "primary-key": ["16", SNAP_ID],
  ...extra,
});
const vset = (extra: Record<string, unknown> = {}) => ({
  type: "validation-set",
  "sequence-key": ["16", "acc", "set"],
  ...extra,
});
const ctx = [{ "snap-id": SNAP_ID, "instance-key": "r", revision: 1, "tracking-channel": "stable" }];

/** Request bodies, by case name: the answer needs every member, some, or none of the bad ones. */
const CASES: readonly (readonly [string, unknown])[] = [
  ["not an object", [1]],
  ["actions missing", {}],
  ["actions not a list", { actions: {} }],
  ["context not a list", { actions: [], context: {} }],
  ["context entry not an object", { actions: [], context: [1] }],
  ["context revision a string", { actions: [], context: [{ "snap-id": SNAP_ID, revision: "1" }] }],
  ["context bad held", { actions: [], context: [{ "snap-id": SNAP_ID, held: { by: [1] } }] }],
  ["context bad epoch", { actions: [], context: [{ "snap-id": SNAP_ID, epoch: "x" }] }],
  ["action not an object", { actions: [1] }],
  ["unknown action", { actions: [{ action: "remove" }] }],
  ["action missing", { actions: [{ name: "hello" }] }],
  ["instance-key a number", { actions: [install({ "instance-key": 1, name: "hello" })] }],
  ["name a number", { actions: [install({ name: 1 })] }],
  ["known snap, revision a string", { actions: [install({ name: "hello", revision: "1" })] }],
  ["known snap, revision negative", { actions: [install({ name: "hello", revision: -1 })] }],
  ["known snap, channel a number", { actions: [install({ name: "hello", channel: 1 })] }],
  ["known snap, bad epoch", { actions: [install({ name: "hello", epoch: "x" })] }],
  ["known snap, bad revision and channel", { actions: [install({ name: "hello", revision: "1", channel: 1 })] }],
  ["known snap, revision given, bad channel", { actions: [install({ name: "hello", revision: 1, channel: 1 })] }],
  [
    "unknown snap, bad revision, channel, epoch",
    { actions: [install({ name: "nope", revision: "1", channel: 1, epoch: "x" })] },
  ],
  [
    "download of unknown id, bad revision",
    { actions: [{ action: "download", "instance-key": "d", "snap-id": UNKNOWN_ID, revision: "x" }] },
  ],
  ["refresh, revision a string", { context: ctx, actions: [refresh({ "snap-id": SNAP_ID, revision: "1" })] }],
  ["refresh of unknown id, bad channel", { context: ctx, actions: [refresh({ "snap-id": UNKNOWN_ID, channel: 2 })] }],
  ["refresh, snap-id a list", { context: ctx, actions: [refresh({ "snap-id": [SNAP_ID] })] }],
  ["refresh, name a number (not read)", { context: ctx, actions: [refresh({ "snap-id": SNAP_ID, name: 1 })] }],
  ["refresh, epoch bad (not read)", { context: ctx, actions: [refresh({ "snap-id": SNAP_ID, epoch: "x" })] }],
  ["first bad member in action order", { actions: [install({ name: "hello", revision: "1" }), { action: "remove" }] }],
  [
    "an unread bad member before a bad action",
    { actions: [install({ name: "nope", revision: "1" }), { action: "remove" }] },
  ],
  ["bad action before a bad revision", { actions: [{ action: "remove" }, install({ name: "hello", revision: "1" })] }],
  ["fetch, key a number", { actions: [{ action: "fetch-assertions", key: 1, assertions: [] }] }],
  ["fetch, assertions not a list", { actions: [{ action: "fetch-assertions", key: "k", assertions: {} }] }],
  ["fetch, assertions missing", { actions: [{ action: "fetch-assertions", key: "k" }] }],
  ["fetch, entry not an object", { actions: [fetch(1)] }],
  ["fetch, type a number", { actions: [fetch({ type: 1, "primary-key": ["a"] })] }],
  ["fetch, no key", { actions: [fetch({ type: "snap-declaration" })] }],
  ["fetch, primary-key not strings", { actions: [fetch(decl({ "primary-key": [16] }))] }],
  ["fetch, primary-key null, sequence-key given", { actions: [fetch(vset({ "primary-key": null }))] }],
  ["fetch, found, if-newer-than a string", { actions: [fetch(decl({ "if-newer-than": "1" }))] }],
  ["fetch, found, if-newer-than older", { actions: [fetch(decl({ "if-newer-than": 2 }))] }],
  ["fetch, found, if-newer-than same", { actions: [fetch(decl({ "if-newer-than": 3 }))] }],
  [
    "fetch, not found, if-newer-than a string",
    { actions: [fetch(decl({ "primary-key": ["16", UNKNOWN_ID], "if-newer-than": "1" }))] },
  ],
  [
    "fetch, unknown type, if-newer-than a string",
    { actions: [fetch({ type: "nope", "primary-key": ["a"], "if-newer-than": "x" })] },
  ],
  ["fetch, sequence latest", { actions: [fetch(vset())] }],
  ["fetch, sequence pinned", { actions: [fetch(vset({ sequence: 2 }))] }],
  ["fetch, sequence pinned missing", { actions: [fetch(vset({ sequence: 3 }))] }],
  ["fetch, sequence a string", { actions: [fetch(vset({ sequence: "2" }))] }],
  ["fetch, sequence-key not strings", { actions: [fetch(vset({ "sequence-key": [16] }))] }],
  ["fetch, at least newer", { actions: [fetch(vset({ "if-sequence-equal-or-newer-than": 5 }))] }],
  ["fetch, at least equal", { actions: [fetch(vset({ "if-sequence-equal-or-newer-than": 4, "if-newer-than": 1 }))] }],
  [
    "fetch, at least equal, newer",
    { actions: [fetch(vset({ "if-sequence-equal-or-newer-than": 4, "if-newer-than": 0 }))] },
  ],
  ["fetch, at least a string", { actions: [fetch(vset({ "if-sequence-equal-or-newer-than": "4" }))] }],
  [
    "fetch, unknown sequence, at least a string",
    { actions: [fetch(vset({ "sequence-key": ["16", "acc", "other"], "if-sequence-equal-or-newer-than": "4" }))] },
  ],
  ["fetch, a good entry, then a bad one", { actions: [fetch(decl(), { type: "snap-declaration" })] }],
  [
    "fetch, an unread bad member, then a bad entry",
    { actions: [fetch(decl({ "primary-key": ["16", UNKNOWN_ID], "if-newer-than": "1" }), 1)] },
  ],
  ["fetch, a read bad member, then a bad entry", { actions: [fetch(decl({ "if-newer-than": "1" }), 1)] }],
  ["fetch, bad entry, then a bad action", { actions: [fetch(1), { action: "remove" }] }],
];

test("the snap action endpoint's answers to malformed requests are as recorded", async () => {
  const env = envOf();
  const lines: string[] = [];
  for (const [name, body] of CASES) {
    const r = handleRefresh(post(JSON.stringify(body)), env);
    lines.push(`# ${name}`, `${r.status} ${String(r.body)}`);
  }
  const invalid = handleRefresh(post("{"), env);
  lines.push("# invalid JSON", `${invalid.status} ${String(invalid.body)}`);
  await assertGolden("refresh-requests.txt", `${lines.join("\n")}\n`);
});
