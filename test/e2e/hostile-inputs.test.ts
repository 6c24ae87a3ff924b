/**
 * Hostile inputs: a corpus of crafted bad files and bundles, generated here
 * from the signed fixture catalogue (and snapd's published test keys for
 * re-signed variants). Every one must be refused by `snapshelf import` with
 * exit status 1 and ONE line `error: cannot ...` naming the offending file
 * and the reason, and the store directory must be byte-identical afterwards
 * (every path, type, mode and content hash).
 *
 * Two stores: "populated" (the whole catalogue but hello-offline r8 and
 * tool-data r1, built and in service) and "bare" (built, nothing imported,
 * so only Canonical's root is trusted).
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { cp, mkdir, readdir, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, type TestContext, test } from "node:test";
import { gzipSync } from "node:zlib";
import { buildStore } from "../../src/build/build.js";
import { renderBundleDoc } from "../../src/bundle/format.js";
import { importInputs } from "../../src/ops/import.js";
import { storeLayout } from "../../src/store/layout.js";
import { releaseRevision } from "../../src/store/release.js";
import { type Manifest, type ManifestRevision, makeFixtures, runChecked, tmpWorkDir } from "../support/realclient.js";
import { type SigningKey, signAssertion, signingKeyFrom, snapdTestKeys } from "../support/signer.js";
import { releaseOrder, snapshelfRaw } from "../support/snapshelf.js";
import { fileDigest, packSnap, signSnap, snapYamlText } from "../support/synthetic-snap.js";
import { listTree } from "../support/tree-hash.js";

let work: string;
let fx: string;
let manifest: Manifest;
let populated: string;
let bare: string;
let rootAccount: string;
let rootKey: string;
let otherKey: SigningKey;
/** hello-offline r8: held back from the populated store. */
let held: ManifestRevision;
let toolData: ManifestRevision;
let toolDataDecl: string;
let toolDataSnapId: string;
let helloSnapId: string;

const HELD = [
  { name: "tool-data", revision: 1 },
  { name: "hello-offline", revision: 8 },
];

function revisionOf(name: string, revision: number): ManifestRevision {
  const r = manifest.snaps.find((s) => s.name === name)?.revisions.find((x) => x.revision === revision);
  if (!r) throw new Error(`no ${name} r${revision} in the fixtures`);
  return r;
}

/** An assertion stream: exactly one empty line between assertions. */
function stream(...assertions: Buffer[]): Buffer {
  return Buffer.concat(assertions.flatMap((a, i) => (i === 0 ? [a] : [Buffer.from("\n"), a])));
}

/** Flips one base64 character in the middle of an assertion's signature. */
function flipSignature(raw: Buffer): Buffer {
  const text = raw.toString("utf8");
  const at = text.lastIndexOf("\n\n") + 2 + 40;
  const c = text[at];
  return Buffer.from(text.slice(0, at) + (c === "A" ? "B" : "A") + text.slice(at + 1));
}

/** Changes one header value without re-signing. */
function editHeader(raw: Buffer, name: string, value: string): Buffer {
  const text = raw.toString("utf8");
  const re = new RegExp(`^${name}: .*$`, "m");
  assert.ok(re.test(text), `assertion has a ${name} header`);
  return Buffer.from(text.replace(re, `${name}: ${value}`));
}

