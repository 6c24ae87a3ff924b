/**
 * snap.yaml as snapd refuses it: YAML limits (depth, aliasing, duplicate keys),
 * types of known fields, and snap.Validate's names and lengths. Each reason
 * is snapd's wording.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseDocument } from "yaml";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { snapYamlProblem } from "../../src/snapfile/validate.js";
import { aliasProblem, allowedAliasRatio, MAX_YAML_DEPTH, yamlDepth } from "../../src/snapfile/yaml-limits.js";

const HEAD = "name: hello\nversion: '1.0'\n";

function refused(text: string, reason: RegExp): void {
  assert.throws(
    () => parseSnapYaml(text, "x.snap"),
    (err: Error) => {
      assert.match(err.message, /^cannot parse snap\.yaml of x\.snap: /);
      assert.match(err.message, reason);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    },
  );
}

/** A billion-laughs document: `levels` anchors each aliasing the previous one ten times. */
function bomb(levels: number): string {
  const lines = [HEAD, "plugs:", "  x:", "    l0: &l0 [a, a, a, a, a, a, a, a, a, a]"];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `    l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(", ")}]`,
    );
  return lines.join("\n") + "\n";
}

describe("YAML limits", () => {
  test("depth is measured without recursion, for flow and block nesting", () => {
    assert.equal(yamlDepth("a: b\n"), 1);
    assert.equal(yamlDepth("a: [[[x]]]\n"), 4);
    assert.equal(yamlDepth("a:\n  - - - x\n"), 4);
    assert.ok(yamlDepth(`a: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`) >= 50_000);
  });

  test("deep nesting is refused before the parser recurses (go-yaml: exceeded max depth)", () => {
    refused(`${HEAD}x: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`, /exceeded max depth of 256/);
    refused(`${HEAD}x:\n  ${"- ".repeat(300)}x\n`, /exceeded max depth of 256/);
    assert.doesNotThrow(() => parseSnapYaml(`${HEAD}x: ${"[".repeat(100)}${"]".repeat(100)}\n`, "x.snap"));
  });

  test("go-yaml's alias ratio", () => {
    assert.equal(allowedAliasRatio(1000), 0.99);
    assert.equal(allowedAliasRatio(4_000_000), 0.1);
    assert.ok(Math.abs(allowedAliasRatio(2_200_000) - 0.545) < 1e-9);
  });

  test("an alias bomb is refused early, a few aliases are fine", () => {
    const t0 = process.hrtime.bigint();
    refused(bomb(9), /: document contains excessive aliasing$/);
    // bounded work: the count stops where go-yaml stops (10^10 nodes were it expanded)
    assert.ok(process.hrtime.bigint() - t0 < 10_000_000_000n);
    assert.equal(aliasProblem(parseDocument(bomb(1), { version: "1.1" })), undefined);
    assert.doesNotThrow(() => parseSnapYaml(bomb(2), "x.snap"));
  });

  test("an alias inside its own anchor is refused", () => {
    refused(`${HEAD}x: &a [b, *a]\n`, /: anchor 'a' value contains itself$/);
  });

  test("duplicate keys are refused (go-yaml would keep the last one silently)", () => {
    refused("name: hello\nname: other\nversion: '1'\n", /map keys must be unique/);
    refused(`${HEAD}apps:\n  a: {command: x}\n  a: {command: y}\n`, /map keys must be unique/);
  });

  test("the depth limit is far above real snap.yaml files", () => {
    assert.ok(MAX_YAML_DEPTH >= 64);
  });
});

describe("types of known fields (go-yaml decoding into snapd's structs)", () => {
  const cases: Array<[string, RegExp]> = [
    ["name: [a, b]\nversion: '1'\n", /name must be a string|name: cannot unmarshal !!seq into string/],
    [`${HEAD}summary: {a: b}\n`, /summary: cannot unmarshal !!map into string$/],
    [`${HEAD}assumes: snapd2.50\n`, /assumes: cannot unmarshal !!str `snapd2\.50` into \[\]string$/],
    [`${HEAD}apps: [a]\n`, /apps must be a mapping|apps: cannot unmarshal !!seq/],
    [`${HEAD}apps:\n  a: command\n`, /apps\.a: cannot unmarshal !!str `command` into snap\.appYaml$/],
    [`${HEAD}apps:\n  a:\n    command: [x]\n`, /apps\.a\.command: cannot unmarshal !!seq into string$/],
    [`${HEAD}apps:\n  a:\n    plugs: network\n`, /apps\.a\.plugs: cannot unmarshal !!str `network` into \[\]string$/],
    [`${HEAD}hooks:\n  install: [x]\n`, /hooks\.install: cannot unmarshal !!seq into snap\.hookYaml$/],
    [`${HEAD}environment: [a]\n`, /environment: cannot unmarshal !!seq into strutil\.OrderedMap$/],
    [`${HEAD}plugs:\n  p: [a]\n`, /plug "p" has malformed definition \(found \[\]interface \{\}\)$/],
    [`${HEAD}plugs:\n  p: 5\n`, /plug "p" has malformed definition \(found int\)$/],
    [`${HEAD}slots:\n  s: {interface: [a]}\n`, /interface name on slot "s" is not a string/],
    [`${HEAD}plugs:\n  p: {$x: 1}\n`, /plug "p" uses reserved attribute "\$x"$/],
    [`${HEAD}layouts: {}\n`, /typo detected: use singular "layout" instead of plural "layouts"$/],
  ];
  for (const [text, reason] of cases) {
    test(reason.source, () => refused(text, reason));
  }
});

