/**
 * The component fixtures (issue 13 §3): test/realclient/local/compgen.sh builds compgen on
 * snapd 2.68.3's tree (it packs components and signs snap-resource-revision and
 * snap-resource-pair with the test store key) and writes `comp-offline` with its components.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ensureRealclient,
  harnessDir,
  type Manifest,
  modernRealclientDir,
  runChecked,
  runProbe,
  SNAPD_2_68,
} from "./realclient.js";
import type { DoubleComponent } from "./upstream-double.js";

export interface CompManifestRevision {
  revision: number;
  version: string;
  "sha3-384": string;
  size: number;
  file: string;
  "snap-revision": string;
  /** Import stage: 1 first, 2 a component-only update of revision 1, 3 revision 2. */
  stage: number;
}

export interface CompManifestComponent {
  name: string;
  /** `component/<type>`, as the store serves it. */
  type: string;
  revision: number;
  version: string;
  "sha3-384": string;
  size: number;
  file: string;
  "snap-resource-revision": string;
  "snap-resource-pairs": string[];
  "snap-revisions": number[];
  stage: number;
}

export interface CompManifest {
  name: string;
  "snap-id": string;
  "publisher-id": string;
  /** Root account, root account-key, store account-key, publisher account. */
  chain: string[];
  "snap-declaration": string;
  revisions: CompManifestRevision[];
  components: CompManifestComponent[];
}

/** Writes the component fixtures into `dir` (about two seconds warm) and returns their manifest. */
export async function makeComponentFixtures(dir: string): Promise<CompManifest> {
  await ensureRealclient(SNAPD_2_68);
  await runChecked("bash", [join(harnessDir(), "local", "compgen.sh"), dir], {
    env: { REALCLIENT_MODERN_DIR: modernRealclientDir() },
    timeoutMs: 900_000,
  });
  return JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as CompManifest;
}

/** `--trusted-root` for the root account and its key, as compgen wrote them under `dir`. */
export function compRootArgs(dir: string, m: CompManifest): string[] {
  return ["--trusted-root", join(dir, m.chain[0] ?? ""), "--trusted-root", join(dir, m.chain[1] ?? "")];
}

/** A probe `-installed` file: comp-offline revision 1 from latest/stable, with extra 1 and docs 1. */
export async function writeInstalledRevision1(path: string, m: CompManifest): Promise<void> {
  await writeFile(
    path,
    JSON.stringify([
      {
        name: "comp-offline",
        "snap-id": m["snap-id"],
        revision: 1,
        channel: "latest/stable",
        epoch: "0",
        resources: { extra: 1, docs: 1 },
      },
    ]),
  );
}

/** A result of the probe's `action`, with the components (`-resources`) it installed. */
export interface CompProbeResult {
  name: string;
  revision: number;
  verified: boolean;
  "verify-error"?: string;
  resources?: { name: string; revision: number; type: string; "sha3-384": string; size: number; file?: string }[];
}

/** snapd 2.68.3's probe on amd64, asking for components (`-resources`): `args` follow. */
async function probeComponents(
  url: string,
  args: readonly string[],
): Promise<{ ok: boolean; error?: string; results: CompProbeResult[] }> {
  const out = await runProbe(url, ["-arch", "amd64", "-resources", ...args], { clients: SNAPD_2_68 });
  return out as unknown as { ok: boolean; error?: string; results: CompProbeResult[] };
}

/** `probeComponents`: install comp-offline from `channel`; with `download`, fetch and verify every blob there. */
export function probeCompInstall(url: string, channel: string, download?: string) {
  return probeComponents(url, [
    "action",
    "-action",
    "install",
    "-name",
    "comp-offline",
    "-channel",
    channel,
    ...(download === undefined ? [] : ["-download", download]),
  ]);
}

/** `probeComponents`: refresh comp-offline as installed in `installedFile`. */
export function probeCompRefresh(url: string, installedFile: string) {
  return probeComponents(url, ["action", "-installed", installedFile, "-action", "refresh", "-name", "comp-offline"]);
}

/** A result's components as `NAME=REV`, in the probe's order. */
export const compsOf = (r: CompProbeResult | undefined): string[] =>
  (r?.resources ?? []).map((x) => `${x.name}=${x.revision}`);

/** The component revision `name`/`revision` of the manifest. */
export function componentOf(m: CompManifest, name: string, revision: number): CompManifestComponent {
  const c = m.components.find((x) => x.name === name && x.revision === revision);
  if (c === undefined) throw new Error(`compgen wrote no ${name} revision ${revision}`);
  return c;
}

/**
 * compgen's catalogue as the upstream double serves it (test/support/upstream-double.ts):
 * comp-offline revision 1 in latest/stable and revision 2 in latest/candidate (amd64), every
 * component revision with the snap revisions it is paired with.
 */
export function componentUpstream(m: CompManifest): { manifest: Manifest; components: DoubleComponent[] } {
  const channels = [
    { channel: "latest/stable", track: "latest", risk: "stable", arch: "amd64", revision: 1, history: [1] },
    { channel: "latest/candidate", track: "latest", risk: "candidate", arch: "amd64", revision: 2, history: [2] },
  ];
  const manifest: Manifest = {
    format: 1,
    generated: new Date(0).toISOString(),
    series: "16",
    "authority-id": "testrootorg",
    "root-key-id": "",
    "store-key-id": "",
    publisher: { "account-id": m["publisher-id"], username: "offline-dev", "display-name": "Offline Dev" },
    architectures: ["amd64"],
    assertions: { "root-account": m.chain[0] ?? "", "root-account-key": m.chain[1] ?? "" },
    "assert-dir": "asserts",
    snaps: [
      {
        name: m.name,
        "snap-id": m["snap-id"],
        type: "app",
        base: "core22",
        summary: "Snap with components",
        "publisher-id": m["publisher-id"],
        "snap-declaration": m["snap-declaration"],
        revisions: m.revisions.map((r) => ({
          revision: r.revision,
          version: r.version,
          architectures: ["amd64"],
          epoch: "0",
          "epoch-rw": { read: [0], write: [0] },
          "sha3-384": r["sha3-384"],
          "snap-sha3-384": Buffer.from(r["sha3-384"], "hex").toString("base64url"),
          size: r.size,
          file: r.file,
          "snap-revision": r["snap-revision"],
          channels: channels.filter((c) => c.revision === r.revision).map((c) => `${c.channel}@${c.arch}`),
        })),
        channels,
      },
    ],
  };
  const components = m.components.map(
    (c): DoubleComponent => ({
      snap: m.name,
      name: c.name,
      type: c.type,
      revision: c.revision,
      version: c.version,
      "sha3-384": c["sha3-384"],
      size: c.size,
      file: c.file,
      "snap-revisions": c["snap-revisions"],
    }),
  );
  return { manifest, components };
}