/** A ustar header block (for hand-made hostile tars). */
function tarHeader(e: { name: string; type: string; size: number; linkname?: string; mode?: number }): Buffer {
  const h = Buffer.alloc(512);
  const put = (off: number, len: number, s: string): void => {
    h.write(s.slice(0, len), off, "latin1");
  };
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, "0");
  put(0, 100, e.name);
  put(100, 8, octal(e.mode ?? 0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(e.size, 12));
  put(136, 12, octal(1_700_000_000, 12));
  h.fill(" ", 148, 156);
  put(156, 1, e.type);
  put(157, 100, e.linkname ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

interface TarEntry {
  name: string;
  type?: string;
  data?: Buffer;
  /** Size written in the header (default: the data's). */
  declared?: number;
  linkname?: string;
}

function makeTar(entries: readonly TarEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(
      tarHeader({
        name: e.name,
        type: e.type ?? "0",
        size: e.declared ?? data.length,
        ...(e.linkname ? { linkname: e.linkname } : {}),
      }),
    );
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The parts of a valid bundle of hello-offline r8 (bundle.json, blob, snap-revision), in the real format. */
async function bundleParts(): Promise<{ json: Buffer; blob: Buffer; rev: Buffer; revEntry: string }> {
  const blob = await readFile(join(fx, held.file));
  const rev = await readFile(join(fx, held["snap-revision"]));
  const digest = (b: Buffer): string => createHash("sha3-384").update(b).digest("hex");
  const revEntry = `assertions/snap-revision_${held["snap-sha3-384"]}.assert`;
  const json = renderBundleDoc({
    kind: "snap",
    name: "hello-offline",
    snapId: helloSnapId,
    store: { media: [], categories: [] },
    channelMap: [],
    revisions: [{ revision: 8, file: "blobs/hello-offline_8.snap", sha3_384: digest(blob), size: blob.length }],
    assertions: [
      {
        file: revEntry,
        type: "snap-revision",
        key: [held["snap-sha3-384"]],
        revision: 0,
        sha3_384: digest(rev),
        size: rev.length,
      },
    ],
  });
  return { json: Buffer.from(json), blob, rev, revEntry };
}

/** The entries of that valid bundle, in order. */
async function validEntries(): Promise<TarEntry[]> {
  const b = await bundleParts();
  return [
    { name: "bundle.json", data: b.json },
    { name: "blobs/hello-offline_8.snap", data: b.blob },
    { name: b.revEntry, data: b.rev },
  ];
}

interface Case {
  readonly name: string;
  /** Which store the import targets. */
  readonly store?: "populated" | "bare";
  /** Writes the inputs into `dir`; returns the import arguments. */
  readonly make: (dir: string) => Promise<string[]>;
  /** The one error line (after `error: `). */
  readonly expect: RegExp;
}

before(async () => {
  work = await tmpWorkDir("hostile-inputs");
  fx = join(work, "fixtures");
  manifest = await makeFixtures(fx);
  const isHeld = (n: string, r: number): boolean => HELD.some((h) => h.name === n && h.revision === r);
  held = revisionOf("hello-offline", 8);
  toolData = revisionOf("tool-data", 1);
  const snapOf = (n: string) => manifest.snaps.find((s) => s.name === n) ?? assert.fail(`no ${n}`);
  toolDataDecl = join(fx, snapOf("tool-data")["snap-declaration"]);
  toolDataSnapId = snapOf("tool-data")["snap-id"];
  helloSnapId = snapOf("hello-offline")["snap-id"];
  rootAccount = join(fx, manifest.assertions["root-account"] ?? assert.fail("no root account"));
  rootKey = join(fx, manifest.assertions["root-account-key"] ?? assert.fail("no root key"));
  const heldAsserts = new Set([
    toolData["snap-revision"],
    held["snap-revision"],
    snapOf("tool-data")["snap-declaration"],
  ]);

  populated = join(work, "populated");
  const layout = storeLayout(populated);
  const assertFiles = (await readdir(join(fx, manifest["assert-dir"])))
    .map((f) => `${manifest["assert-dir"]}/${f}`)
    .filter((f) => !heldAsserts.has(f))
    .map((f) => join(fx, f));
  await importInputs(layout, assertFiles, { trustedRoots: [rootAccount, rootKey] });
  await importInputs(
    layout,
    manifest.snaps.flatMap((s) => s.revisions.filter((r) => !isHeld(s.name, r.revision)).map((r) => join(fx, r.file))),
  );
  for (const e of releaseOrder(manifest)) {
    if (!isHeld(e.name, e.revision)) await releaseRevision(layout, e.name, e.revision, [e.channel], { arch: e.arch });
  }
  await buildStore(layout);
  bare = join(work, "bare");
  await buildStore(storeLayout(bare));
  otherKey = signingKeyFrom(generateKeyPairSync("rsa", { modulusLength: 4096 }).privateKey);
});

/** Copies a fixture file into the case directory (the inputs are never the fixture files themselves). */
async function copyIn(dir: string, rel: string, as?: string): Promise<string> {
  const to = join(dir, as ?? rel.split("/").pop() ?? rel);
  await cp(join(fx, rel), to);
  return to;
}

async function edit(path: string, f: (b: Buffer) => Buffer): Promise<string> {
  await writeFile(path, f(await readFile(path)));
  return path;
}

const HELD_REV = (): string => held["snap-revision"];

const CASES: readonly Case[] = [
  // ---- blobs -------------------------------------------------------------------------------
  {
    name: "tampered blob (one byte flipped in the middle)",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await edit(f, (b) => {
        b.writeUInt8(b.readUInt8(b.length >> 1) ^ 0xff, b.length >> 1);
        return b;
      });
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot import .*hello-offline_8\.snap: no snap-revision assertion for sha3-384/,
  },
  {
    name: "tampered blob (squashfs magic destroyed)",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await edit(f, (b) => {
        b.write("XXXX", 0, "latin1");
        return b;
      });
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot read snap\.yaml from .*hello-offline_8\.snap: not a valid snap \(no squashfs magic\)/,
  },
  {
    name: "truncated blob (half)",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await truncate(f, held.size >> 1);
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot read snap\.yaml from .*hello-offline_8\.snap: not a valid snap \(.+\)/,
  },
  {
    name: "truncated blob (one byte short)",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await truncate(f, held.size - 1);
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot import .*hello-offline_8\.snap: no snap-revision assertion for sha3-384/,
  },
  {
    name: "blob with bytes appended",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await edit(f, (b) => Buffer.concat([b, Buffer.from("trailing garbage")]));
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot import .*hello-offline_8\.snap: no snap-revision assertion for sha3-384/,
  },
  {
    name: "wrong size: snap-revision re-signed with the right digest but another snap-size",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      const { revision } = signSnap({
        name: "hello-offline",
        snapId: helloSnapId,
        revision: 8,
        sha3_384: held["sha3-384"],
        size: held.size + 4096,
        publisherId: manifest.publisher["account-id"],
      });
      const a = join(d, "wrong-size.assert");
      await writeFile(a, revision);
      return [f, "--assert", a];
    },
    expect: /cannot import .*hello-offline_8\.snap: size \d+ does not match snap-revision snap-size \d+/,
  },
  {
    name: "empty .snap file",
    make: async (d) => {
      const f = join(d, "empty_1.snap");
      await writeFile(f, "");
      return [f];
    },
    expect: /cannot read snap\.yaml from .*empty_1\.snap: not a valid snap/,
  },
  {
    name: "text file named .snap",
    make: async (d) => {
      const f = join(d, "text_1.snap");
      await writeFile(f, "#!/bin/sh\necho not a snap\n");
      return [f];
    },
    expect: /cannot read snap\.yaml from .*text_1\.snap: not a valid snap \(no squashfs magic\)/,
  },
  {
    name: "unreadable squashfs: valid superblock, garbage after it",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      await edit(f, (b) => {
        b.fill(0x5a, 96, b.length);
        return b;
      });
      return [f, "--assert", join(fx, HELD_REV())];
    },
    expect: /cannot read snap\.yaml from .*hello-offline_8\.snap: not a valid snap \(.+\)/,
  },
  {
    name: "squashfs without meta/snap.yaml",
    make: async (d) => {
      const f = join(d, "no-yaml_1.snap");
      await mkdir(join(d, "src", "bin"), { recursive: true });
      await writeFile(join(d, "src", "bin", "x"), "x");
      await runChecked("mksquashfs", [join(d, "src"), f, "-noappend", "-all-root", "-no-progress"]);
      return [f];
    },
    expect: /cannot read snap\.yaml from .*no-yaml_1\.snap: not a valid snap/,
  },
  {
    name: "snap.yaml that is not YAML",
    make: async (d) => {
      const f = join(d, "bad-yaml_1.snap");
      await packSnap(f, "name: [unclosed\n  : : :\n", { staging: join(d, "s") });
      return [f];
    },
    expect: /cannot parse snap\.yaml of .*bad-yaml_1\.snap: /,
  },
  {
    name: "snap.yaml with an invalid snap name",
    make: async (d) => {
      const f = join(d, "bad-name_1.snap");
      await packSnap(f, snapYamlText({ name: "Bad_Name!" }), { staging: join(d, "s") });
      return [f];
    },
    expect: /cannot parse snap\.yaml of .*bad-name_1\.snap: invalid snap name/,
  },
  // ---- snap.yaml that snapd itself would refuse (YAML limits, types, snap.Validate) -------------
  ...(
    [
      [
        "an alias bomb (billion laughs) in snap.yaml",
        `${snapYamlText({ name: "bomb" })}plugs:\n  x:\n    l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n${Array.from(
          { length: 9 },
          (_, i) => `    l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(", ")}]\n`,
        ).join("")}`,
        /document contains excessive aliasing/,
      ],
      [
        "an alias inside its own anchor",
        `${snapYamlText({ name: "cycle" })}x: &a [b, *a]\n`,
        /anchor 'a' value contains itself/,
      ],
      [
        "nesting deeper than any parser should follow",
        `${snapYamlText({ name: "deep" })}x: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`,
        /exceeded max depth of 256/,
      ],
      ["duplicate keys", `${snapYamlText({ name: "dup" })}name: other-name\n`, /map keys must be unique/],
      ["name given as a list", "name: [a, b]\nversion: '1'\n", /name must be a string/],
      ["apps given as a string", `${snapYamlText({ name: "apps" })}apps: hello\n`, /apps must be a mapping/],
      [
        "an app's command given as a list",
        `${snapYamlText({ name: "cmd" })}apps:\n  a:\n    command: [x]\n`,
        /apps\.a\.command: cannot unmarshal !!seq into string/,
      ],
      ["an invalid version", snapYamlText({ name: "ver", version: "1.0 beta" }), /invalid snap version/],
      ["an invalid epoch", snapYamlText({ name: "epo", epoch: "1**" }), /invalid epoch/],
      [
        "an invalid app name",
        `${snapYamlText({ name: "app" })}apps:\n  bad_app:\n    command: x\n`,
        /invalid definition of application "bad_app": cannot have "bad_app" as app name/,
      ],
      [
        "a command with characters snapd refuses",
        `${snapYamlText({ name: "inj" })}apps:\n  a:\n    command: "x; rm -rf /"\n`,
        /app description field 'command' contains illegal "x; rm -rf \/"/,
      ],
      ["an invalid plug name", `${snapYamlText({ name: "plg" })}plugs:\n  Net: network\n`, /invalid plug name: "Net"/],
      [
        "an invalid slot interface",
        `${snapYamlText({ name: "slt" })}slots:\n  s:\n    interface: Bad_Iface\n`,
        /invalid interface name "Bad_Iface" for slot "s"/,
      ],
      [
        "a plug and a slot of one name",
        `${snapYamlText({ name: "same" })}plugs:\n  x: network\nslots:\n  x: network\n`,
        /cannot have plug and slot with the same name: "x"/,
      ],
      [
        "a title over 40 codepoints",
        `${snapYamlText({ name: "ttl" })}title: ${"t".repeat(41)}\n`,
        /title can have up to 40 codepoints, got 41/,
      ],
      ["the layouts typo", `${snapYamlText({ name: "lay" })}layouts: {}\n`, /typo detected: use singular "layout"/],
      [
        "a snap.yaml over the 1 MiB limit",
        `${snapYamlText({ name: "big" })}x: ${"y".repeat(1_100_000)}\n`,
        /meta\/snap\.yaml larger than 1048576 bytes/,
      ],
    ] as const
  ).map(
    ([what, yaml, reason]): Case => ({
      name: `snap.yaml: ${what}`,
      make: async (d) => {
        const f = join(d, "hostile-yaml_1.snap");
        await packSnap(f, yaml, { staging: join(d, "s") });
        return [f];
      },
      expect: new RegExp(`cannot (parse|read) snap\\.yaml (of|from) .*hostile-yaml_1\\.snap: .*${reason.source}`),
    }),
  ),
  {
    name: "a valid snap with no assertions at all",
    make: async (d) => {
      const f = join(d, "orphan_1.snap");
      await packSnap(f, snapYamlText({ name: "orphan" }), { staging: join(d, "s") });
      return [f];
    },
    expect: /cannot import .*orphan_1\.snap: no snap-revision assertion/,
  },
  {
    name: "revision clash: a new blob re-signed as hello-offline r1 (already in the store)",
    make: async (d) => {
      const f = join(d, "hello-offline_1.snap");
      await packSnap(f, snapYamlText({ name: "hello-offline", version: "evil" }), { staging: join(d, "s") });
      const dg = await fileDigest(f);
      const { revision } = signSnap({
        name: "hello-offline",
        snapId: helloSnapId,
        revision: 1,
        ...dg,
        publisherId: manifest.publisher["account-id"],
      });
      await writeFile(join(d, "hello-offline_1.assert"), revision);
      return [f];
    },
    expect:
      /cannot import .*hello-offline_1\.snap: hello-offline revision 1 is already in the store with another blob \(sha3-384 [0-9a-f]{96}, this one [0-9a-f]{96}\)/,
  },
  {
    name: "revision clash inside one import: two blobs both signed as hello-offline r50",
    make: async (d) => {
      const out: string[] = [];
      for (const v of ["a", "b"]) {
        const f = join(d, `hello-offline_50${v}.snap`);
        await packSnap(f, snapYamlText({ name: "hello-offline", version: `50${v}` }), { staging: join(d, "s") });
        const { revision } = signSnap({
          name: "hello-offline",
          snapId: helloSnapId,
          revision: 50,
          ...(await fileDigest(f)),
          publisherId: manifest.publisher["account-id"],
        });
        await writeFile(join(d, `hello-offline_50${v}.assert`), revision);
        out.push(f);
      }
      return out;
    },
    expect:
      /cannot import .*hello-offline_50b\.snap: hello-offline revision 50 is also .*hello-offline_50a\.snap, with another blob \(sha3-384 [0-9a-f]{96}, this one [0-9a-f]{96}\)/,
  },
  // ---- assertions vs blobs ---------------------------------------------------------------------
  {
    name: "swapped assertions: the blob given only another snap's (valid) snap-revision",
    make: async (d) => [await copyIn(d, held.file), "--assert", join(fx, revisionOf("core22", 1)["snap-revision"])],
    expect: /cannot import .*hello-offline_8\.snap: no snap-revision assertion for sha3-384/,
  },
  {
    name: "swapped assertions: snap-revision of this blob naming another snap's snap-id",
    make: async (d) => {
      const f = await copyIn(d, held.file);
      const { revision } = signSnap({
        name: "tool-data",
        snapId: toolDataSnapId,
        revision: 8,
        sha3_384: held["sha3-384"],
        size: held.size,
        publisherId: manifest.publisher["account-id"],
      });
      await writeFile(join(d, "swapped.assert"), revision);
      return [f, "--assert", join(d, "swapped.assert"), "--assert", toolDataDecl];
    },
    expect:
      /cannot import .*hello-offline_8\.snap: snap-declaration of \S+ names "tool-data" but meta\/snap\.yaml says "hello-offline"/,
  },
  {
    name: "snap-declaration for another name (re-signed, same snap-id)",
    make: async (d) => {
      const f = await copyIn(d, toolData.file);
      const { declaration } = signSnap({
        name: "not-tool-data",
        snapId: toolDataSnapId,
        revision: 1,
        sha3_384: toolData["sha3-384"],
        size: toolData.size,
        publisherId: manifest.publisher["account-id"],
      });
      await writeFile(join(d, "other-name.assert"), declaration);
      return [f, "--assert", join(d, "other-name.assert"), "--assert", join(fx, toolData["snap-revision"])];
    },
    expect:
      /cannot import .*tool-data_1\.snap: snap-declaration of \S+ names "not-tool-data" but meta\/snap\.yaml says "tool-data"/,
  },
  {
    name: "snap-revision without its snap-declaration",
    make: async (d) => [await copyIn(d, toolData.file), "--assert", join(fx, toolData["snap-revision"])],
    expect: /cannot verify snap-revision \(\S+\) from .*\.snap-revision: .*does not have a matching snap-declaration/,
  },
  // ---- signatures and chains -------------------------------------------------------------------
  {
    name: "bad signature: one character of the snap-revision's signature flipped",
    make: async (d) => {
      const a = await edit(await copyIn(d, HELD_REV(), "flipped-sig.assert"), flipSignature);
      return [await copyIn(d, held.file), "--assert", a];
    },
    expect: /cannot verify snap-revision \(\S+\) from .*flipped-sig\.assert: failed signature verification/,
  },
  {
    name: "bad signature: a signed header changed (snap-revision number)",
    make: async (d) => {
      const a = await edit(await copyIn(d, HELD_REV(), "edited-header.assert"), (b) =>
        editHeader(b, "snap-revision", "9"),
      );
      return [await copyIn(d, held.file), "--assert", a];
    },
    expect: /cannot verify snap-revision \(\S+\) from .*edited-header\.assert: failed signature verification/,
  },
  {
    name: "bad signature: a snap-declaration's snap-name changed",
    make: async (d) => {
      const a = await edit(
        await copyIn(d, manifest.snaps.find((s) => s.name === "tool-data")?.["snap-declaration"] ?? "", "decl.assert"),
        (b) => editHeader(b, "snap-name", "evil-data"),
      );
      return [await copyIn(d, toolData.file), "--assert", a, "--assert", join(fx, toolData["snap-revision"])];
    },
    expect: /cannot verify snap-declaration \(\S+\) from .*decl\.assert: failed signature verification/,
  },
  {
    name: "signature block cut short",
    make: async (d) => {
      const a = await edit(await copyIn(d, HELD_REV(), "short-sig.assert"), (b) => {
        const t = b.toString("utf8").trimEnd().split("\n");
        return Buffer.from(`${t.slice(0, -3).join("\n")}\n`);
      });
      return [await copyIn(d, held.file), "--assert", a];
    },
    expect: /cannot verify snap-revision \(\S+\) from .*short-sig\.assert: cannot decode signature/,
  },
  {
    name: "body-length that does not match the body",
    make: async (d) => {
      const a = await edit(await copyIn(d, manifest.assertions["store-account-key"] ?? "", "key.assert"), (b) =>
        editHeader(b, "body-length", "12"),
      );
      return [a];
    },
    expect: /cannot parse assertion in .*key\.assert: /,
  },
  {
    name: "random bytes as an assertion file",
    make: async (d) => {
      const a = join(d, "noise.assert");
      await writeFile(a, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
      return [a];
    },
    expect: /cannot parse assertion in .*noise\.assert: /,
  },
  {
    name: "unknown assertion type",
    make: async (d) => {
      const a = await edit(await copyIn(d, HELD_REV(), "unknown-type.assert"), (b) =>
        Buffer.from(b.toString("utf8").replace(/^type: snap-revision$/m, "type: snap-evil")),
      );
      return [a];
    },
    expect: /cannot parse assertion in .*unknown-type\.assert: unknown type "snap-evil"/,
  },
  {
    name: "headers larger than the 128 KiB limit",
    make: async (d) => {
      const a = await edit(await copyIn(d, HELD_REV(), "huge-headers.assert"), (b) =>
        Buffer.from(b.toString("utf8").replace(/^timestamp: /m, `padding: ${"x".repeat(140 * 1024)}\ntimestamp: `)),
      );
      return [a];
    },
    expect: /cannot parse assertion in .*huge-headers\.assert: headers exceed maximum size/,
  },
  {
    name: "signed by a key the store does not know",
    make: async (d) => {
      const { declaration, revision } = signSnap({
        name: "evil",
        revision: 1,
        sha3_384: held["sha3-384"],
        size: held.size,
        publisherId: manifest.publisher["account-id"],
        key: otherKey,
      });
      await writeFile(join(d, "unknown-key.assert"), stream(declaration, revision));
      return [await copyIn(d, held.file), "--assert", join(d, "unknown-key.assert")];
    },
    expect: /cannot verify snap-declaration \(\S+\) from .*unknown-key\.assert: no matching public key/,
  },
  {
    name: "key not chained to a trusted root: a self-made root account and key",
    make: async (d) => {
      const ts = { timestamp: "2026-01-01T00:00:00Z" };
      const account = signAssertion(
        "account",
        {
          "authority-id": "evilroot",
          "account-id": "evilroot",
          "display-name": "Evil Root",
          username: "evilroot",
          validation: "verified",
          ...ts,
        },
        otherKey,
      );
      const key = signAssertion(
        "account-key",
        {
          "authority-id": "evilroot",
          "account-id": "evilroot",
          name: "root",
          "public-key-sha3-384": otherKey.id,
          since: "2016-01-01T00:00:00Z",
        },
        otherKey,
        { body: otherKey.publicKeyBody },
      );
      const { declaration, revision } = signSnap({
        name: "evil",
        revision: 1,
        sha3_384: held["sha3-384"],
        size: held.size,
        publisherId: "evilroot",
        authorityId: "evilroot",
        key: otherKey,
      });
      await writeFile(join(d, "evil-chain.assert"), stream(account, key, declaration, revision));
      return [await copyIn(d, held.file), "--assert", join(d, "evil-chain.assert")];
    },
    expect: /cannot verify account-key \(\S+\) from .*evil-chain\.assert: .*evilroot/,
  },
  {
    name: "key not chained to a trusted root: the test catalogue without --trusted-root",
    store: "bare",
    make: async () => [join(fx, manifest["assert-dir"])],
    expect: /cannot verify account-key \(\S+\) from .*\.account-key: no matching public key .* by "testrootorg"/,
  },
  {
    name: "a --trusted-root file that is not an account or account-key",
    store: "bare",
    make: async (d) => [
      "--trusted-root",
      await copyIn(d, manifest.snaps[0]?.["snap-declaration"] ?? "", "not-a-root.assert"),
      join(fx, manifest["assert-dir"]),
    ],
    expect:
      /cannot use snap-declaration \(\S+\) as a trusted root in .*not-a-root\.assert: only account and account-key/,
  },
  {
    name: "a --trusted-root account-key whose body does not match its key id",
    store: "bare",
    make: async (d) => {
      const k = await edit(await copyIn(d, manifest.assertions["root-account-key"] ?? "", "bad-root.assert"), (b) => {
        const { store } = snapdTestKeys();
        const t = b.toString("utf8");
        const start = t.indexOf("\n\n") + 2;
        const end = t.indexOf("\n\n", start);
        return Buffer.from(t.slice(0, start) + store.publicKeyBody + t.slice(end));
      });
      return ["--trusted-root", rootAccount, "--trusted-root", k, join(fx, manifest["assert-dir"])];
    },
    expect: /cannot parse account-key assertion in .*bad-root\.assert: public key does not match provided key id/,
  },
  ...(["expired", "not-yet-valid"] as const).map(
    (kind): Case => ({
      name: `${kind} account-key of the store key (re-signed by testrootorg)`,
      store: "bare",
      make: async (d) => {
        const { root, store } = snapdTestKeys();
        const window =
          kind === "expired"
            ? { since: "2016-01-01T00:00:00Z", until: "2017-01-01T00:00:00Z" }
            : { since: "2099-01-01T00:00:00Z" };
        const key = signAssertion(
          "account-key",
          {
            "authority-id": "testrootorg",
            "account-id": "testrootorg",
            name: "test-store",
            "public-key-sha3-384": store.id,
            ...window,
          },
          root,
          { body: store.publicKeyBody },
        );
        const dir = join(d, "asserts");
        await mkdir(dir);
        for (const f of await readdir(join(fx, manifest["assert-dir"]))) {
          if (`${manifest["assert-dir"]}/${f}` === manifest.assertions["store-account-key"]) continue;
          await cp(join(fx, manifest["assert-dir"], f), join(dir, f));
        }
        await writeFile(join(dir, `${kind}.account-key`), key);
        return ["--trusted-root", rootAccount, "--trusted-root", rootKey, dir];
      },
      expect:
        /cannot verify snap-[a-z]+ \(\S+\) from .*\/asserts\/\S+: assertion is signed with expired public key .* but key is valid since/,
    }),
  ),
  {
    name: "two different snap-declarations of the same revision",
    make: async (d) => {
      const mk = (t: string): Buffer =>
        signSnap({
          name: "tool-data",
          snapId: toolDataSnapId,
          revision: 1,
          sha3_384: toolData["sha3-384"],
          size: toolData.size,
          publisherId: manifest.publisher["account-id"],
          timestamp: new Date(t),
        }).declaration;
      await writeFile(join(d, "a.assert"), mk("2026-01-01T00:00:00Z"));
      await writeFile(join(d, "b.assert"), mk("2026-02-01T00:00:00Z"));
      return [await copyIn(d, toolData.file), "--assert", join(d, "a.assert"), "--assert", join(d, "b.assert")];
    },
    expect:
      /cannot verify snap-declaration \(\S+\) from .*b\.assert: conflicts with a different assertion of the same revision 0/,
  },
  // ---- paths ---------------------------------------------------------------------------------
  {
    name: "a path that does not exist",
    make: async (d) => [join(d, "missing_1.snap")],
    expect: /missing_1\.snap: no such file or directory/,
  },
  {
    name: "a character device as input",
    make: async () => ["/dev/zero"],
    expect: /\/dev\/zero: not a regular file/,
  },
  {
    name: "a dangling symlink as input",
    make: async (d) => {
      const l = join(d, "dangling_1.snap");
      await symlink(join(d, "nowhere"), l);
      return [l];
    },
    expect: /cannot import .*dangling_1\.snap: no such file or directory/,
  },
  {
    name: "an invalid --release channel",
    make: async (d) => [
      await copyIn(d, toolData.file),
      "--assert",
      join(fx, toolData["snap-revision"]),
      "--assert",
      toolDataDecl,
      "--release",
      "latest/stable/a/b/c",
    ],
    expect: /cannot parse channel "latest\/stable\/a\/b\/c": channel name has too many components/,
  },
];