describe("snap.Validate", () => {
  const cases: Array<[string, RegExp]> = [
    ["name: Hello\nversion: '1'\n", /invalid snap name: "Hello"$/],
    ["name: a\nversion: '1'\n", /invalid snap name: "a"$/],
    ["name: hello\nversion: '-1'\n", /invalid snap version/],
    ["name: hello\nversion: '1'\nepoch: 1**\n", /invalid epoch/],
    [`${HEAD}provenance: global-upload\n`, /provenance cannot be set to default \(global-upload\) explicitly$/],
    [`${HEAD}provenance: "bad_one"\n`, /invalid provenance: "bad_one"$/],
    [`${HEAD}title: ${"é".repeat(41)}\n`, /title can have up to 40 codepoints, got 41$/],
    [`${HEAD}description: ${"d".repeat(4097)}\n`, /description can have up to 4096 codepoints, got 4097$/],
    [
      `${HEAD}apps:\n  bad_app: {command: x}\n`,
      /invalid definition of application "bad_app": cannot have "bad_app" as app name/,
    ],
    [`${HEAD}apps:\n  a: {command: "rm -rf; x"}\n`, /app description field 'command' contains illegal "rm -rf; x"/],
    [`${HEAD}apps:\n  a: {daemon: sometimes}\n`, /"daemon" field contains invalid value "sometimes"$/],
    [`${HEAD}apps:\n  a: {daemon-scope: user}\n`, /"daemon-scope" can only be set for daemons$/],
    [`${HEAD}apps:\n  a: {aliases: [x]}\n  b: {aliases: [x]}\n`, /cannot set "x" as alias for both "a" and "b"$/],
    [`${HEAD}apps:\n  a: {aliases: ["-x"]}\n`, /cannot have "-x" as alias name for app "a"/],
    [`${HEAD}hooks:\n  Install: {}\n`, /invalid hook name: "Install"$/],
    [
      `${HEAD}apps:\n  a: {command: x, after: [b]}\n  b: {command: y, daemon: simple}\n`,
      /"a": must be a service to define before\/after ordering$/,
    ],
    [`${HEAD}apps:\n  a: {daemon: simple, after: [c]}\n`, /before\/after references a missing application "c"$/],
    [
      `${HEAD}apps:\n  a: {daemon: simple, after: [b]}\n  b: {command: y}\n`,
      /before\/after references a non-service application "b"$/,
    ],
    [
      `${HEAD}apps:\n  a: {daemon: simple, after: [b]}\n  b: {daemon: simple, daemon-scope: user}\n`,
      /before\/after references service with different daemon-scope "b"$/,
    ],
    [
      `${HEAD}apps:\n  a: {daemon: simple, after: [b]}\n  b: {daemon: simple, after: [a]}\n  c: {daemon: simple, before: [a]}\n`,
      /applications are part of a before\/after cycle: a, b$/,
    ],
    [`${HEAD}plugs:\n  Net: network\n`, /invalid plug name: "Net"$/],
    [`${HEAD}slots:\n  s: Bad-Iface\n`, /invalid interface name "Bad-Iface" for slot "s"$/],
    [`${HEAD}apps:\n  a: {plugs: [net_work]}\n`, /invalid plug name: "net_work"$/],
    [`${HEAD}plugs:\n  x: network\nslots:\n  x: network\n`, /cannot have plug and slot with the same name: "x"$/],
    [`${HEAD}base: Core22\n`, /invalid base name: invalid snap name: "Core22"$/],
    [`${HEAD}base: core_1\n`, /base cannot specify a snap instance name: "core_1"$/],
    [`${HEAD}type: base\nbase: core22\n`, /cannot have "base" field on "base" snap "hello"$/],
    [`${HEAD}base: none\napps:\n  a: {command: x}\n`, /cannot have apps or hooks with base "none"$/],
  ];
  for (const [text, reason] of cases) test(reason.source, () => refused(text, reason));

  test("a snap.yaml like snapcraft writes passes", () => {
    const text = `${HEAD}summary: s\ndescription: d\nbase: core22\ngrade: stable\nconfinement: strict
apps:
  hello:
    command: bin/hello --flag
    command-chain: [snap/command-chain/desktop-launch]
    plugs: [network, home]
    aliases: [hi]
  svc:
    command: bin/svc
    daemon: simple
    after: [db]
  db:
    command: bin/db
    daemon: forking
    before: [svc]
    stop-mode: sigterm
    install-mode: disable
hooks:
  configure:
    plugs: [network]
plugs:
  gtk-3-themes: {interface: content, target: $SNAP/share/themes, default-provider: gtk-common-themes}
slots:
  dbus-svc: {interface: dbus, bus: session, name: org.example.Hello}
layout:
  /usr/share/hello: {bind: $SNAP/usr/share/hello}
`;
    assert.equal(parseSnapYaml(text, "x.snap").name, "hello");
    assert.equal(snapYamlProblem(parseDocument(text).toJS()), undefined);
  });
});
