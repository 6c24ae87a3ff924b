import assert from "node:assert/strict";
import { constants, createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encodeWrappedBase64, sha3384Base64Url } from "../../src/assertions/encoding.js";
import {
  type Assertion,
  canonicalRoots,
  checkTrustedRoots,
  decodeStream,
  parseAssertion,
  type TrustConfig,
  verifyAssertions,
} from "../../src/assertions/index.js";
import { encodeMpi, newPacketHeader } from "../../src/assertions/openpgp.js";
import type { RevisionRecord } from "../../src/model/records.js";
import { checkComponent } from "../../src/store/component-check.js";
import { SnapshelfError } from "../../src/util/errors.js";

const FIXTURES = new URL("../../../test/fixtures/assertions/", import.meta.url);
const load = (name: string): Assertion => parseAssertion(readFileSync(new URL(name, FIXTURES)), name);

/** Expects `fn` to throw a SnapshelfError with `code`; returns its message. */
function failure(fn: () => void, code?: string): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SnapshelfError, String(err));
    if (code !== undefined) assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail("unexpectedly succeeded");
}

describe("chain verification: test catalogue fixtures", () => {
  const rootAccount = load("testrootorg.account");
  const rootKey = load("test-root.account-key");
  const storeKey = load("test-store.account-key");
  const publisher = load("publisher.account");
  const declaration = load("snapd.snap-declaration");
  const revision = load("snapd_1.snap-revision");
  const sets = [load("offline-set-1.validation-set"), load("offline-set-2.validation-set")];
  const trust: TrustConfig = {
    roots: [...canonicalRoots(), ...checkTrustedRoots([rootAccount, rootKey], "root.assert")],
  };
  const now = new Date("2026-12-01T00:00:00Z");
  const chain = [storeKey, publisher, declaration, revision];

  it("verifies with the testrootorg root", () => {
    verifyAssertions([...chain, ...sets], [], trust, now);
  });

  it("verifies candidates against already verified ones", () => {
    verifyAssertions([revision], [storeKey, publisher, declaration], trust, now);
  });

  it("verifies validation sets", () => {
    verifyAssertions(sets, [storeKey], trust, now);
    assert.match(
      failure(() => verifyAssertions([sets[1]!], [], trust, now)),
      /^cannot verify validation-set \(16\/testrootorg\/offline-set\/2\): no matching public key/,
    );
  });

  it("skips candidates that are trusted roots", () => {
    verifyAssertions([rootAccount, rootKey, ...chain], [], trust, now);
  });

  it("fails with only Canonical's roots", () => {
    const msg = failure(() => verifyAssertions([rootAccount, rootKey, ...chain], [], { roots: canonicalRoots() }, now));
    assert.match(msg, /no matching public key|not signed by a directly trusted authority/);
    const keyOnly = failure(() => verifyAssertions(chain, [], { roots: canonicalRoots() }, now), "assertion-chain");
    assert.match(
      keyOnly,
      /^cannot verify account-key \(XCIC_Wvj9_[^)]*\): no matching public key "hIedp1AvrWlc[^"]*" for signature by "testrootorg"/,
    );
  });

  it("fails on a one-byte header change", () => {
    const tampered = parseAssertion(declaration.raw.toString().replace("snap-name: snapd", "snap-name: snape"));
    const msg = failure(
      () => verifyAssertions([storeKey, publisher, tampered, revision], [], trust, now),
      "assertion-signature",
    );
    assert.match(
      msg,
      /^cannot verify snap-declaration \(16\/PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4\): failed signature verification/,
    );
  });

  it("fails on a one-byte signature change", () => {
    const text = revision.raw.toString();
    const sigStart = text.lastIndexOf("\n\n") + 2 + 100;
    const c = text[sigStart] === "A" ? "B" : "A";
    const tampered = parseAssertion(text.slice(0, sigStart) + c + text.slice(sigStart + 1));
    const msg = failure(
      () => verifyAssertions([storeKey, publisher, declaration, tampered], [], trust, now),
      "assertion-signature",
    );
    assert.match(msg, /^cannot verify snap-revision \(hrp7J_k9[^)]*\): failed signature verification/);
  });

  it("fails when the snap-declaration is missing", () => {
    const msg = failure(() => verifyAssertions([storeKey, publisher, revision], [], trust, now), "assertion-chain");
    assert.match(
      msg,
      /^cannot verify snap-revision \(hrp7J_k9[^)]*\): .*does not have a matching snap-declaration assertion/,
    );
  });

  it("fails when the publisher account is missing, naming the dependent", () => {
    const msg = failure(() => verifyAssertions([storeKey, declaration, revision], [], trust, now), "assertion-chain");
    assert.match(
      msg,
      /^cannot verify snap-declaration \(16\/PMrr[^)]*\): .*does not have a matching account assertion for the publisher/,
    );
  });

  it("fails when the signing key is not yet valid", () => {
    const msg = failure(() => verifyAssertions(chain, [], trust, new Date("2016-01-01T00:00:00Z")), "assertion-chain");
    assert.match(
      msg,
      /assertion is signed with expired public key "hIedp1Av[^"]*" from "testrootorg": current time is 2016-01-01T00:00:00Z/,
    );
  });

  it("fails when the store key is missing", () => {
    const msg = failure(() => verifyAssertions([publisher], [], trust, now), "assertion-chain");
    assert.match(msg, /^cannot verify account \(4juBm7Z65Pv5EhQJGnXvjricuBhKJnYg\): no matching public key "XCIC_Wvj9/);
  });
});

