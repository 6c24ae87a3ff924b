import assert from "node:assert/strict";
import { chmod, copyFile, readdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readSnapInfo, readSnapYaml } from "../../src/snapfile/read.js";
import { isValidSnapName, parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { repoRoot, tmpWorkDir } from "../support/work-dir.js";

const SRC = "fixture.snap";

function parseError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseSnapYaml(text, SRC),
    (err: unknown) => {
      assert.ok(err instanceof SnapshelfError);
      assert.equal(err.code, "invalid-snap-yaml");
      assert.match(err.message, /^cannot parse snap\.yaml of fixture\.snap: /);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes("\n"), "one-line message");
      return true;
    },
  );
}

describe("parseSnapYaml", () => {
  it("applies snapd's defaults to a minimal snap.yaml", () => {
    assert.deepEqual(parseSnapYaml("name: hello\nversion: '1.0'\n", SRC), {
      name: "hello",
      version: "1.0",
      summary: "",
      description: "",
      type: "app",
      confinement: "strict",
      grade: "stable",
      architectures: ["all"],
      epoch: { read: [0], write: [0] },
      apps: [],
      defaultProviders: [],
    });
  });

  it("reads a full snap.yaml and ignores unknown keys", () => {
    const text = [
      "name: tool-a",
      "version: 2.1+git3",
      "summary: A tool",
      "description: |",
      "  Line one.",
      "  Line two.",
      "title: Tool A",
      "license: GPL-3.0",
      "provenance: custom-prov",
      "type: app",
      "base: core22",
      "confinement: classic",
      "grade: devel",
      "architectures: [amd64, arm64]",
      "epoch: 2*",
      "assumes: [snapd2.55]",
      "apps:",
      "  zeta: {command: bin/z}",
      "  alpha:",
      "    command: bin/a",
      "    plugs: [network, data]",
      "plugs:",
      "  data:",
      "    interface: content",
      "    content: tool-data",
      "    target: $SNAP/data",
      "    default-provider: tool-data",
      "hooks: {configure: {}}",
      "",
    ].join("\n");
    assert.deepEqual(parseSnapYaml(text, SRC), {
      name: "tool-a",
      version: "2.1+git3",
      summary: "A tool",
      description: "Line one.\nLine two.\n",
      type: "app",
      base: "core22",
      confinement: "classic",
      grade: "devel",
      architectures: ["amd64", "arm64"],
      epoch: { read: [1, 2], write: [2] },
      apps: ["alpha", "zeta"],
      defaultProviders: ["tool-data"],
      provenance: "custom-prov",
      title: "Tool A",
      license: "GPL-3.0",
    });
  });

  it("keeps the source text of numeric versions (version: 1.10 is 1.10)", () => {
    const v = (text: string): string => parseSnapYaml(`name: hello\nversion: ${text}\n`, SRC).version;
    assert.equal(v("1.10"), "1.10");
    assert.equal(v("1.0"), "1.0");
    assert.equal(v("2"), "2");
    assert.equal(v("010"), "010");
    assert.equal(v("1e3"), "1e3");
    assert.equal(v("'1.10'"), "1.10");
    assert.equal(v("20240101"), "20240101");
  });

  it("maps type application to app and checks the enumerations", () => {
    const base = "name: hello\nversion: '1'\n";
    assert.equal(parseSnapYaml(base + "type: application\n", SRC).type, "app");
    for (const t of ["app", "base", "os", "snapd", "gadget", "kernel"]) {
      assert.equal(parseSnapYaml(base + `type: ${t}\n`, SRC).type, t);
    }
    parseError(base + "type: core\n", /invalid snap type: "core"$/);
    parseError(base + "confinement: loose\n", /invalid confinement: "loose"$/);
    parseError(base + "grade: beta\n", /invalid grade: "beta"$/);
    parseError(base + "architectures: amd64\n", /architectures must be a list$/);
    assert.deepEqual(parseSnapYaml(base + "architectures: []\n", SRC).architectures, ["all"]);
  });

  it("reads every epoch form", () => {
    const epoch = (text: string): unknown => parseSnapYaml(`name: hello\nversion: '1'\n${text}`, SRC).epoch;
    assert.deepEqual(epoch(""), { read: [0], write: [0] });
    assert.deepEqual(epoch("epoch: 0\n"), { read: [0], write: [0] });
    assert.deepEqual(epoch("epoch: 1\n"), { read: [1], write: [1] });
    assert.deepEqual(epoch("epoch: '3'\n"), { read: [3], write: [3] });
    assert.deepEqual(epoch("epoch: 1*\n"), { read: [0, 1], write: [1] });
    assert.deepEqual(epoch("epoch: {read: [1, 2], write: [2]}\n"), { read: [1, 2], write: [2] });
    assert.deepEqual(epoch("epoch:\n  read: [1, 2, 3]\n"), { read: [1, 2, 3], write: [3] });
    parseError("name: hello\nversion: '1'\nepoch: 0*\n", /: invalid epoch "0\*": /);
    parseError("name: hello\nversion: '1'\nepoch: 01\n", /: invalid epoch "01": .*zero padding/);
    parseError("name: hello\nversion: '1'\nepoch: {read: [2], write: [3]}\n", /: invalid epoch .*intersection/);
  });

  it("collects content default providers in every declaration form", () => {
    const text = [
      "name: hello",
      "version: '1'",
      "plugs:",
      "  themes:",
      "    interface: content",
      "    default-provider: gtk-common-themes:gtk-3-themes",
      "  content:", // plug named after its interface
      "    default-provider: zz-data",
      "  icons:",
      "    interface: content",
      "    default-provider: gtk-common-themes", // duplicate provider
      "  other:",
      "    interface: network",
      "    default-provider: not-content", // not a content plug
      "  plain: content", // shorthand, no attributes
      "  network:",
      "  broken:",
      "    interface: content",
      "    default-provider: Not_Valid", // unusable name: ignored
      "",
    ].join("\n");
    assert.deepEqual(parseSnapYaml(text, SRC).defaultProviders, ["gtk-common-themes", "zz-data"]);
  });

  it("rejects bad names, a missing version and invalid YAML, naming the source", () => {
    parseError("version: '1'\n", /: missing name$/);
    parseError("name: Hello\nversion: '1'\n", /: invalid snap name: "Hello"$/);
    parseError("name: 123\nversion: '1'\n", /: invalid snap name: "123"$/);
    parseError("name: a--b\nversion: '1'\n", /: invalid snap name: "a--b"$/);
    parseError(`name: ${"a".repeat(41)}\nversion: '1'\n`, /: invalid snap name: /);
    parseError("name: hello\n", /: missing version$/);
    parseError("name: hello\nversion: ~\n", /: missing version$/);
    parseError("name: hello\nversion: '-1'\n", /: invalid snap version: "-1"$/);
    parseError("name: hello\nversion: [1]\n", /: version must be a string$/);
    parseError("name: hello\nversion: '1'\n  bad: indent: here\n", /^cannot parse snap\.yaml of fixture\.snap: [a-z]/);
    parseError("name: [unterminated\n", /: .*at line/);
    parseError("name: a\nname: b\n", /: map keys must be unique/i);
    parseError("", /: empty document$/);
    parseError("- a\n- b\n", /: top level must be a mapping$/);
    parseError("name: hello\nversion: '1'\napps: [a]\n", /: apps must be a mapping$/);
  });

  it("validates snap names like snapd", () => {
    for (const ok of ["ab", "a1", "1a", "hello-world", "core22", "a".repeat(40)]) assert.ok(isValidSnapName(ok), ok);
    for (const bad of ["a", "12", "-ab", "ab-", "a--b", "Ab", "a_b", "a".repeat(41), ""]) {
      assert.ok(!isValidSnapName(bad), bad);
    }
  });
});

