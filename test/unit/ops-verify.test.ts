import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeStream } from "../../src/assertions/parse.js";
import { canonicalRoots } from "../../src/assertions/trust.js";
import type { Assertion } from "../../src/assertions/types.js";
import { failedBy, verifyChains } from "../../src/ops/verify.js";
import { committedCatalogue } from "../support/fixture-store.js";

const dir = join(committedCatalogue(), "asserts");
const all = readdirSync(dir)
  .sort()
  .flatMap((f) => decodeStream(readFileSync(join(dir, f)), f).map((a) => ({ a, file: f })));
const manifest = JSON.parse(readFileSync(join(committedCatalogue(), "manifest.json"), "utf8")) as {
  assertions: Record<string, string>;
};
const rootFiles = new Set(
  [manifest.assertions["root-account"], manifest.assertions["root-account-key"]].map((f) =>
    f?.replace(/^asserts\//, ""),
  ),
);
const roots = [...canonicalRoots(), ...all.filter((x) => rootFiles.has(x.file)).map((x) => x.a)];
const stored = all.filter((x) => !rootFiles.has(x.file));
const NOW = new Date("2026-12-01T00:00:00Z");

describe("verifyChains", () => {
  it("finds nothing wrong with the fixture catalogue", () => {
    assert.ok(stored.length > 20);
    assert.deepEqual(verifyChains(stored, roots, NOW), []);
  });

  it("names every assertion that does not verify, and those that needed it", () => {
    // drop the store's signing key: every assertion it signed is unverifiable, each named once
    const storeKey = stored.find((x) => x.file === manifest.assertions["store-account-key"]?.replace(/^asserts\//, ""));
    assert.ok(storeKey);
    const rest = stored.filter((x) => x !== storeKey);
    const problems = verifyChains(rest, roots, NOW);
    const signedByStore = rest.filter((x) => x.a.signKeyId === storeKey.a.primaryKey[0]);
    assert.ok(signedByStore.length > 10);
    assert.deepEqual(problems.map((p) => p.file).sort(), signedByStore.map((x) => x.file).sort());
    for (const p of problems) assert.match(p.reason, /^cannot verify /);
  });

  it("names a bad signature on its own assertion", () => {
    const victim = stored.find((x) => x.a.type === "snap-declaration");
    assert.ok(victim);
    const sig = Buffer.from(victim.a.signature);
    sig[sig.length - 10] = (sig[sig.length - 10] ?? 0) ^ 0x20;
    const forged = { ...victim.a, signature: sig };
    const set = stored.map((x) => (x === victim ? { a: forged as Assertion, file: x.file } : x));
    const problems = verifyChains(set, roots, NOW);
    assert.ok(problems.some((p) => p.file === victim.file));
  });
});

describe("failedBy", () => {
  it("matches the assertion a verification message names", () => {
    const decl = stored.find((x) => x.a.type === "snap-declaration")?.a;
    assert.ok(decl);
    const [hit] = failedBy(`cannot verify snap-declaration (16/${decl.primaryKey[1]}): bad`, [decl]);
    assert.equal(hit, decl);
    assert.deepEqual(failedBy("cannot verify account (x): bad", [decl]), []);
  });
});
