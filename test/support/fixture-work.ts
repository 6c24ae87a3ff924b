/**
 * The start most e2e files share: a work directory, the signed fixture catalogue made in it
 * (`fixtures/`) and, for the ones that serve it, a store holding the whole catalogue, imported
 * and released through the CLI (`store/` unless told another path under the work directory).
 */
import { join } from "node:path";
import { type Manifest, makeFixtures, tmpWorkDir } from "./realclient.js";
import { importFixtures } from "./snapshelf.js";
import { startUpstreamDouble, type UpstreamDouble } from "./upstream-double.js";

export interface FixtureWork {
  readonly work: string;
  readonly fixtures: string;
  readonly manifest: Manifest;
}

/** `.test-work/<name>-<pid>` with the fixture catalogue in its `fixtures/`. */
export async function fixtureWork(name: string): Promise<FixtureWork> {
  const work = await tmpWorkDir(name);
  const fixtures = join(work, "fixtures");
  return { work, fixtures, manifest: await makeFixtures(fixtures) };
}

/** `fixtureWork` and a store at `<work>/<storePath...>` (default `store`) holding the catalogue. */
export async function fixtureStore(name: string, ...storePath: string[]): Promise<FixtureWork & { store: string }> {
  const w = await fixtureWork(name);
  const store = join(w.work, ...(storePath.length === 0 ? ["store"] : storePath));
  await importFixtures(store, w.fixtures, w.manifest);
  return { ...w, store };
}

/** `fixtureWork` and an upstream double serving its catalogue. */
export async function fixtureDouble(name: string): Promise<FixtureWork & { double: UpstreamDouble }> {
  const w = await fixtureWork(name);
  return { ...w, double: await startUpstreamDouble({ fixtures: w.fixtures, manifest: w.manifest }) };
}