describe("readSnapYaml", () => {
  const fixture = (): string => join(repoRoot(), "test", "fixtures", "snaps", "tool-data_1.snap");

  function readError(err: unknown, path: string, pattern: RegExp): boolean {
    assert.ok(err instanceof SnapshelfError);
    assert.ok(err.message.startsWith(`cannot read snap.yaml from ${path}: `), err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "one-line message");
    return true;
  }

  it("reads meta/snap.yaml out of a real snap without writing to the working directory", async () => {
    const work = await tmpWorkDir("snapfile-read");
    const before = process.cwd();
    process.chdir(work);
    let text: string;
    try {
      text = await readSnapYaml(fixture());
    } finally {
      process.chdir(before);
    }
    assert.deepEqual(await readdir(work), []);
    assert.match(text, /^name: tool-data\n/);
    const info = await readSnapInfo(fixture());
    assert.equal(info.name, "tool-data");
    assert.equal(info.version, "1.0");
    assert.equal(info.base, "core22");
    assert.deepEqual(info.architectures, ["all"]);
  });

  it("rejects a truncated snap", async () => {
    const work = await tmpWorkDir("snapfile-trunc");
    const path = join(work, "truncated.snap");
    await copyFile(fixture(), path);
    await truncate(path, 10_000);
    await assert.rejects(readSnapYaml(path), (err) => readError(err, path, /: not a valid snap \(.+\)$/));
  });

  it("rejects a file that is not a squashfs before running unsquashfs", async () => {
    const work = await tmpWorkDir("snapfile-notsquash");
    const path = join(work, "text.snap");
    await writeFile(path, "name: not-a-snap\n");
    // A missing unsquashfs proves the magic check comes first.
    const opts = { unsquashfs: join(work, "no-such-unsquashfs") };
    await assert.rejects(readSnapYaml(path, opts), (err) =>
      readError(err, path, /: not a valid snap \(no squashfs magic\)$/),
    );
    const empty = join(work, "empty.snap");
    await writeFile(empty, "");
    await assert.rejects(readSnapYaml(empty, opts), (err) => readError(err, empty, /: not a valid snap/));
    await assert.rejects(readSnapYaml(work, opts), (err) => readError(err, work, /: not a regular file$/));
    const missing = join(work, "missing.snap");
    await assert.rejects(readSnapYaml(missing, opts), (err) => readError(err, missing, /: no such file or directory$/));
  });

  it("says so when unsquashfs is missing", async () => {
    const opts = { unsquashfs: "/nonexistent/unsquashfs" };
    await assert.rejects(readSnapYaml(fixture(), opts), (err) =>
      readError(err, fixture(), /: unsquashfs not found \(install squashfs-tools\)$/),
    );
  });

  it("gives up on a hung unsquashfs and on oversized output", async () => {
    const work = await tmpWorkDir("snapfile-fake");
    const hang = join(work, "hang.sh");
    await writeFile(hang, "#!/bin/sh\nexec sleep 30\n");
    await chmod(hang, 0o755);
    await assert.rejects(readSnapYaml(fixture(), { unsquashfs: hang, timeoutMs: 200 }), (err) =>
      readError(err, fixture(), /: unsquashfs timed out after /),
    );
    const big = join(work, "big.sh");
    await writeFile(big, "#!/bin/sh\nexec head -c 3000000 /dev/zero\n");
    await chmod(big, 0o755);
    await assert.rejects(readSnapYaml(fixture(), { unsquashfs: big }), (err) =>
      readError(err, fixture(), /larger than 1048576 bytes\)$/),
    );
  });

  it("the fixture is the one make-fixtures generated", async () => {
    // Guards against an accidental edit: the fixture must stay a small real snap.
    const buf = await readFile(fixture());
    assert.equal(buf.subarray(0, 4).toString("latin1"), "hsqs");
    assert.ok(buf.length <= 64 * 1024);
  });
});