describe("trusted roots", () => {
  it("accepts Canonical's roots and the test roots", () => {
    assert.equal(checkTrustedRoots(canonicalRoots()).length, 2);
    const roots = decodeStream(
      Buffer.concat([
        readFileSync(new URL("testrootorg.account", FIXTURES)),
        Buffer.from("\n"),
        readFileSync(new URL("test-root.account-key", FIXTURES)),
      ]),
    );
    assert.equal(checkTrustedRoots(roots, "roots.assert").length, 2);
  });

  it("rejects other types and bad self-signatures", () => {
    assert.match(
      failure(() => checkTrustedRoots([load("publisher.account"), load("snapd.snap-declaration")], "x.assert")),
      /^cannot use snap-declaration \(16\/PMrr[^)]*\) as a trusted root in x\.assert: only account and account-key/,
    );
    const root = load("test-root.account-key");
    const tampered = parseAssertion(root.raw.toString().replace("name: test-root", "name: test-rooz"));
    assert.match(
      failure(() => checkTrustedRoots([tampered]), "assertion-signature"),
      /failed signature verification/,
    );
    const account = load("testrootorg.account");
    const badAccount = parseAssertion(
      account.raw.toString().replace("display-name: Testrootorg", "display-name: Testrootorh"),
    );
    assert.match(
      failure(() => checkTrustedRoots([badAccount, root])),
      /account \(testrootorg\) as a trusted root: failed signature/,
    );
    assert.match(
      failure(() => checkTrustedRoots([])),
      /no assertions/,
    );
  });
});

// --- assertions signed here with fresh keys, to reach the cases the fixtures cannot ---

interface TestKey {
  readonly id: string;
  readonly body: string;
  readonly priv: KeyObject;
}

function newKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = publicKey.export({ format: "jwk" });
  const n = Buffer.from(jwk.n!, "base64url");
  const e = Buffer.from(jwk.e!, "base64url");
  const body = Buffer.concat([Buffer.from([4, 0x56, 0x85, 0xc1, 0x80, 1]), encodeMpi(n), encodeMpi(e)]);
  const block = Buffer.concat([Buffer.from([1]), newPacketHeader(6, body.length), body]);
  return { id: sha3384Base64Url(block), body: encodeWrappedBase64(block), priv: privateKey };
}

