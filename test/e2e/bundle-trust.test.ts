/**
 * Issue 15.1 and 15.2 (the bundle side): operator-signed bundles, rollback
 * protection, bundles split in parts, and bundles of the previous format.
 *
 * The upstream double serves the signed fixture catalogue; `snapshelf keygen`
 * makes operator keys; `export --sign-key` signs; the real `minisign` tool
 * checks a signature; `import --signed-by` makes a store require them. Every
 * refusal names the bundle and leaves the store byte-identical.
 */
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { create as createTar, extract } from "tar";
import { fixtureDouble } from "../support/fixture-work.js";
import { type Manifest, removeWorkDir, runCommand } from "../support/realclient.js";
import { snapshelf, snapshelfRaw } from "../support/snapshelf.js";
import { listTree } from "../support/tree-hash.js";
import { bundleJson, rootArgs, tarEntries, type UpstreamDouble } from "../support/upstream-double.js";

let work: string;
let fixtures: string;
let manifest: Manifest;
let double: UpstreamDouble;
const SNAP = "hello-offline";
const BUNDLE = `${SNAP}.snapshelf.tar`;

/** Export directories: signed by key A (twice: A1 older, A2 newer), by key B, unsigned. */
const dirs: Record<"a1" | "a2" | "b" | "unsigned", string> = { a1: "", a2: "", b: "", unsigned: "" };
let keyA: string;
let keyB: string;

async function exportTo(dir: string, extra: readonly string[], env: Record<string, string> = {}): Promise<void> {
  await snapshelf(
    [
      "export",
      SNAP,
      "--upstream",
      double.url,
      "--export-dir",
      dir,
      "--quiet",
      ...rootArgs(fixtures, manifest),
      ...extra,
    ],
    env,
  );
}

function newStore(name: string): string {
  return join(work, name);
}

/** `snapshelf import --dir STORE` with the fixture's trusted root. */
function imp(store: string, args: readonly string[]): ReturnType<typeof snapshelf> {
  return snapshelf(["import", "--dir", store, ...rootArgs(fixtures, manifest), ...args]);
}

/** Imports and expects a refusal naming `bundle`, the store byte-identical. */
async function refused(store: string, args: readonly string[], pattern: RegExp): Promise<string> {
  const before = await listTree(store);
  const res = await snapshelfRaw(["import", "--dir", store, ...rootArgs(fixtures, manifest), ...args]);
  assert.equal(res.code, 1, `refused:\n${res.stdout}${res.stderr}`);
  const errors = res.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, res.stderr);
  assert.match(errors[0] ?? "", /^error: cannot /);
  assert.match(errors[0] ?? "", pattern);
  assert.deepEqual([...(await listTree(store))], [...before], "the store is byte-identical");
  return errors[0] ?? "";
}

/** A copy of a bundle with `edit` applied to its bytes. */
async function tampered(src: string, name: string, edit: (b: Buffer) => void): Promise<string> {
  const dir = join(work, "tampered", name);
  await mkdir(dir, { recursive: true });
  const bytes = await readFile(src);
  edit(bytes);
  const out = join(dir, BUNDLE);
  await writeFile(out, bytes);
  return out;
}

before(async () => {
  ({ work, fixtures, manifest, double } = await fixtureDouble("bundle-trust"));
  keyA = join(work, "keys", "a.key");
  keyB = join(work, "keys", "b.key");
  await mkdir(join(work, "keys"), { recursive: true });
  await snapshelf(["keygen", "--output", keyA, "--unencrypted"]);
  await writeFile(join(work, "keys", "pass"), "correct horse\n");
  await snapshelf(["keygen", "--output", keyB], { SNAPSHELF_KEY_PASSPHRASE: "correct horse" });
  for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = join(work, `export-${k}`);
  await exportTo(dirs.a1, ["--sign-key", keyA]);
  await exportTo(dirs.a2, ["--sign-key", keyA]);
  await exportTo(dirs.b, ["--sign-key", keyB, "--passphrase-file", join(work, "keys", "pass")]);
  await exportTo(dirs.unsigned, []);
});

after(async () => {
  await double?.close();
  if (work) await removeWorkDir(work);
});

