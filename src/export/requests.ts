/**
 * What `export` is asked for, per snap: from names on the command line, from a list file in
 * the shape of Enterprise Store's `store-admin export snaps --from-yaml` (`--from LIST`), or,
 * for `--since MANIFEST` with no names, from what the offline store holds and how it was
 * exported (the manifest's `exported-with`, else the channels it has).
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { parseChannel } from "../model/channel.js";
import { SnapshelfError } from "../util/errors.js";
import { errnoCode } from "../util/fs.js";
import type { StoreManifest } from "./manifest.js";

export interface ExportRequest {
  readonly name: string;
  /** Channels as snapd writes them; absent: the export's --channel (default stable). */
  readonly channels?: readonly string[];
  /** Device architectures; absent: the export's --arch (default amd64). */
  readonly arches?: readonly string[];
  /** Exactly this revision (channels do not apply). */
  readonly revision?: number;
  /** With `revision`: release it to this channel on import. */
  readonly pushChannel?: string;
}

const SNAP_NAME = /^(?=.*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;
const ARCH = /^[a-z0-9]+$/;
const ENTRY_KEYS = ["name", "revision", "channels", "arches", "push_channel"];
const MAX_PACKAGES = 10_000;

/** Parses an export list (YAML); errors name the file and the entry. */
export function parseExportList(text: string, source: string): ExportRequest[] {
  const fail = (where: string, reason: string): SnapshelfError =>
    new SnapshelfError(
      "bad-export-list",
      `cannot read export list ${source}: ${where === "" ? "" : `${where}: `}${reason}`,
    );
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw fail("", `not YAML (${(err as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw fail("", "expected a mapping with a packages: list");
  }
  const packages = (doc as Record<string, unknown>)["packages"];
  if (!Array.isArray(packages) || packages.length === 0) throw fail("packages", "expected a non-empty list");
  if (packages.length > MAX_PACKAGES) throw fail("packages", `more than ${MAX_PACKAGES} entries`);
  const strings = (v: unknown, where: string): string[] => {
    const list = typeof v === "string" ? [v] : v;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === "string" && x !== "")) {
      throw fail(where, "expected a string or a non-empty list of strings");
    }
    return [...new Set(list as string[])];
  };
  const seen = new Set<string>();
  return packages.map((p, i): ExportRequest => {
    const where = `packages[${i}]`;
    if (typeof p !== "object" || p === null || Array.isArray(p)) throw fail(where, "expected a mapping");
    const e = p as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!ENTRY_KEYS.includes(k)) throw fail(`${where}.${k}`, `unknown field (known: ${ENTRY_KEYS.join(", ")})`);
    }
    const name = e["name"];
    if (typeof name !== "string" || !SNAP_NAME.test(name) || name.length > 40) {
      throw fail(`${where}.name`, `expected a snap name, got ${JSON.stringify(name ?? null)}`);
    }
    if (seen.has(name)) throw fail(`${where}.name`, `${name} is listed twice`);
    seen.add(name);
    let revision: number | undefined;
    if (e["revision"] !== undefined) {
      const r = e["revision"];
      revision = typeof r === "string" && /^[1-9][0-9]{0,9}$/.test(r) ? Number(r) : (r as number);
      if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 1) {
        throw fail(`${where}.revision`, `expected a revision number, got ${JSON.stringify(r)}`);
      }
    }
    const channels = e["channels"] === undefined ? undefined : strings(e["channels"], `${where}.channels`);
    const arches = e["arches"] === undefined ? undefined : strings(e["arches"], `${where}.arches`);
    const push = e["push_channel"];
    if (revision !== undefined && channels !== undefined) {
      throw fail(`${where}.channels`, "a revision is exact: channels apply only to entries without one");
    }
    if (push !== undefined && revision === undefined) {
      throw fail(`${where}.push_channel`, "needs a revision (the one to release on import)");
    }
    if (push !== undefined && (typeof push !== "string" || push === "")) {
      throw fail(`${where}.push_channel`, "expected a channel");
    }
    for (const c of [...(channels ?? []), ...(typeof push === "string" ? [push] : [])]) {
      try {
        parseChannel(c);
      } catch (err) {
        throw fail(`${where}`, (err as Error).message);
      }
    }
    for (const a of arches ?? []) {
      if (!ARCH.test(a) || a === "all") throw fail(`${where}.arches`, `invalid architecture ${JSON.stringify(a)}`);
    }
    return {
      name,
      ...(revision === undefined ? {} : { revision }),
      ...(channels === undefined ? {} : { channels }),
      ...(arches === undefined ? {} : { arches }),
      ...(typeof push === "string" ? { pushChannel: push } : {}),
    };
  });
}

export async function readExportList(path: string): Promise<ExportRequest[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SnapshelfError("input-unreadable", `cannot read export list ${path}: ${errnoCode(err) ?? String(err)}`);
  }
  return parseExportList(text, path);
}

/**
 * Everything the offline store holds, as export requests: per snap the channels and
 * architectures it was exported with, or (stores fed otherwise) the channels and
 * architectures it has releases in. `note` hears about each snap left out.
 */
export function requestsFromManifest(m: StoreManifest, note: (line: string) => void): ExportRequest[] {
  const out: ExportRequest[] = [];
  for (const s of m.snaps) {
    if (s.exported !== undefined && s.exported.arches.length > 0) {
      if (s.exported.channels.length === 0) {
        note(`${s.name}: exported by revision only; not followed (name it, or list it in --from)`);
        continue;
      }
      out.push({ name: s.name, channels: s.exported.channels, arches: s.exported.arches });
      continue;
    }
    if (s.channels.length === 0) {
      note(`${s.name}: released nowhere in the offline store and no export recorded; not followed (name it)`);
      continue;
    }
    out.push({
      name: s.name,
      channels: [...new Set(s.channels.map((c) => c.channel))],
      arches: [...new Set(s.channels.map((c) => c.arch))],
    });
  }
  return out;
}