/** Signs `headers` (+ body) like snapd's signer: SHA-512 (or SHA-256), one creation-time subpacket. */
function signed(
  headers: readonly string[],
  by: TestKey,
  opts: { body?: string; hash?: "sha256" | "sha512" } = {},
): Assertion {
  const lines = [...headers];
  if (opts.body !== undefined) lines.push(`body-length: ${Buffer.byteLength(opts.body)}`);
  lines.push(`sign-key-sha3-384: ${by.id}`);
  const content = Buffer.from(lines.join("\n") + (opts.body !== undefined ? `\n\n${opts.body}` : ""));
  const hash = opts.hash ?? "sha512";
  const hashed = Buffer.from([5, 2, 0x60, 0, 0, 0]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0, 1, hash === "sha512" ? 10 : 8, 0, hashed.length]), hashed]);
  const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashedPart.length]);
  const data = Buffer.concat([content, hashedPart, trailer]);
  const prefix = createHash(hash).update(data).digest().subarray(0, 2);
  const sig = sign(hash, data, { key: by.priv, padding: constants.RSA_PKCS1_PADDING });
  const pkt = Buffer.concat([hashedPart, Buffer.from([0, 0]), prefix, encodeMpi(sig)]);
  const block = Buffer.concat([Buffer.from([1]), newPacketHeader(2, pkt.length), pkt]);
  return parseAssertion(`${content}\n\n${encodeWrappedBase64(block)}\n`);
}

const T0 = "2020-01-01T00:00:00Z";
const SNAP_ID = "snapidsnapidsnapidsnapidsnapid01";
const DIGEST = sha3384Base64Url(Buffer.from("a snap"));

function accountKey(
  key: TestKey,
  account: string,
  name: string,
  by: TestKey,
  extra: readonly string[] = [],
): Assertion {
  return signed(
    [
      "type: account-key",
      "authority-id: root-org",
      ...extra.filter((l) => l.startsWith("revision:")),
      `public-key-sha3-384: ${key.id}`,
      `account-id: ${account}`,
      `name: ${name}`,
      `since: ${T0}`,
      ...extra.filter((l) => !l.startsWith("revision:")),
    ],
    by,
    { body: key.body },
  );
}

function account(id: string, by: TestKey, extra: readonly string[] = []): Assertion {
  return signed(
    [
      "type: account",
      "authority-id: root-org",
      `account-id: ${id}`,
      `display-name: ${id}`,
      `timestamp: ${T0}`,
      "validation: verified",
      ...extra,
    ],
    by,
  );
}

function declaration(by: TestKey, extra: readonly string[] = []): Assertion {
  return signed(
    [
      "type: snap-declaration",
      "authority-id: root-org",
      "series: 16",
      `snap-id: ${SNAP_ID}`,
      "publisher-id: pub",
      "snap-name: foo",
      "timestamp: 2024-01-01T00:00:00Z",
      ...extra,
    ],
    by,
  );
}

function snapRevision(
  by: TestKey,
  opts: { authority?: string; provenance?: string; rev?: number; ts?: string } = {},
): Assertion {
  return signed(
    [
      "type: snap-revision",
      `authority-id: ${opts.authority ?? "root-org"}`,
      `snap-sha3-384: ${DIGEST}`,
      ...(opts.provenance === undefined ? [] : [`provenance: ${opts.provenance}`]),
      "developer-id: pub",
      `snap-id: ${SNAP_ID}`,
      `snap-revision: ${opts.rev ?? 3}`,
      "snap-size: 4096",
      `timestamp: ${opts.ts ?? "2024-01-01T00:00:00Z"}`,
    ],
    by,
  );
}

