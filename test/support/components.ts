/**
 * The component fixtures (issue 13 §3): test/realclient/local/compgen.sh builds compgen on
 * snapd 2.68.3's tree (it packs components and signs snap-resource-revision and
 * snap-resource-pair with the test store key) and writes `comp-offline` with its components.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureRealclient, harnessDir, modernRealclientDir, runChecked, SNAPD_2_68 } from "./realclient.js";

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

/** The component revision `name`/`revision` of the manifest. */
export function componentOf(m: CompManifest, name: string, revision: number): CompManifestComponent {
  const c = m.components.find((x) => x.name === name && x.revision === revision);
  if (c === undefined) throw new Error(`compgen wrote no ${name} revision ${revision}`);
  return c;
}
