/**
 * Helpers of the operations e2e tests (test/e2e/operations*.test.ts): copies
 * of one imported store, the CLI on a store, waiting for a running `serve` to
 * switch generations, the real client's refresh, and the audit log.
 */
import assert from "node:assert/strict";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Manifest, type RunResult, runProbe } from "./realclient.js";
import { snapshelf, snapshelfRaw } from "./snapshelf.js";

/** `snapshelf VERB ARGS --dir STORE`, failing the test on a non-zero exit. */
export function cli(store: string, verb: string, ...args: string[]): Promise<RunResult> {
  return snapshelf([verb, "--dir", store, ...args]);
}

/** The same, returning whatever happened. */
export function cliRaw(store: string, verb: string, ...args: string[]): Promise<RunResult> {
  return snapshelfRaw([verb, "--dir", store, ...args]);
}

/** `snapshelf VERB --json ...` parsed. */
export async function cliJson<T>(store: string, verb: string, ...args: string[]): Promise<T> {
  const r = await cli(store, verb, ...args, "--json");
  return JSON.parse(r.stdout) as T;
}

/** A copy of an imported store (copying the directory moves a store). */
export async function copyStore(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true });
  return to;
}

/** The generation that answered a request (`Snapshelf-Generation`). */
export async function servedGeneration(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/snaps/sections`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return Number(res.headers.get("snapshelf-generation"));
}

/**
 * Waits until the server at `url` answers from `generation` (it checks
 * `current` every second). Bounded: fails after `tries` polls 100 ms apart.
 */
export async function waitForGeneration(url: string, generation: number, tries = 300): Promise<void> {
  let got = 0;
  for (let i = 0; i < tries; i++) {
    got = await servedGeneration(url);
    if (got === generation) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`server ${url} still answers from generation ${got}, not ${generation}`);
}

/** The audit log's operations, oldest first (through `snapshelf log --json`). */
export async function auditOps(store: string): Promise<{ op: string; [k: string]: unknown }[]> {
  return cliJson(store, "log");
}

let installedFiles = 0;

/** What the real client's refresh of NAME from REVISION (tracking CHANNEL) returns: a revision, or the error kind. */
export async function probeRefresh(
  url: string,
  work: string,
  m: Manifest,
  name: string,
  revision: number,
  opts: { arch?: string; channel?: string; epoch?: string } = {},
): Promise<number | string> {
  const snapId = m.snaps.find((s) => s.name === name)?.["snap-id"];
  assert.ok(snapId, `${name} in the manifest`);
  const file = join(work, `installed-${process.pid}-${++installedFiles}.json`);
  await writeFile(
    file,
    JSON.stringify([
      { name, "snap-id": snapId, revision, channel: opts.channel ?? "latest/stable", epoch: opts.epoch ?? "0" },
    ]),
  );
  const out = await runProbe(url, [
    "-arch",
    opts.arch ?? "amd64",
    "action",
    "-installed",
    file,
    "-action",
    "refresh",
    "-name",
    name,
  ]);
  return answer(out);
}

/** What the real client's install of NAME returns: a revision, or the error kind. */
export async function probeInstall(
  url: string,
  name: string,
  opts: { arch?: string; channel?: string } = {},
): Promise<number | string> {
  const out = await runProbe(url, [
    "-arch",
    opts.arch ?? "amd64",
    "action",
    "-action",
    "install",
    "-name",
    name,
    ...(opts.channel ? ["-channel", opts.channel] : []),
  ]);
  return answer(out);
}

function answer(out: Record<string, unknown>): number | string {
  if (out["ok"] !== true) return String(out["error-kind"] ?? out["error"] ?? "error");
  const results = out["results"] as { revision: number }[] | undefined;
  assert.equal(results?.length, 1, JSON.stringify(out));
  return results?.[0]?.revision ?? "none";
}

/** The revision of NAME current in CHANNEL on ARCH in the manifest. */
export function headOf(m: Manifest, name: string, channel: string, arch = "amd64"): number {
  const ch = m.snaps.find((s) => s.name === name)?.channels.find((c) => c.channel === channel && c.arch === arch);
  assert.ok(ch, `${name} ${channel}@${arch} in the manifest`);
  return ch.revision;
}