describe("chain verification: generated keys", () => {
  const R = newKey();
  const S = newKey();
  const rootKey = accountKey(R, "root-org", "root", R);
  const rootAccount = account("root-org", R);
  const trust: TrustConfig = { roots: checkTrustedRoots([rootAccount, rootKey]) };
  const storeKey = accountKey(S, "root-org", "store", R, ["until: 2030-01-01T00:00:00Z"]);
  const pub = account("pub", S);
  const decl = declaration(S);
  const rev = snapRevision(S);
  const now = new Date("2025-01-01T00:00:00Z");

  it("verifies a store chain", () => {
    verifyAssertions([storeKey, pub, decl, rev], [], trust, now);
  });

  it("verifies a SHA-256 signature", () => {
    const headers = pub.content.toString().split("\n").slice(0, -1); // without sign-key-sha3-384
    const sha256 = signed(headers, S, { hash: "sha256" });
    assert.equal(sha256.raw.toString().split("\n\n")[0], pub.raw.toString().split("\n\n")[0]);
    verifyAssertions([storeKey, sha256], [], trust, now);
  });

  it("fails once the signing key has expired", () => {
    const msg = failure(() => verifyAssertions([storeKey, pub], [], trust, new Date("2030-01-01T00:00:00Z")));
    assert.match(
      msg,
      /^cannot verify account \(pub\): assertion is signed with expired public key "[^"]+" from "root-org": current time is 2030-01-01T00:00:00Z but key is valid since "2020-01-01T00:00:00Z" until "2030-01-01T00:00:00Z"/,
    );
  });

  it("fails when the timestamp is outside the key's validity", () => {
    const late = snapRevision(S, { ts: "2030-06-01T00:00:00Z" });
    const msg = failure(() => verifyAssertions([storeKey, pub, decl, late], [], trust, now));
    assert.match(msg, /snap-revision assertion timestamp "2030-06-01T00:00:00Z" outside of signing key validity/);
  });

  it("uses the highest revision of a key", () => {
    const expired = accountKey(S, "root-org", "store", R, ["revision: 1", "until: 2021-01-01T00:00:00Z"]);
    assert.equal(expired.revision, 1);
    const msg = failure(() => verifyAssertions([storeKey, expired, pub], [], trust, now));
    assert.match(msg, /cannot verify account \(pub\): assertion is signed with expired public key/);
    // and the other way round: a newer revision replaces an expired one
    const renewed = accountKey(S, "root-org", "store", R, ["revision: 2"]);
    verifyAssertions([renewed, pub], [expired], trust, now);
  });

  it("refuses two different assertions with the same revision", () => {
    const other = account("pub", S, ["username: other"]);
    const msg = failure(() => verifyAssertions([storeKey, pub, other], [], trust, now), "assertion-chain");
    assert.match(msg, /^cannot verify account \(pub\): conflicts with a different assertion of the same revision 0/);
  });

  it("refuses two keys with the same account and name", () => {
    const S2 = newKey();
    const dup = accountKey(S2, "root-org", "store", R);
    const msg = failure(() => verifyAssertions([storeKey, dup], [], trust, now));
    assert.match(msg, /account-key assertion for "root-org" with ID "[^"]+" has the same name "store" as existing ID/);
  });

  it("requires the authority to match the key's account", () => {
    const byWrongAccount = signed(
      [
        "type: account",
        "authority-id: pub",
        "account-id: x1",
        "display-name: x",
        `timestamp: ${T0}`,
        "validation: verified",
      ],
      S,
    );
    const msg = failure(() => verifyAssertions([storeKey, byWrongAccount], [], trust, now));
    assert.match(msg, /assertion authority "pub" does not match public key from "root-org"/);
  });

  it("does not trust a self-signed key that is not a root", () => {
    const X = newKey();
    const self = signed(
      [
        "type: account-key",
        "authority-id: root-org",
        `public-key-sha3-384: ${X.id}`,
        "account-id: root-org",
        "name: x",
        `since: ${T0}`,
      ],
      X,
      { body: X.body },
    );
    const msg = failure(() => verifyAssertions([self], [], trust, now));
    assert.match(msg, /^cannot verify account-key \([^)]+\): no matching public key/);
  });

  it("applies the declaration's revision-authority to other provenances", () => {
    const D = newKey();
    const delegateKey = signed(
      [
        "type: account-key",
        "authority-id: root-org",
        `public-key-sha3-384: ${D.id}`,
        "account-id: delegate",
        "name: d",
        `since: ${T0}`,
      ],
      R,
      { body: D.body },
    );
    const delegate = account("delegate", S);
    const declRA = declaration(S, [
      "revision: 1",
      "revision-authority:",
      "  -",
      "    account-id: delegate",
      "    max-revision: 5",
      "    provenance:",
      "      - my-prov",
    ]);
    const base = [storeKey, pub, delegate, delegateKey, declRA];
    verifyAssertions(
      [...base, snapRevision(D, { authority: "delegate", provenance: "my-prov", rev: 5 })],
      [],
      trust,
      now,
    );
    assert.match(
      failure(() =>
        verifyAssertions(
          [...base, snapRevision(D, { authority: "delegate", provenance: "my-prov", rev: 6 })],
          [],
          trust,
          now,
        ),
      ),
      /provenance "my-prov" for snap id "[^"]+" is not signed by an authorized authority: delegate/,
    );
    assert.match(
      failure(() =>
        verifyAssertions(
          [...base, snapRevision(D, { authority: "delegate", provenance: "other", rev: 1 })],
          [],
          trust,
          now,
        ),
      ),
      /not signed by an authorized authority/,
    );
    assert.match(
      failure(() => verifyAssertions([...base, snapRevision(D, { authority: "delegate" })], [], trust, now)),
      /snap-revision assertion for snap id "[^"]+" is not signed by a store: delegate/,
    );
  });

  it("checks store and validation-set consistency", () => {
    const store = signed(
      [
        "type: store",
        "authority-id: root-org",
        "store: mystore",
        "operator-id: pub",
        `timestamp: ${T0}`,
        "url: https://example.com",
      ],
      S,
    );
    verifyAssertions([storeKey, pub, store], [], trust, now);
    assert.match(
      failure(() => verifyAssertions([storeKey, store], [], trust, now)),
      /^cannot verify store \(mystore\): store assertion "mystore" does not have a matching account assertion for the operator "pub"/,
    );
    const B = newKey();
    const brandKey = signed(
      [
        "type: account-key",
        "authority-id: root-org",
        `public-key-sha3-384: ${B.id}`,
        "account-id: pub",
        "name: brand",
        `since: ${T0}`,
      ],
      R,
      { body: B.body },
    );
    const set = signed(
      [
        "type: validation-set",
        "authority-id: pub",
        "series: 16",
        "account-id: pub",
        "name: my-set",
        "sequence: 2",
        "snaps:",
        "  -",
        `    id: ${SNAP_ID}`,
        "    name: foo",
        "    revision: 3",
        `timestamp: ${T0}`,
      ],
      B,
    );
    verifyAssertions([set], [storeKey, pub, brandKey], trust, now);
    assert.match(
      failure(() => verifyAssertions([set, brandKey], [storeKey], trust, now)),
      /^cannot verify account-key \([^)]+\): account-key assertion for "pub" does not have a matching account assertion \(needed by validation-set \(16\/pub\/my-set\/2\)\)/,
    );
  });
});