test("keygen: private key mode 600, minisign public key; never replaces a key; refuses a key without passphrase unless --unencrypted", async () => {
  assert.equal((await stat(keyA)).mode & 0o777, 0o600);
  assert.match(await readFile(keyA, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
  assert.match(await readFile(keyB, "utf8"), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.match(
    await readFile(`${keyA}.pub`, "utf8"),
    /^untrusted comment: minisign public key [0-9A-F]{16}.*\nRW[A-Za-z0-9+/]{54}\n$/,
  );
  const again = await snapshelfRaw(["keygen", "--output", keyA, "--unencrypted"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error: cannot write .*a\.key: file exists/);
  const bare = await snapshelfRaw(["keygen", "--output", join(work, "keys", "c.key")], {
    SNAPSHELF_KEY_PASSPHRASE: undefined,
  });
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /error: cannot write .*c\.key: no passphrase .* and no --unencrypted/);
  const locked = await snapshelfRaw(
    ["export", SNAP, "--upstream", double.url, "--export-dir", join(work, "x"), "--sign-key", keyB],
    { SNAPSHELF_KEY_PASSPHRASE: undefined },
  );
  assert.equal(locked.code, 1);
  assert.match(locked.stderr, /error: cannot read signing key .*b\.key: it is encrypted/);
  const wrong = await snapshelfRaw(
    ["export", SNAP, "--upstream", double.url, "--export-dir", join(work, "x"), "--sign-key", keyB],
    { SNAPSHELF_KEY_PASSPHRASE: "wrong" },
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /error: cannot read signing key .*b\.key: wrong passphrase/);
});

test("a signed bundle: version 3, bundle.json.minisig second, and the real minisign tool verifies it", async () => {
  const path = join(dirs.a2, BUNDLE);
  const entries = await tarEntries(path);
  assert.deepEqual(
    entries.slice(0, 2).map((e) => e.path),
    ["bundle.json", "bundle.json.minisig"],
  );
  const doc = await bundleJson(path);
  assert.equal(doc["version"], 3);
  assert.ok(!Number.isNaN(Date.parse(String(doc["exported-at"]))));
  const signer = doc["signer"] as { "key-id": string; counter: number };
  assert.match(signer["key-id"], /^[0-9A-F]{16}$/);
  assert.equal(signer.counter, 2, "the second export with key A");
  assert.equal((await bundleJson(join(dirs.a1, BUNDLE)))["signer"] !== undefined, true);
  assert.equal((await bundleJson(join(dirs.unsigned, BUNDLE)))["signer"], undefined);
  assert.equal((await tarEntries(join(dirs.unsigned, BUNDLE)))[1]?.path.startsWith("assertions/"), true);

  const out = join(work, "minisign");
  await mkdir(out, { recursive: true });
  await extract({ file: path, cwd: out }, ["bundle.json", "bundle.json.minisig"]);
  const ok = await runCommand("minisign", ["-Vm", join(out, "bundle.json"), "-p", `${keyA}.pub`]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout + ok.stderr, /Signature and comment signature verified/);
  assert.match(ok.stdout + ok.stderr, new RegExp(`Trusted comment: snapshelf bundle ${SNAP} exported-at`));
  const foreign = await runCommand("minisign", ["-Vm", join(out, "bundle.json"), "-p", `${keyB}.pub`]);
  assert.notEqual(foreign.code, 0, "another key does not verify it");
  const text = await readFile(join(out, "bundle.json"), "utf8");
  await writeFile(join(out, "bundle.json"), text.replace('"kind": "snap"', '"kind":  "snap"'));
  const changed = await runCommand("minisign", ["-Vm", join(out, "bundle.json"), "-p", `${keyA}.pub`]);
  assert.notEqual(changed.code, 0, "a changed bundle.json does not verify");
});

describe("a store that knows an operator key", () => {
  let store: string;
  before(async () => {
    store = newStore("store-signed");
    const res = await imp(store, ["--signed-by", `${keyA}.pub`, dirs.a1]);
    assert.match(res.stdout, /imported hello-offline revision/);
    const trust = JSON.parse(await readFile(join(store, "state", "trust.json"), "utf8")) as {
      "operator-keys": { "key-id": string }[];
    };
    assert.equal(trust["operator-keys"].length, 1);
  });

  test("refuses an unsigned bundle, naming it", async () => {
    await refused(
      store,
      [dirs.unsigned],
      /cannot import bundle .*export-unsigned\/hello-offline\.snapshelf\.tar: it is not signed/,
    );
  });

  test("refuses a bundle signed by a key it does not know", async () => {
    await refused(
      store,
      [dirs.b],
      /bundle .*export-b\/hello-offline\.snapshelf\.tar: it is signed by operator key [0-9A-F]{16}, which this store does not know/,
    );
  });

  test("refuses a bundle whose bundle.json changed after signing (one byte)", async () => {
    const bad = await tampered(join(dirs.a2, BUNDLE), "json", (b) => {
      const at = b.indexOf('"exported-at": "') + '"exported-at": "'.length + 3;
      b[at] = b[at] === 0x31 ? 0x32 : 0x31; // another year digit: still valid JSON and a valid time
    });
    await refused(
      store,
      [bad],
      /cannot import bundle .*tampered\/json\/hello-offline\.snapshelf\.tar: signature by operator key [0-9A-F]{16} does not verify/,
    );
  });

  test("refuses a bundle with a changed entry (one byte of a blob)", async () => {
    const bad = await tampered(join(dirs.a2, BUNDLE), "blob", (b) => {
      b[b.length - 1024 - 600] = (b[b.length - 1024 - 600] ?? 0) ^ 0x01; // inside the last entry (a blob), before the end-of-archive blocks
    });
    await refused(
      store,
      [bad],
      /cannot read bundle .*tampered\/blob\/hello-offline\.snapshelf\.tar: entry "blobs\/.*" has sha3-384/,
    );
  });

  test("refuses a changed signature", async () => {
    const bad = await tampered(join(dirs.a2, BUNDLE), "sig", (b) => {
      const at = b.indexOf("trusted comment: snapshelf bundle") + "trusted comment: ".length;
      b[at] = 0x53; // "S"
    });
    await refused(
      store,
      [bad],
      /cannot import bundle .*tampered\/sig\/.*: signature by operator key [0-9A-F]{16}: trusted comment does not verify/,
    );
  });

  test("no rollback: after export 2 of key A, export 1 is refused unless --allow-older", async () => {
    await imp(store, [dirs.a2]);
    await refused(
      store,
      [dirs.a1],
      /cannot import bundle .*export-a1\/hello-offline\.snapshelf\.tar: it is export 1 of operator key [0-9A-F]{16}, but hello-offline was imported from export 2; --allow-older/,
    );
    // the same bundle again is not older
    await imp(store, [dirs.a2]);
    const res = await imp(store, ["--allow-older", dirs.a1]);
    assert.match(res.stderr, /imported older bundle .* \(--allow-older\)/);
    const audit = (await readFile(join(store, "state", "audit.jsonl"), "utf8")).trim().split("\n");
    const last = JSON.parse(audit.at(-1) ?? "{}") as Record<string, unknown>;
    assert.deepEqual(last["allow-older"], [join(dirs.a1, BUNDLE)]);
  });

  test("status shows the export time per snap, the operator key, and warns past the age limit", async () => {
    const res = await snapshelf(["status", "--dir", store]);
    assert.match(res.stdout, /operator key: [0-9A-F]{16}/);
    assert.match(
      res.stdout,
      /exported: +hello-offline at \d{4}-\d\d-\d\dT[^ ]+ \(0 days ago, key [0-9A-F]{16} export 1\)/,
    );
    assert.doesNotMatch(res.stdout, /warning:/);
    const json = JSON.parse((await snapshelf(["status", "--dir", store, "--json"])).stdout) as {
      bundles: { snaps: { name: string; exportedAt?: string }[] };
    };
    assert.ok(json.bundles.snaps.find((s) => s.name === SNAP)?.exportedAt);
    // a store whose last bundle of the snap is old: warn (--max-export-age 0 and a bundle of yesterday)
    const trustFile = join(store, "state", "trust.json");
    const trust = JSON.parse(await readFile(trustFile, "utf8")) as { snaps: Record<string, { "exported-at": string }> };
    const copy = join(work, "store-old");
    await runCommand("cp", ["-a", store, copy]);
    trust.snaps[SNAP]!["exported-at"] = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await writeFile(join(copy, "state", "trust.json"), JSON.stringify(trust));
    const old = await snapshelf(["status", "--dir", copy, "--max-export-age", "2"]);
    assert.match(old.stdout, /warning: +hello-offline is served from a bundle exported 3 days ago .*more than 2/);
  });
  test("--allow-unsigned lets an unsigned bundle in, and the audit log says so", async () => {
    const res = await imp(store, ["--allow-unsigned", "--allow-older", dirs.unsigned]);
    assert.match(res.stderr, /without a trusted signature \(--allow-unsigned\): it is not signed/);
    const audit = (await readFile(join(store, "state", "audit.jsonl"), "utf8")).trim().split("\n");
    const last = JSON.parse(audit.at(-1) ?? "{}") as Record<string, unknown>;
    assert.deepEqual(last["allow-unsigned"], [join(dirs.unsigned, BUNDLE)]);
  });
});

describe("bundles of the previous format (1)", () => {
  let v1: string;
  before(async () => {
    // the unsigned bundle rewritten as version 1: no exported-at, no signer (no components: format 3)
    const src = join(work, "v1-src");
    await mkdir(src, { recursive: true });
    await extract({ file: join(dirs.unsigned, BUNDLE), cwd: src });
    const doc = JSON.parse(await readFile(join(src, "bundle.json"), "utf8")) as Record<string, unknown>;
    doc["version"] = 1;
    delete doc["exported-at"];
    delete doc["components"];
    await writeFile(join(src, "bundle.json"), `${JSON.stringify(doc, null, 2)}\n`);
    const names = (await tarEntries(join(dirs.unsigned, BUNDLE))).map((e) => e.path);
    v1 = join(work, "v1", BUNDLE);
    await mkdir(join(work, "v1"), { recursive: true });
    await createTar({ file: v1, cwd: src, portable: true, noDirRecurse: true }, names);
  });

  test("import into a store that knows no operator key", async () => {
    const store = newStore("store-v1");
    const res = await imp(store, [v1]);
    assert.match(res.stdout, /imported hello-offline revision/);
  });

  test("are refused by a store that knows one (unsigned)", async () => {
    const store = newStore("store-v1-signed");
    await imp(store, ["--signed-by", `${keyA}.pub`, dirs.a1]);
    await refused(store, [v1], /cannot import bundle .*v1\/hello-offline\.snapshelf\.tar: it is not signed/);
  });
});

describe("bundles split in parts (--max-file-size)", () => {
  let split: string;
  let maxSize: number;
  before(async () => {
    const doc = await bundleJson(join(dirs.a2, BUNDLE));
    const largest = Math.max(...(doc["revisions"] as { size: number }[]).map((r) => r.size));
    maxSize = Math.max(4096, Math.floor(largest / 3));
    split = join(work, "export-split");
    await exportTo(split, ["--sign-key", keyA, "--max-file-size", String(maxSize)]);
  });

  test("no file exceeds the size, a blob included; import reassembles and verifies", async () => {
    const files = (await readdir(split)).filter((n) => !n.startsWith("."));
    const parts = files.filter((n) => /^hello-offline\.snapshelf\.tar\.\d{3}$/.test(n)).sort();
    assert.ok(parts.length >= 3, `split in parts: ${files.join(" ")}`);
    assert.ok(files.includes(`${BUNDLE}.parts.json`));
    assert.ok(!files.includes(BUNDLE), "no whole bundle beside the parts");
    for (const f of files) assert.ok((await stat(join(split, f))).size <= maxSize, `${f} fits`);
    // cat of the parts is the bundle (as split(1) would have made it)
    const whole = Buffer.concat(await Promise.all(parts.map((p) => readFile(join(split, p)))));
    const manifest = JSON.parse(await readFile(join(split, `${BUNDLE}.parts.json`), "utf8")) as { size: number };
    assert.equal(whole.length, manifest.size);
    const store = newStore("store-split");
    const res = await imp(store, ["--signed-by", `${keyA}.pub`, split]);
    assert.match(res.stdout, /imported hello-offline revision/);
  });

  test("a damaged part is refused, naming it", async () => {
    const store = newStore("store-split-bad");
    await imp(store, ["--signed-by", `${keyA}.pub`, dirs.a1]);
    const bad = join(work, "split-bad");
    await runCommand("cp", ["-a", split, bad]);
    const part = join(bad, `${BUNDLE}.002`);
    const bytes = await readFile(part);
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    await writeFile(part, bytes);
    await refused(
      store,
      [bad],
      /cannot read bundle .*split-bad\/hello-offline\.snapshelf\.tar\.parts\.json: part hello-offline\.snapshelf\.tar\.002 has sha3-384/,
    );
  });
});
