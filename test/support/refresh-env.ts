/**
 * A snap action endpoint's environment over a one-snap catalogue (`hello`, revision 1 on
 * latest/stable for every architecture), and a POST of a request body to it: what the pure
 * refresh tests call `handleRefresh` with.
 */
import { indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { AssertionEntry, RevisionEntry, SnapEntry } from "../../src/catalogue/types.js";
import { GenerationState } from "../../src/routes/generation-state.js";
import type { DynamicEnv, RouteRequest } from "../../src/routes/types.js";

export const HELLO_ID = "h".repeat(32);

export interface HelloEnvOptions {
  readonly description: string;
  readonly arches: readonly string[];
  readonly baseUrl: string;
  readonly assertions?: readonly AssertionEntry[];
}

export function helloRefreshEnv(opts: HelloEnvOptions): DynamicEnv {
  const rev: RevisionEntry = {
    revision: 1,
    version: "1.0",
    type: "app",
    base: "core22",
    confinement: "strict",
    grade: "stable",
    architectures: ["all"],
    epoch: { read: [0], write: [0] },
    sha3_384: "a".repeat(96),
    size: 4096,
    createdAt: "2026-01-01T00:00:00Z",
    snapYaml: "name: hello\n",
    summary: "hello",
    description: opts.description,
    apps: [],
    defaultProviders: [],
  };
  const snap: SnapEntry = {
    name: "hello",
    snapId: HELLO_ID,
    publisher: { id: "pub-id", username: "pub", displayName: "Pub", validation: "unproven" },
    meta: {},
    revisions: [rev],
    channels: [
      {
        track: "latest",
        risk: "stable",
        arch: "all",
        history: [{ revision: 1, releasedAt: "2026-01-02T00:00:00Z", seq: 1 }],
      },
    ],
  };
  const index = indexCatalogue({ snaps: [snap], assertions: [...(opts.assertions ?? [])], arches: [...opts.arches] });
  return { index, state: new GenerationState(index), ctx: { baseUrl: opts.baseUrl }, token: () => "t" };
}

/** A POST of `body` (text as is, anything else as JSON) from a device of `arch`. */
export function postRefresh(body: unknown, arch = "amd64"): RouteRequest {
  return {
    method: "POST",
    params: {},
    query: new URLSearchParams(),
    headers: { "snap-device-architecture": arch },
    body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
  };
}
