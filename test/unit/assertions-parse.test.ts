import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  assertionPath,
  decodeStream,
  fullPrimaryKey,
  type HeaderValue,
  headerString,
  isKnownType,
  joinStream,
  parseAssertion,
  reducePrimaryKey,
  sequenceKey,
} from "../../src/assertions/index.js";
import { SnapshelfError } from "../../src/util/errors.js";

const FIXTURES = new URL("../../../test/fixtures/assertions/", import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const KEY_ID = "XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y";
const DIGEST = "hrp7J_k9xsevqrz5HHrl5N2KuLz3jNt-FXXqn-fC7-LnXYTt-d8AL3Jh_ALWEW5v";
/** base64 of the single byte 0x01: a syntactically acceptable signature block for parse-only tests. */
const SIG = "AQ==";

/** A minimal `model` assertion with extra header lines (parse only; the signature is a placeholder). */
function model(extra: string, opts: { body?: string; sig?: string } = {}): string {
  const body = opts.body;
  const lines = [
    "type: model",
    "authority-id: brand",
    "series: 16",
    "brand-id: brand",
    "model: box",
    "timestamp: 2024-01-01T00:00:00Z",
  ];
  if (extra !== "") lines.push(extra);
  if (body !== undefined) lines.push(`body-length: ${Buffer.byteLength(body)}`);
  lines.push(`sign-key-sha3-384: ${KEY_ID}`);
  const content = lines.join("\n") + (body !== undefined ? `\n\n${body}` : "");
  return `${content}\n\n${opts.sig ?? SIG}\n`;
}

function parseError(input: string | Buffer, source?: string): string {
  try {
    parseAssertion(input, source);
  } catch (err) {
    assert.ok(err instanceof SnapshelfError, `unexpected error ${String(err)}`);
    assert.equal(err.code, "assertion-parse");
    return err.message;
  }
  assert.fail("parse unexpectedly succeeded");
}

function streamError(input: Buffer): string {
  try {
    decodeStream(input, "s.assert");
  } catch (err) {
    assert.ok(err instanceof SnapshelfError, `unexpected error ${String(err)}`);
    return err.message;
  }
  assert.fail("decode unexpectedly succeeded");
}

const h = (extra: string, name: string): HeaderValue | undefined => parseAssertion(model(extra)).headers[name];

describe("parseAssertion: fixtures", () => {
  it("parses a snap-revision and keeps its exact bytes", () => {
    const raw = fixture("snapd_1.snap-revision");
    const a = parseAssertion(raw, "snapd_1.snap-revision");
    assert.equal(a.type, "snap-revision");
    assert.deepEqual(a.primaryKey, [DIGEST, "global-upload"]);
    assert.equal(a.authorityId, "testrootorg");
    assert.equal(a.signKeyId, KEY_ID);
    assert.equal(a.revision, 0);
    assert.equal(a.format, 0);
    assert.ok(a.raw.equals(raw));
    assert.equal(a.body.length, 0);
    assert.equal(headerString(a, "snap-size"), "20480");
    assert.equal(a.signature[0], 0x01);
    // the content is everything before the "\n\n" that precedes the signature
    assert.ok(raw.subarray(0, a.content.length).equals(a.content));
    assert.equal(raw.subarray(a.content.length, a.content.length + 2).toString(), "\n\n");
    assert.ok(a.content.toString().endsWith(`sign-key-sha3-384: ${KEY_ID}`));
  });

  it("parses an account-key with a body", () => {
    const a = parseAssertion(fixture("test-store.account-key"));
    assert.equal(a.body.length, 717);
    assert.ok(a.content.toString().endsWith(a.body.toString()));
    assert.deepEqual(a.primaryKey, [KEY_ID]);
  });

  it("parses a validation-set's list of maps", () => {
    const a = parseAssertion(fixture("offline-set-2.validation-set"));
    assert.deepEqual(a.primaryKey, ["16", "testrootorg", "offline-set", "2"]);
    const snaps = a.headers["snaps"];
    assert.ok(Array.isArray(snaps));
    assert.deepEqual(JSON.parse(JSON.stringify(snaps)), [
      { id: "ksxl2QbDCNufFiuNIw8C8HVxo7kux1ux", name: "hello-offline", presence: "optional" },
      { id: "OsebSvS3U7euS8nlmidsrTjORbezV4jZ", name: "tool-a", presence: "optional" },
    ]);
    assert.equal(headerString(a, "snaps"), undefined);
  });

  it("fills the optional provenance default", () => {
    const text = fixture("snapd_1.snap-revision").toString().replace("provenance: global-upload\n", "");
    const a = parseAssertion(text);
    assert.deepEqual(a.primaryKey, [DIGEST, "global-upload"]);
    assert.equal(headerString(a, "provenance"), "global-upload");
  });

  it("adds a missing final newline to raw and tolerates one extra", () => {
    const raw = fixture("publisher.account");
    assert.ok(parseAssertion(raw.subarray(0, -1)).raw.equals(raw));
    assert.ok(parseAssertion(Buffer.concat([raw, Buffer.from("\n")])).raw.equals(raw));
  });
});

describe("parseAssertion: header grammar", () => {
  it("reads simple strings verbatim, including spaces and the empty string", () => {
    assert.equal(h("display-name:  two  spaces ", "display-name"), " two  spaces ");
    assert.equal(h("empty: ", "empty"), "");
    assert.equal(h("colon: a: b", "colon"), "a: b");
  });

  it("reads multi-line strings, blank lines being lines of spaces", () => {
    assert.equal(h("description:\n    first line\n    \n      indented", "description"), "first line\n\n  indented");
  });

  it("reads lists of scalars", () => {
    assert.deepEqual(h("refresh-control:\n  - a\n  - b c\n  - ", "refresh-control"), ["a", "b c", ""]);
  });

  it("reads maps, nested maps and lists of maps", () => {
    const plugs = h("plugs:\n  content:\n    allow-auto-connection: true\n    x: y\n  network: z", "plugs");
    assert.deepEqual(JSON.parse(JSON.stringify(plugs)), {
      content: { "allow-auto-connection": "true", x: "y" },
      network: "z",
    });
    const snaps = h("snaps:\n  -\n    id: a\n    names:\n      - n1\n      - n2\n  -\n    id: b", "snaps");
    assert.deepEqual(JSON.parse(JSON.stringify(snaps)), [{ id: "a", names: ["n1", "n2"] }, { id: "b" }]);
  });

  it("reads nested lists and multi-line strings inside lists and maps", () => {
    assert.deepEqual(h("l:\n  -\n    - x\n    - y\n  - z", "l"), [["x", "y"], "z"]);
    assert.deepEqual(h("l:\n  -\n      line 1\n      line 2", "l"), ["line 1\nline 2"]);
    const m = h("m:\n  k:\n      a\n      b", "m");
    assert.deepEqual(JSON.parse(JSON.stringify(m)), { k: "a\nb" });
  });

  it("keeps map keys like 'constructor' as plain data", () => {
    const m = h("m:\n  constructor: x", "m") as { readonly [k: string]: HeaderValue };
    assert.equal(m["constructor"], "x");
    assert.equal(h("", "constructor"), undefined);
  });

  it("rejects repeated headers and map entries", () => {
    assert.match(parseError(model("x: 1\nx: 2")), /repeated header: "x"/);
    assert.match(parseError(model("type: model")), /repeated header: "type"/);
    assert.match(parseError(model("m:\n  a: 1\n  a: 2")), /repeated map entry: "a"/);
  });

  it("rejects invalid header names and map keys", () => {
    for (const bad of ["Upper: x", "1abc: x", "a--b: x", "a-: x", "a_b: x", ": x"]) {
      assert.match(parseError(model(bad)), /invalid header name/, bad);
    }
    assert.match(parseError(model("m:\n  Bad: x")), /invalid map entry key: "Bad"/);
  });

  it("rejects entries without separator or space", () => {
    assert.match(parseError(model("novalue")), /header entry missing ':' separator: "novalue"/);
    assert.match(parseError(model("name:value")), /should have a space or newline/);
    assert.match(parseError(model("m:\n  novalue")), /map entry missing ':' separator/);
    assert.match(parseError(model("l:\n  -x")), /should have a space or newline/);
  });

  it("rejects a multi-line introduction without indented lines", () => {
    assert.match(
      parseError(model("d:\n   three")),
      /expected 4 chars nesting prefix after multiline introduction "d:"/,
    );
  });

  it("names the source and the type in errors", () => {
    assert.equal(
      parseError("type: model\nbroken\n\nAQ==\n", "hello.assert"),
      `cannot parse assertion in hello.assert: header entry missing ':' separator: "broken"`,
    );
    assert.equal(
      parseError(`type: x\nauthority-id: a\nsign-key-sha3-384: ${KEY_ID}\n\nAQ==\n`),
      `cannot parse assertion: unknown type "x"`,
    );
    assert.match(
      parseError(model("").replace("brand-id: brand\n", ""), "m.assert"),
      /^cannot parse model assertion in m\.assert: "brand-id" header is mandatory$/,
    );
  });
});

describe("parseAssertion: meta headers and values", () => {
  it("parses revision and format", () => {
    const a = parseAssertion(model("revision: 12\nformat: 3"));
    assert.equal(a.revision, 12);
    assert.equal(a.format, 3);
  });

  it("rejects malformed integers", () => {
    assert.match(parseError(model("revision: 007")), /"revision" header has invalid prefix zeros: 007/);
    assert.match(parseError(model("revision: +1")), /"revision" header is not an integer/);
    assert.match(parseError(model("revision: -1")), /"revision" header is not an integer/);
    assert.match(parseError(model("format: x")), /"format" header is not an integer/);
    assert.match(parseError(model("format:\n  - 1")), /"format" header is not an integer/);
    assert.match(parseError(model("revision: 99999999999999999999")), /out of range/);
  });

  it("checks primary keys", () => {
    assert.match(
      parseError(model("").replace("model: box", "model: a/b")),
      /"model" primary key header cannot contain '\/'/,
    );
    assert.match(parseError(model("").replace("model: box", "model: ")), /"model" header should not be empty/);
  });

  it("checks the signing key digest and times", () => {
    assert.match(
      parseError(model("").replace(KEY_ID, "abc")),
      /"sign-key-sha3-384" header does not have the expected bit length/,
    );
    assert.match(parseError(model("").replace(KEY_ID, `${KEY_ID.slice(0, 63)}!`)), /cannot be decoded/);
    assert.match(parseError(model("").replace("2024-01-01T00:00:00Z", "2024-13-01T00:00:00Z")), /not a RFC3339 date/);
    assert.match(parseError(model("").replace("2024-01-01T00:00:00Z", "2024-01-01 00:00:00Z")), /not a RFC3339 date/);
    parseAssertion(model("").replace("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456789+02:00"));
  });

  it("checks the signature block", () => {
    assert.match(parseError(model("", { sig: "AQ=!" })), /cannot decode signature: illegal base64 data/);
    assert.match(parseError(model("", { sig: "Ag==" })), /unsupported signature format version: 2/);
    assert.match(parseError(model("", { sig: "AQ" })), /illegal base64 data/);
    assert.match(parseError(model("").replace(`${SIG}\n`, "")), /separator not found|empty assertion signature/);
  });

  it("checks type-specific headers", () => {
    const rev = fixture("snapd_1.snap-revision").toString();
    assert.match(parseError(rev.replace("snap-size: 20480\n", "")), /"snap-size" header is mandatory/);
    assert.match(
      parseError(rev.replace("snap-revision: 1\n", "snap-revision: 0\n")),
      /"snap-revision" header must be >=1: 0/,
    );
    assert.match(
      parseError(rev.replace("provenance: global-upload", "provenance: -bad")),
      /"provenance" header contains invalid characters/,
    );
    const vs = fixture("offline-set-1.validation-set").toString();
    assert.match(
      parseError(vs.replace("account-id: testrootorg", "account-id: other")),
      /authority-id and account-id must match/,
    );
    assert.match(parseError(vs.replace("presence: optional", "presence: maybe")), /presence of snap "hello-offline"/);
  });

  it("checks that an account-key's id matches its body", () => {
    const key = fixture("test-store.account-key").toString();
    const other = fixture("test-root.account-key").toString();
    const swapped = key.replace(
      key.split("\n\n")[1]!, // the body
      other.split("\n\n")[1]!,
    );
    assert.match(parseError(swapped), /public key does not match provided key id/);
  });
});

describe("parseAssertion: body-length", () => {
  it("reads a body, which may contain empty lines", () => {
    const a = parseAssertion(model("", { body: "line\n\nafter blank" }));
    assert.equal(a.body.toString(), "line\n\nafter blank");
  });

  it("rejects a body-length that does not match", () => {
    const text = model("", { body: "abc" }).replace("body-length: 3", "body-length: 4");
    assert.match(parseError(text), /body length and declared body-length don't match: 3 != 4/);
    assert.match(parseError(model("", { body: "abc" }).replace("body-length: 3\n", "")), /don't match: 3 != 0/);
  });

  it("rejects a body over 2 MiB", () => {
    assert.match(parseError(model("", { body: "x".repeat(2 * 1024 * 1024 + 1) })), /exceeds maximum body size/);
  });

  it("rejects headers over 128 KiB", () => {
    assert.match(parseError(model(`big: ${"x".repeat(128 * 1024)}`)), /headers exceed maximum size/);
  });

  it("rejects non-UTF-8 headers", () => {
    const bad = Buffer.concat([Buffer.from("type: model\nx: "), Buffer.from([0xff]), Buffer.from("\n\nAQ==\n")]);
    assert.match(parseError(bad), /header is not utf8/);
  });
});

describe("streams", () => {
  const names = [
    "testrootorg.account",
    "test-root.account-key",
    "test-store.account-key",
    "publisher.account",
    "snapd.snap-declaration",
    "snapd_1.snap-revision",
  ];
  const raws = names.map(fixture);

  it("decodes and re-joins to the exact bytes", () => {
    const stream = joinStream(raws);
    assert.equal(stream.toString(), `${raws.map((r) => r.toString()).join("\n")}`);
    const decoded = decodeStream(stream, "s.assert");
    assert.deepEqual(
      decoded.map((a) => a.type),
      ["account", "account-key", "account-key", "account", "snap-declaration", "snap-revision"],
    );
    decoded.forEach((a, i) => {
      assert.ok(a.raw.equals(raws[i]!), names[i]);
    });
    assert.ok(joinStream(decoded.map((a) => a.raw)).equals(stream));
  });

  it("uses body-length: a body may contain an empty line", () => {
    const withBody = Buffer.from(model("", { body: "a\n\nb" }));
    const decoded = decodeStream(joinStream([withBody, raws[0]!]));
    assert.equal(decoded.length, 2);
    assert.equal(decoded[0]!.body.toString(), "a\n\nb");
    assert.ok(decoded[0]!.raw.equals(withBody));
  });

  it("accepts one extra final newline and a missing one", () => {
    const stream = joinStream(raws.slice(0, 2));
    assert.equal(decodeStream(Buffer.concat([stream, Buffer.from("\n")])).length, 2);
    const cut = decodeStream(stream.subarray(0, -1));
    assert.ok(cut[1]!.raw.equals(raws[1]!));
    assert.deepEqual(decodeStream(Buffer.alloc(0)), []);
  });

  it("rejects an extra blank line between assertions", () => {
    const bad = Buffer.concat([raws[0]!, Buffer.from("\n\n"), raws[1]!]);
    assert.match(streamError(bad), /^cannot parse assertion #2 in s\.assert: header entry missing ':' separator: ""/);
  });

  it("rejects a blank line before the first assertion and two extra final newlines", () => {
    assert.match(streamError(Buffer.concat([Buffer.from("\n"), raws[0]!])), /header entry missing ':' separator: ""/);
    assert.match(streamError(Buffer.concat([raws[0]!, Buffer.from("\n\n")])), /unexpected EOF/);
  });

  it("rejects a truncated body and a body without separator", () => {
    const key = raws[2]!;
    assert.match(streamError(key.subarray(0, 600)), /unexpected EOF/);
    const contentLength = parseAssertion(key).content.length;
    // drop one of the two newlines between body and signature
    const noSep = Buffer.concat([key.subarray(0, contentLength + 1), key.subarray(contentLength + 2)]);
    assert.match(streamError(noSep), /missing content\/signature separator/);
  });

  it("joinStream adds missing final newlines and refuses trailing blank lines", () => {
    const a = raws[0]!.subarray(0, -1);
    assert.equal(joinStream([a, a]).toString(), `${a}\n\n${a}\n`);
    assert.throws(() => joinStream([Buffer.concat([raws[0]!, Buffer.from("\n")])]), /empty line/);
  });
});

describe("types: primary keys and paths", () => {
  it("knows the types", () => {
    for (const t of [
      "account",
      "account-key",
      "snap-declaration",
      "snap-revision",
      "store",
      "validation-set",
      "model",
    ]) {
      assert.ok(isKnownType(t), t);
    }
    assert.ok(!isKnownType("authority-delegation"));
    assert.ok(!isKnownType("nope"));
  });

  it("reduces optional keys equal to their default", () => {
    assert.deepEqual(reducePrimaryKey("snap-revision", [DIGEST, "global-upload"]), [DIGEST]);
    assert.deepEqual(reducePrimaryKey("snap-revision", [DIGEST, "other"]), [DIGEST, "other"]);
    assert.deepEqual(reducePrimaryKey("account", ["acc"]), ["acc"]);
    assert.deepEqual(reducePrimaryKey("snap-resource-pair", ["id", "res", "1", "2", "global-upload"]), [
      "id",
      "res",
      "1",
      "2",
    ]);
    assert.throws(() => reducePrimaryKey("snap-revision", [DIGEST]), /wrong length/);
  });

  it("builds store paths", () => {
    assert.equal(assertionPath("snap-revision", [DIGEST, "global-upload"]), `snap-revision/${DIGEST}`);
    assert.equal(assertionPath("snap-revision", [DIGEST, "my-prov"]), `snap-revision/${DIGEST}/my-prov`);
    assert.equal(assertionPath("validation-set", ["16", "acc", "name", "3"]), "validation-set/16/acc/name/3");
    assert.equal(assertionPath("snap-declaration", ["16", "abc"]), "snap-declaration/16/abc");
    const vs = parseAssertion(fixture("offline-set-1.validation-set"));
    assert.equal(assertionPath(vs.type, vs.primaryKey), "validation-set/16/testrootorg/offline-set/1");
  });

  it("completes reduced keys and computes sequence keys", () => {
    assert.deepEqual(fullPrimaryKey("snap-revision", [DIGEST]), [DIGEST, "global-upload"]);
    assert.deepEqual(fullPrimaryKey("snap-revision", [DIGEST, "p"]), [DIGEST, "p"]);
    assert.equal(fullPrimaryKey("snap-revision", []), undefined);
    assert.equal(fullPrimaryKey("account", ["a", "b"]), undefined);
    assert.equal(fullPrimaryKey("nope", ["a"]), undefined);
    assert.deepEqual(sequenceKey("validation-set", ["16", "acc", "name", "3"]), ["16", "acc", "name"]);
    assert.throws(() => sequenceKey("account", ["a"]), /do not form sequences/);
  });
});
