/**
 * A steady load of device requests for tests that change a store while it
 * serves: each loop posts snapd-shaped refresh-all and install bodies, then
 * downloads every blob named and checks it against its sha3-384 (and, if
 * asked, fetches an info answer as `snap info` does). Every non-200 answer,
 * dropped connection or wrong blob is a failure; the caller asserts none.
 */
import { createHash } from "node:crypto";
import type { Manifest } from "./realclient.js";
import { installBody, refreshAllBody, snapdHeaders } from "./snapd-request.js";

export interface WireResult {
  result: string;
  name?: string;
  error?: { code: string };
  snap?: { name: string; revision: number; download: { url: string; "sha3-384": string; size: number } };
}

export interface DeviceLoadOptions {
  /** Base URL the devices talk to. */
  readonly url: string;
  readonly manifest: Manifest;
  /** Concurrent device loops (even ones amd64, odd ones arm64). */
  readonly workers: number;
  /** Names each loop installs: the ones not imported yet answer name-not-found until they are. */
  readonly installNames: readonly string[];
  /** Also ask the info answer of this snap in every loop. */
  readonly infoName?: string;
}

export interface DeviceLoad {
  readonly failures: string[];
  readonly stats: { refreshes: number; installs: number; downloads: number; bytes: number };
  /** One refresh POST through the same checks; its results. */
  post(what: string, body: string, arch: string): Promise<WireResult[]>;
  /** Ends every loop after its current request and waits for them. */
  stop(): Promise<void>;
}

export function startDeviceLoad(o: DeviceLoadOptions): DeviceLoad {
  const failures: string[] = [];
  const stats = { refreshes: 0, installs: 0, downloads: 0, bytes: 0 };
  let stopped = false;

  const fetchChecked = async (what: string, input: string, init: RequestInit = {}): Promise<Response | undefined> => {
    try {
      const res = await fetch(input, { ...init, signal: AbortSignal.timeout(15_000) });
      if (res.status !== 200) {
        failures.push(`${what}: status ${res.status}: ${(await res.text()).slice(0, 200)}`);
        return undefined;
      }
      return res;
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message} ${String((e as Error).cause ?? "")}`);
      return undefined;
    }
  };

  const download = async (r: WireResult): Promise<void> => {
    const d = r.snap?.download;
    if (!d) return;
    const res = await fetchChecked(`download ${r.snap?.name} r${r.snap?.revision}`, d.url);
    if (!res) return;
    const body = Buffer.from(await res.arrayBuffer());
    stats.downloads++;
    stats.bytes += body.length;
    if (body.length !== d.size || createHash("sha3-384").update(body).digest("hex") !== d["sha3-384"]) {
      failures.push(`download ${d.url}: ${body.length} bytes, not the advertised blob`);
    }
  };

  const post = async (what: string, body: string, arch: string): Promise<WireResult[]> => {
    const res = await fetchChecked(what, `${o.url}/v2/snaps/refresh`, {
      method: "POST",
      headers: snapdHeaders(arch, { auto: true }),
      body,
    });
    if (!res) return [];
    const v = (await res.json()) as { results?: WireResult[] };
    if (!Array.isArray(v.results)) failures.push(`${what}: no results`);
    return v.results ?? [];
  };

  const loop = async (w: number): Promise<void> => {
    const arch = w % 2 === 0 ? "amd64" : "arm64";
    const refreshBody = refreshAllBody(o.manifest.snaps.map((s) => ({ snapId: s["snap-id"], revision: 1 })));
    while (!stopped) {
      for (const r of await post("refresh-all", refreshBody, arch)) {
        // refresh of every fixture snap: each answers a revision (or the device's own), never an error
        if (r.result === "error" && r.error?.code !== "revision-not-found")
          failures.push(`refresh-all ${r.name}: ${r.error?.code}`);
        await download(r);
      }
      stats.refreshes++;
      for (const r of await post("install", installBody(o.installNames), arch)) {
        if (r.result === "error" && r.error?.code !== "name-not-found" && r.error?.code !== "revision-not-found")
          failures.push(`install ${r.name}: ${r.error?.code}`);
        await download(r);
      }
      stats.installs++;
      if (o.infoName !== undefined) {
        await fetchChecked("info", `${o.url}/v2/snaps/info/${o.infoName}?architecture=${arch}`, {
          headers: snapdHeaders(arch),
        });
      }
    }
  };

  const loops = Promise.all(Array.from({ length: o.workers }, (_, w) => loop(w)));
  return {
    failures,
    stats,
    post,
    stop: async () => {
      stopped = true;
      await loops;
    },
  };
}