/** Bundles (src/bundle): hostile tars, made by hand around a valid bundle (the control test imports it). */
function bundleCases(): Case[] {
  const mk = (
    name: string,
    entries: () => Promise<TarEntry[]>,
    expect: RegExp,
    opts: { gzip?: "truncate" | "full"; end?: boolean; cut?: number } = {},
  ): Case => ({
    name: `bundle: ${name}`,
    make: async (d) => {
      let tar = makeTar(await entries(), opts.end === false ? { end: false } : {});
      if (opts.cut !== undefined) tar = tar.subarray(0, opts.cut);
      if (opts.gzip) {
        tar = gzipSync(tar);
        if (opts.gzip === "truncate") tar = tar.subarray(0, tar.length >> 1);
      }
      const file = join(d, "hostile.snapshelf.tar");
      await writeFile(file, tar);
      return [file];
    },
    expect,
  });
  const bad = (why: string): RegExp => new RegExp(`^error: cannot read bundle .*hostile\\.snapshelf\\.tar: .*${why}`);
  const valid = validEntries;
  const withExtra = (extra: TarEntry) => async (): Promise<TarEntry[]> => [...(await valid()), extra];
  const blobAs = (e: Partial<TarEntry>) => async (): Promise<TarEntry[]> => {
    const [json, blob, rev] = await valid();
    return [json as TarEntry, { ...(blob as TarEntry), ...e }, rev as TarEntry];
  };
  return [
    mk(
      "entry with ..",
      withExtra({ name: "blobs/../../escape.snap", data: Buffer.from("x") }),
      bad("escapes the bundle"),
    ),
    mk("absolute entry path", withExtra({ name: "/tmp/escape.snap", data: Buffer.from("x") }), bad("absolute path")),
    mk(
      "symlink entry",
      blobAs({ type: "2", linkname: "/etc/passwd", data: Buffer.alloc(0) }),
      bad("symbolic links are not allowed"),
    ),
    mk(
      "hardlink entry",
      blobAs({ type: "1", linkname: "bundle.json", data: Buffer.alloc(0) }),
      bad("hard links are not allowed"),
    ),
    mk("character device entry", blobAs({ type: "3", data: Buffer.alloc(0) }), bad("devices are not allowed")),
    mk("block device entry", blobAs({ type: "4", data: Buffer.alloc(0) }), bad("devices are not allowed")),
    mk("fifo entry", blobAs({ type: "6", data: Buffer.alloc(0) }), bad("fifos are not allowed")),
    mk(
      "duplicate entries",
      async () => {
        const v = await valid();
        return [...v, v[1] as TarEntry];
      },
      bad("duplicate entry"),
    ),
    mk(
      "huge declared size (8 GiB header, 512 bytes of data)",
      blobAs({ data: Buffer.alloc(512), declared: 0o77777777777 }),
      bad("bytes"),
      { end: false },
    ),
    mk("truncated gzip", valid, bad("(truncat|unexpected end|zlib|gzip|corrupt)"), { gzip: "truncate" }),
    mk("truncated tar (cut inside the blob)", valid, bad("(truncat|lacks)"), { cut: 2048, end: false }),
    mk(
      "bomb-like: a gzip of 64 MiB of zeros where bundle.json lists a small blob",
      blobAs({ data: Buffer.alloc(64 << 20) }),
      bad("but bundle.json says"),
      { gzip: "full" },
    ),
    mk(
      "blob bytes differ from what bundle.json lists",
      async () => {
        const [json, blob, rev] = await valid();
        const data = Buffer.from((blob as TarEntry).data ?? Buffer.alloc(0));
        data.writeUInt8(data.readUInt8(100) ^ 0xff, 100);
        return [json as TarEntry, { ...(blob as TarEntry), data }, rev as TarEntry];
      },
      bad("sha3-384"),
    ),
    mk(
      "entry not listed in bundle.json",
      withExtra({ name: "assertions/evil.assert", data: Buffer.from("x") }),
      bad("not listed in bundle.json"),
    ),
    mk(
      "unknown top-level entry",
      withExtra({ name: "extra/evil.sh", data: Buffer.from("#!/bin/sh\n") }),
      bad("unknown top-level entry"),
    ),
    mk(
      "bundle.json not first",
      async () => {
        const [json, blob, rev] = await valid();
        return [blob as TarEntry, json as TarEntry, rev as TarEntry];
      },
      bad("first entry must be bundle.json"),
    ),
    mk(
      "bundle.json not JSON",
      async () => [{ name: "bundle.json", data: Buffer.from("{not json") }],
      bad("bundle.json"),
    ),
    mk(
      "bundle.json lists a blob the archive lacks",
      async () => {
        const [json, , rev] = await valid();
        return [json as TarEntry, rev as TarEntry];
      },
      bad("which the archive lacks"),
    ),
  ];
}

