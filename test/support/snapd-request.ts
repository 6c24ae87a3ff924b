/**
 * Snap action requests as snapd 2.57.6 sends them (captured from the probe,
 * i.e. snapd's own store package): headers and the JSON body of an install
 * or a refresh-all. Used where a test or the bench needs many real-looking
 * requests without spawning a client per request.
 */

import { writeFile } from "node:fs/promises";
import { REFRESH_FIELDS } from "../../src/upstream/wire.js";
import type { Manifest } from "./realclient.js";

/** The headers snapd sends with POST /v2/snaps/refresh (captured from the probe). */
export function snapdHeaders(arch: string, opts: { auto?: boolean } = {}): Record<string, string> {
  return {
    "user-agent": `snapd/2.57.6+harness (series 16; classic; testing) probe debian/12 (${arch}) linux/6.1`,
    accept: "application/json",
    "content-type": "application/json",
    "snap-classic": "true",
    "snap-device-architecture": arch,
    "snap-device-capabilities": "default-tracks",
    "snap-device-series": "16",
    ...(opts.auto ? { "snap-refresh-reason": "scheduled" } : {}),
  };
}

/** The `fields` snapd 2.57.6 asks for: the exporter's list without HEAD's `categories`. */
export const SNAPD_FIELDS: string[] = REFRESH_FIELDS.filter((f) => f !== "categories");

export interface InstalledSnap {
  readonly snapId: string;
  readonly revision: number;
  readonly channel?: string;
  /** Epoch as snapd sends it (read/write sets); default `{read:[0],write:[0]}`. */
  readonly epoch?: { read: number[]; write: number[] };
}

/** A refresh-all (auto-refresh) body for the installed snaps, exactly shaped like snapd's. */
export function refreshAllBody(installed: readonly InstalledSnap[], refreshedDate = "2026-01-01T00:00:00Z"): string {
  return JSON.stringify({
    context: installed.map((s) => ({
      "snap-id": s.snapId,
      "instance-key": s.snapId,
      revision: s.revision,
      "tracking-channel": s.channel ?? "latest/stable",
      epoch: s.epoch ?? { read: [0], write: [0] },
      "refreshed-date": refreshedDate,
    })),
    actions: installed.map((s) => ({
      action: "refresh",
      "instance-key": s.snapId,
      "snap-id": s.snapId,
      "ignore-validation": false,
    })),
    fields: SNAPD_FIELDS,
  });
}

/** An install body (`snap install NAME --channel C` for each name), as snapd's installInfo builds it. */
export function installBody(names: readonly string[], channel = "stable"): string {
  return JSON.stringify({
    context: [],
    actions: names.map((name, i) => ({ action: "install", "instance-key": `install-${i}`, name, channel })),
    fields: SNAPD_FIELDS,
  });
}

/** A probe `-installed` file: every snap of the catalogue at its oldest revision, tracking latest/stable. */
export async function writeInstalledOldest(path: string, manifest: Manifest): Promise<void> {
  const installed = manifest.snaps.map((s) => ({
    name: s.name,
    "snap-id": s["snap-id"],
    revision: s.revisions[0]?.revision ?? 1,
    channel: "latest/stable",
    epoch: s.revisions[0]?.epoch ?? "0",
  }));
  await writeFile(path, JSON.stringify(installed));
}
