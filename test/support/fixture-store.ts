/**
 * A store made in-process from the catalogue committed under
 * test/fixtures/catalogue, with fixed times, so everything rendered from it is
 * deterministic (golden files compare against it).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BuildResult, buildStore } from "../../src/build/build.js";
import { importInputs } from "../../src/ops/import.js";
import { type StoreLayout, storeLayout } from "../../src/store/layout.js";
import { releaseRevision } from "../../src/store/release.js";
import type { Manifest } from "./realclient.js";
import { releaseOrder } from "./snapshelf.js";
import { repoRoot } from "./work-dir.js";

export const FIXTURE_BASE_URL = "http://store.test:8000";
export const FIXTURE_EPOCH = Date.parse("2026-01-01T00:00:00Z");

export function committedCatalogue(): string {
  return join(repoRoot(), "test", "fixtures", "catalogue");
}

export async function committedManifest(): Promise<Manifest> {
  return JSON.parse(await readFile(join(committedCatalogue(), "manifest.json"), "utf8")) as Manifest;
}

/** Imports the committed catalogue into `dir` (roots, assertions, blobs, releases in history order). */
export async function makeFixtureStore(dir: string): Promise<StoreLayout> {
  const cat = committedCatalogue();
  const m = await committedManifest();
  const layout = storeLayout(dir);
  const now = new Date(FIXTURE_EPOCH);
  const roots = [m.assertions["root-account"], m.assertions["root-account-key"]].filter((x): x is string => !!x);
  await importInputs(layout, [join(cat, m["assert-dir"])], { trustedRoots: roots.map((r) => join(cat, r)), now });
  const blobs = m.snaps.flatMap((s) => s.revisions.map((r) => join(cat, r.file)));
  await importInputs(layout, blobs, { now });
  let minute = 0;
  for (const e of releaseOrder(m)) {
    minute++;
    await releaseRevision(layout, e.name, e.revision, [e.channel], {
      arch: e.arch,
      now: new Date(FIXTURE_EPOCH + minute * 60_000),
    });
  }
  return layout;
}

export function buildFixtureStore(layout: StoreLayout): Promise<BuildResult> {
  return buildStore(layout, { baseUrl: FIXTURE_BASE_URL });
}