async function runCase(t: TestContext, c: Case, i: number): Promise<void> {
  const dir = join(work, "cases", String(i));
  await mkdir(dir, { recursive: true });
  const args = await c.make(dir);
  const store = c.store === "bare" ? bare : populated;
  const before = await listTree(store);
  const res = await snapshelfRaw(["import", "--dir", store, ...args]);
  const after = await listTree(store);
  assert.equal(res.code, 1, `exit status 1 (refused), got ${res.code}:\n${res.stdout}${res.stderr}`);
  const lines = res.stderr.split("\n").filter((l) => l !== "");
  const errors = lines.filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, `exactly one error line:\n${res.stderr}`);
  const line = errors[0] ?? "";
  t.diagnostic(line);
  assert.match(line, /^error: cannot /, "snapd-style message");
  assert.match(line, c.expect, "the message names the file and the reason");
  assert.deepEqual([...after], [...before], "the store directory is byte-identical");
}

test("the corpus has at least 30 cases besides bundles", () => {
  assert.ok(CASES.length >= 30, `${CASES.length} cases`);
});

describe("hostile files are refused and leave the store byte-identical", () => {
  CASES.forEach((c, i) => {
    test(c.name, { timeout: 60_000 }, (t) => runCase(t, c, i));
  });
});

test("control: the valid bundle the hostile ones are made from is accepted", async () => {
  const dir = join(work, "cases", "control");
  await mkdir(dir, { recursive: true });
  const file = join(dir, "valid.snapshelf.tar");
  await writeFile(file, makeTar(await validEntries()));
  const copy = join(work, "control-store");
  await cp(populated, copy, { recursive: true });
  const res = await snapshelfRaw(["import", "--dir", copy, file]);
  assert.equal(res.code, 0, `${res.stdout}${res.stderr}`);
  assert.match(res.stdout, /imported hello-offline revision 8/);
});

describe("hostile bundles are refused and leave the store byte-identical", () => {
  bundleCases().forEach((c, i) => {
    test(c.name, { timeout: 60_000 }, (t) => runCase(t, c, 1000 + i));
  });
});