describe("components: snap-resource-revision and snap-resource-pair (snapd 2.68.3)", () => {
  const R = newKey();
  const S = newKey();
  const rootKey = accountKey(R, "root-org", "root", R);
  const trust: TrustConfig = { roots: checkTrustedRoots([account("root-org", R), rootKey]) };
  const storeKey = accountKey(S, "root-org", "store", R);
  const pub = account("pub", S);
  const decl = declaration(S);
  const now = new Date("2025-01-01T00:00:00Z");
  const BLOB = Buffer.from("a component");
  const HEX = createHash("sha3-384").update(BLOB).digest("hex");
  const resRev = (size = BLOB.length, name = "extra"): Assertion =>
    signed(
      [
        "type: snap-resource-revision",
        "authority-id: root-org",
        `snap-id: ${SNAP_ID}`,
        `resource-name: ${name}`,
        `resource-sha3-384: ${sha3384Base64Url(BLOB)}`,
        "developer-id: pub",
        "resource-revision: 2",
        `resource-size: ${size}`,
        `timestamp: ${T0}`,
      ],
      S,
    );
  const pair = (developer = "pub", snapRev = 3): Assertion =>
    signed(
      [
        "type: snap-resource-pair",
        "authority-id: root-org",
        `snap-id: ${SNAP_ID}`,
        "resource-name: extra",
        "resource-revision: 2",
        `snap-revision: ${snapRev}`,
        `developer-id: ${developer}`,
        `timestamp: ${T0}`,
      ],
      S,
    );
  const yaml = (ref = "foo+extra"): string =>
    `component: ${ref}\ntype: standard\nversion: '1.1'\ndescription: Extra bits.\n`;
  const held = [{ snapId: SNAP_ID, revision: 3 }] as unknown as RevisionRecord[];

  it("verifies both types, and a pair needs its developer's account as in snapd", () => {
    verifyAssertions([storeKey, pub, decl, resRev(), pair()], [], trust, now);
    assert.match(
      failure(() => verifyAssertions([storeKey, pub, decl, pair("dev2")], [], trust, now)),
      /snap-resource-pair assertion for snap id "[^"]+" does not have a matching account assertion for the developer "dev2"/,
    );
  });

  it("checks a component blob against them: digest, size, resource-name, snap name, pairing", () => {
    const all = [decl, resRev(), pair()];
    const rec = checkComponent("x.comp", { sha3_384: HEX, size: BLOB.length }, yaml(), all, held);
    assert.deepEqual(
      [rec.name, rec.component, rec.revision, rec.type, rec.version, rec.description],
      ["foo", "extra", 2, "standard", "1.1", "Extra bits."],
    );
    const refusal = (fn: () => unknown): string => failure(() => void fn());
    assert.equal(
      refusal(() =>
        checkComponent("x.comp", { sha3_384: HEX, size: BLOB.length }, yaml(), [decl, resRev(99), pair()], held),
      ),
      "cannot import x.comp: size 11 does not match snap-resource-revision resource-size 99",
    );
    assert.match(
      refusal(() => checkComponent("x.comp", { sha3_384: "ab".repeat(48), size: 11 }, yaml(), all, held)),
      /^cannot import x\.comp: no snap-resource-revision assertion for resource-sha3-384 /,
    );
    assert.equal(
      refusal(() => checkComponent("x.comp", { sha3_384: HEX, size: 11 }, yaml("foo+other"), all, held)),
      `cannot import x.comp: snap-resource-revision resource-name "extra" does not match component.yaml's component "other"`,
    );
    assert.equal(
      refusal(() => checkComponent("x.comp", { sha3_384: HEX, size: 11 }, yaml("bar+extra"), all, held)),
      `cannot import x.comp: snap-declaration of ${SNAP_ID} names "foo" but component.yaml says "bar"`,
    );
    assert.equal(
      refusal(() =>
        checkComponent("x.comp", { sha3_384: HEX, size: 11 }, yaml(), [decl, resRev(), pair("pub", 4)], held),
      ),
      "cannot import x.comp: no snap-resource-pair assertion pairs foo+extra revision 2 with a revision of foo the store holds",
    );
    assert.match(
      refusal(() =>
        checkComponent("x.comp", { sha3_384: HEX, size: 11 }, "component: foo+\ntype: standard\n", all, held),
      ),
      /^cannot parse component\.yaml of x\.comp: component name cannot be empty$/,
    );
    assert.match(
      refusal(() =>
        checkComponent("x.comp", { sha3_384: HEX, size: 11 }, "component: foo+extra\ntype: fancy\n", all, held),
      ),
      /^cannot parse component\.yaml of x\.comp: unknown component type "fancy"$/,
    );
  });
});
