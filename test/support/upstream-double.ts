/**
 * A double of the public Snap Store API for export tests: serves a fixture
 * catalogue (made by `makeFixtures`) over real HTTP on 127.0.0.1 through the
 * public API shapes (api.snapcraft.io/docs: info.html, refresh.html;
 * store-protocol.md §4, §6, §10, §11):
 *
 * - `GET v2/snaps/info/NAME[?architecture=A]`: snap metadata, `default-track`
 *   and the channel map (every architecture unless filtered, `released-at`,
 *   no branches, like the real store);
 * - `POST v2/snaps/refresh`: `download`/`install` actions by channel (default
 *   track, risk fallback, exact branches) or revision, for the architecture of
 *   `Snap-Device-Architecture`;
 * - `GET v2/assertions/TYPE/KEY...` (and `?sequence=latest`), JSON 404s;
 * - `GET api/v1/snaps/download/<snap-id>_<rev>.snap` redirecting to
 *   `/cdn/<name>_<rev>.snap`, which honours `Range`;
 * - components (option `components`, e.g. compgen's): refresh results asked for `resources`
 *   list, per component, the newest revision paired with the revision (snapd 2.68.3's
 *   storeResource: `created-at`, `description`, `download` {sha3-384, size, url}, `name`,
 *   `revision`, `type`, `version`), their blobs at `api/v1/snaps/download/<snap-id>+<component>_<rev>.comp`
 *   redirecting to `/cdn/<name>+<component>_<rev>.comp`.
 *
 * Time travel: release histories come from the manifest; `setStep(i)` makes
 * every channel hold `history[min(i, len-1)]`, so successive exports see the
 * channel map advance the way an operator's monthly exports would.
 *
 * Shapes: rebuilt from the real store's recorded answers (test/golden/files/
 * real-store/recorded, checked key by key in test/unit/real-store-shape.test.ts),
 * so the double is never kinder than the real store: alphabetical keys, nulls
 * where the store has no value (`base`, video media sizes), `links` next to the
 * legacy contact/website, categories with `featured`, `common-ids`, a
 * `created-at` per revision that no blob carries, absolute download URLs that
 * redirect to a CDN, `architectures: ["all"]` revisions listed under a device
 * architecture's channel, only the `fields` asked for, and (knob) an empty
 * `snap-yaml`.
 *
 * Fault knobs: corrupt a blob, cut or stall a blob transfer after N bytes
 * (once), answer 503 N times on a path prefix; every request is counted and
 * logged (method, path, Range) so tests can assert "no re-download".
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";
import { list as listTar } from "tar";
import { decodeStream } from "../../src/assertions/parse.js";
import { reducePrimaryKey } from "../../src/assertions/types.js";
import { parseChannel } from "../../src/model/channel.js";
import { RISKS } from "../../src/model/types.js";
import { readSnapYaml } from "../../src/snapfile/read.js";
import { parseSnapYaml } from "../../src/snapfile/snap-yaml.js";
import type { Manifest, ManifestRevision, ManifestSnap } from "./realclient.js";

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly status: number;
}

export interface UpstreamDouble {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The largest useful step (longest release history - 1). */
  readonly maxStep: number;
  /** Serve the catalogue as of history step `i` (default: the last step, i.e. the manifest's current state). */
  setStep(i: number): void;
  /** Requests so far to exactly this path (no query). */
  count(path: string): number;
  /** Every request so far, in order. */
  readonly log: readonly RequestLogEntry[];
  /** The CDN path of a revision's blob: `/cdn/<name>_<rev>.snap`. */
  blobPath(name: string, revision: number): string;
  /** Serve this blob with one byte flipped, every time. */
  corrupt(name: string, revision: number): void;
  /** Answer 404 for assertions whose `TYPE/KEY...` starts with `prefix` (undefined: none). */
  withhold(prefix: string | undefined): void;
  /** Serve this component blob (`NAME+COMPONENT` revision) with one byte flipped, every time. */
  corruptComponent(name: string, component: string, revision: number): void;
  /**
   * Close the connection after sending N bytes of this blob, the next time
   * only; `beforeCut` (e.g. "the client has written them") is awaited first.
   */
  cutOnce(name: string, revision: number, afterBytes: number, beforeCut?: () => Promise<void>): void;
  /** Send N bytes of this blob, then hold the connection open (next time only); resolves once stalled. */
  stallOnce(name: string, revision: number, afterBytes: number): Promise<void>;
  /** Drop the connections of stalled transfers. */
  releaseStalls(): void;
  /** Send `"snap-yaml": ""` for this revision (the real store does for some), every time. */
  blankSnapYaml(name: string, revision: number): void;
  /** Answer 503 to the next `times` requests whose path starts with `prefix`. */
  fail503(prefix: string, times: number): void;
  /** `snapshelf export` arguments: from this double into `dir`, trusting the catalogue's root (`rootArgs`); then `rest`. */
  exportArgs(dir: string, ...rest: string[]): string[];
  close(): Promise<void>;
}

/** A component revision the double serves (from compgen's manifest). */
export interface DoubleComponent {
  /** The snap's name. */
  readonly snap: string;
  readonly name: string;
  /** `component/<type>`. */
  readonly type: string;
  readonly revision: number;
  readonly version: string;
  readonly "sha3-384": string;
  readonly size: number;
  /** The blob, relative to the fixture dir. */
  readonly file: string;
  /** The snap revisions it is paired with. */
  readonly "snap-revisions": readonly number[];
}

export interface UpstreamDoubleOptions {
  /** Directory of the fixture catalogue (holds manifest.json, blobs/, asserts/). */
  readonly fixtures: string;
  readonly manifest: Manifest;
  /** Components of the manifest's snaps (their assertions in the manifest's assert-dir). */
  readonly components?: readonly DoubleComponent[];
  /** Store metadata overrides per snap name (e.g. a default track). */
  readonly defaultTracks?: Readonly<Record<string, string>>;
}

/** The time the double says a release at history index `idx` happened. */
export function releasedAt(idx: number): string {
  return new Date(Date.UTC(2024, 0, 1, 12) + idx * 7 * 86_400_000).toISOString();
}

/**
 * Store metadata the double serves (distinct from snap.yaml, so tests can tell where a value came
 * from), in the shape of the real store's `snap` object (recorded info of hello-world).
 */
export function storeMetaOf(s: ManifestSnap) {
  const title = s.name
    .split("-")
    .map((w) => (w === "" ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join(" ");
  const contact = `mailto:${s.name}@example.org`;
  const website = `https://example.org/${s.name}`;
  return {
    categories: [
      { featured: true, name: "featured" },
      { featured: false, name: s.type === "app" ? "utilities" : "development" },
    ],
    contact,
    description: `Store description of ${s.name}.`,
    license: "MIT",
    links: { contact: [contact], issues: [`${website}/issues`], website: [website, `https://${s.name}.example.com`] },
    media: [
      { height: 256, type: "icon", url: `https://example.org/${s.name}.png`, width: 256 },
      { height: 118, type: "screenshot", url: `https://example.org/${s.name}-1.png`, width: 199 },
      { height: null, type: "video", url: `https://vimeo.com/${s.name}`, width: null },
    ],
    prices: {},
    private: false,
    "store-url": `https://snapcraft.io/${s.name}`,
    summary: `${s.summary} (store listing)`,
    title,
    website,
  };
}

/** The `created-at` the double says a revision has (the real store's format; no blob carries it). */
export function createdAtOf(revision: number): string {
  return `2023-12-${String(1 + (revision % 28)).padStart(2, "0")}T08:31:17.968740+00:00`;
}

/** The `common-ids` the double says a revision has (none for snaps other than hello-offline). */
export function commonIdsOf(s: ManifestSnap): string[] {
  return s.name === "hello-offline" ? ["org.example.hello-offline", "org.example.HelloOffline"] : [];
}

/** An object with its keys in the real store's (alphabetical) order, recursively. */
function storeOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(storeOrder);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, storeOrder(o[k])]),
  );
}

function riskIdx(r: string): number {
  return (RISKS as readonly string[]).indexOf(r);
}

function json(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = JSON.stringify(storeOrder(body));
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startUpstreamDouble(opts: UpstreamDoubleOptions): Promise<UpstreamDouble> {
  const m = opts.manifest;
  const maxStep = Math.max(...m.snaps.flatMap((s) => s.channels.map((c) => c.history.length))) - 1;
  let step = maxStep;

  // snap.yaml of every blob (the store sends it with refresh results, and derives confinement from it)
  const yamls = new Map<string, string>();
  const confinements = new Map<string, string>();
  for (const s of m.snaps) {
    for (const r of s.revisions) {
      const yaml = await readSnapYaml(join(opts.fixtures, r.file));
      yamls.set(`${s.name}_${r.revision}`, yaml);
      confinements.set(`${s.name}_${r.revision}`, parseSnapYaml(yaml, r.file).confinement);
    }
  }
  const blankYamls = new Set<string>();
  // assertions by `type/reduced key`, and sequences of validation sets
  const asserts = new Map<string, Buffer>();
  const sequences = new Map<string, { seq: number; raw: Buffer }[]>();
  const adir = join(opts.fixtures, m["assert-dir"]);
  for (const f of (await readdir(adir)).sort()) {
    for (const a of decodeStream(await readFile(join(adir, f)), f)) {
      asserts.set(`${a.type}/${reducePrimaryKey(a.type, a.primaryKey).join("/")}`, a.raw);
      if (a.type === "validation-set") {
        const k = `${a.type}/${a.primaryKey.slice(0, 3).join("/")}`;
        const list = sequences.get(k) ?? [];
        list.push({ seq: Number(a.primaryKey[3]), raw: a.raw });
        sequences.set(k, list);
      }
    }
  }

  const counts = new Map<string, number>();
  const log: RequestLogEntry[] = [];
  const corrupted = new Set<string>();
  const cuts = new Map<string, { after: number; beforeCut: () => Promise<void> }>();
  const stalls = new Map<string, { after: number; stalled: () => void }>();
  const stalledSockets = new Set<Socket>();
  const fail503s: { prefix: string; left: number }[] = [];
  let withheld: string | undefined;

  const snapByName = (n: string): ManifestSnap | undefined => m.snaps.find((s) => s.name === n);
  const revOf = (s: ManifestSnap, n: number): ManifestRevision | undefined => s.revisions.find((r) => r.revision === n);
  const runsOn = (r: ManifestRevision, arch: string): boolean =>
    r.architectures.includes(arch) || r.architectures.includes("all");
  const defaultTrack = (s: ManifestSnap): string | undefined => opts.defaultTracks?.[s.name] ?? s["default-track"];

  /** Channels of `s` at the current step: [channel entry, revision, history index]. */
  const current = (s: ManifestSnap) =>
    s.channels.map((c) => {
      const idx = Math.min(step, c.history.length - 1);
      return { c, revision: c.history[idx]!, at: releasedAt(idx) };
    });

  const snapLevel = (s: ManifestSnap) => ({
    name: s.name,
    "snap-id": s["snap-id"],
    publisher: {
      id: m.publisher["account-id"],
      username: m.publisher.username,
      "display-name": m.publisher["display-name"],
      validation: "verified",
    },
    ...storeMetaOf(s),
  });

  const revisionLevel = (s: ManifestSnap, r: ManifestRevision, base: string) => ({
    revision: r.revision,
    version: r.version,
    type: s.type,
    base: s.base ?? null,
    "common-ids": commonIdsOf(s),
    confinement: confinements.get(`${s.name}_${r.revision}`) ?? "strict",
    architectures: r.architectures,
    epoch: r["epoch-rw"],
    "created-at": createdAtOf(r.revision),
    download: {
      url: `${base}/api/v1/snaps/download/${s["snap-id"]}_${r.revision}.snap`,
      "sha3-384": r["sha3-384"],
      size: r.size,
      deltas: [],
    },
  });

  const comps = opts.components ?? [];
  /** `resources` of a revision: per component, the newest revision paired with it (none: no key). */
  const resourcesOf = (s: ManifestSnap, r: ManifestRevision, base: string): Record<string, unknown> => {
    const newest = new Map<string, DoubleComponent>();
    for (const c of comps) {
      if (c.snap !== s.name || !c["snap-revisions"].includes(r.revision)) continue;
      const prev = newest.get(c.name);
      if (prev === undefined || prev.revision < c.revision) newest.set(c.name, c);
    }
    if (newest.size === 0) return {};
    return {
      resources: [...newest.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => ({
          "created-at": createdAtOf(c.revision),
          description: `Component ${c.name} of ${s.name}.`,
          download: {
            "sha3-384": c["sha3-384"],
            size: c.size,
            url: `${base}/api/v1/snaps/download/${s["snap-id"]}+${c.name}_${c.revision}.comp`,
          },
          name: c.name,
          revision: c.revision,
          type: c.type,
          version: c.version,
        })),
    };
  };

  const shortName = (track: string, risk: string, branch?: string): string =>
    `${track === "latest" ? "" : `${track}/`}${risk}${branch === undefined ? "" : `/${branch}`}`;

  let baseUrl = "";

  /** Only the fields asked for, as the real store answers (`fields` absent: everything). */
  const only = (o: Record<string, unknown>, fields: readonly string[] | undefined, keep: readonly string[] = []) =>
    fields === undefined
      ? o
      : Object.fromEntries(Object.entries(o).filter(([k]) => fields.includes(k) || keep.includes(k)));

  const info = (
    s: ManifestSnap,
    arch: string | null,
    fields: readonly string[] | undefined,
    res: ServerResponse,
  ): void => {
    const entries = current(s)
      .filter((x) => x.c.branch === undefined && (arch === null || x.c.arch === arch))
      .sort(
        (a, b) =>
          (a.c.track === "latest" ? "" : a.c.track).localeCompare(b.c.track === "latest" ? "" : b.c.track) ||
          riskIdx(a.c.risk) - riskIdx(b.c.risk) ||
          a.c.arch.localeCompare(b.c.arch),
      )
      .map((x) =>
        only(
          {
            channel: {
              architecture: x.c.arch,
              name: shortName(x.c.track, x.c.risk),
              track: x.c.track,
              risk: x.c.risk,
              "released-at": x.at,
            },
            ...revisionLevel(s, revOf(s, x.revision)!, baseUrl),
          },
          fields,
          ["channel"],
        ),
      );
    if (entries.length === 0) {
      json(res, 404, {
        "error-list": [{ code: "resource-not-found", message: `No snap named '${s.name}' found in series '16'.` }],
      });
      return;
    }
    json(res, 200, {
      name: s.name,
      "snap-id": s["snap-id"],
      "default-track": defaultTrack(s) ?? null,
      snap: only(snapLevel(s), fields),
      "channel-map": entries,
    });
  };

  type Action = { action?: string; "instance-key"?: string; name?: string; channel?: string; revision?: number };
  const refreshResult = (a: Action, arch: string, fields: readonly string[] | undefined): Record<string, unknown> => {
    const key = a["instance-key"] ?? "";
    const s = snapByName(a.name ?? "");
    const error = (code: string, message: string, extra?: unknown) => ({
      result: "error",
      "instance-key": key,
      name: a.name ?? "",
      ...(s ? { "snap-id": s["snap-id"] } : {}),
      error: { code, message, ...(extra === undefined ? {} : { extra }) },
    });
    if (!s) return error("name-not-found", `No snap named '${a.name ?? ""}' found`);
    const releases = {
      releases: current(s).map((x) => ({
        architecture: x.c.arch,
        channel: shortName(x.c.track, x.c.risk, x.c.branch),
      })),
    };
    let rev: ManifestRevision | undefined;
    let effective: string | undefined;
    let at: string | undefined;
    if (a.revision !== undefined) {
      rev = revOf(s, a.revision);
      if (!rev || !runsOn(rev, arch)) return error("revision-not-found", `No revision ${a.revision} on ${arch}`);
    } else {
      let req: ReturnType<typeof parseChannel>;
      try {
        req = parseChannel(a.channel ?? "stable");
      } catch {
        return error("revision-not-found", `invalid channel ${a.channel}`, releases);
      }
      const track = req.track ?? defaultTrack(s) ?? "latest";
      const here = current(s).filter((x) => x.c.arch === arch && x.c.track === track);
      let hit: (typeof here)[number] | undefined;
      if (req.branch !== undefined) {
        hit = here.find((x) => x.c.risk === req.risk && x.c.branch === req.branch);
      } else {
        for (let i = riskIdx(req.risk); i >= 0 && !hit; i--) {
          hit = here.find((x) => x.c.risk === RISKS[i] && x.c.branch === undefined);
        }
      }
      if (!hit)
        return error("revision-not-found", `No revision available for channel '${a.channel}' on ${arch}`, releases);
      rev = revOf(s, hit.revision);
      effective = shortName(hit.c.track, hit.c.risk, hit.c.branch);
      at = hit.at;
    }
    return {
      result: a.action === "install" ? "install" : "download",
      "instance-key": key,
      "snap-id": s["snap-id"],
      name: s.name,
      ...(effective === undefined ? {} : { "effective-channel": effective }),
      ...(at === undefined ? {} : { "released-at": at }),
      snap: only(
        {
          ...snapLevel(s),
          ...revisionLevel(s, rev!, baseUrl),
          ...resourcesOf(s, rev!, baseUrl),
          "snap-yaml": blankYamls.has(`${s.name}_${rev!.revision}`)
            ? ""
            : (yamls.get(`${s.name}_${rev!.revision}`) ?? ""),
        },
        fields,
      ),
    };
  };

  const serveBlob = async (req: IncomingMessage, res: ServerResponse, file: string, path: string): Promise<number> => {
    const found =
      m.snaps
        .flatMap((s) => s.revisions.map((r) => ({ s, r })))
        .find((x) => `${x.s.name}_${x.r.revision}.snap` === file)?.r.file ??
      comps.find((c) => `${c.snap}+${c.name}_${c.revision}.comp` === file)?.file;
    if (!found) {
      json(res, 404, { "error-list": [{ code: "not-found", message: "no such blob" }] });
      return 404;
    }
    let data = await readFile(join(opts.fixtures, found));
    if (corrupted.has(path)) {
      data = Buffer.from(data);
      const at = Math.min(4000, data.length - 1);
      data[at] = data[at]! ^ 0xff;
    }
    let start = 0;
    let status = 200;
    const range = req.headers.range;
    const headers: Record<string, string | number> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
    };
    if (range !== undefined) {
      const mm = /^bytes=(\d+)-$/.exec(range);
      if (!mm || Number(mm[1]) >= data.length) {
        res.writeHead(416, { "content-range": `bytes */${data.length}` });
        res.end();
        return 416;
      }
      start = Number(mm[1]);
      status = 206;
      headers["content-range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    headers["content-length"] = body.length;
    const cut = cuts.get(path);
    const stall = stalls.get(path);
    if (cut !== undefined || stall !== undefined) {
      const n = Math.min(body.length - 1, cut?.after ?? stall!.after);
      cuts.delete(path);
      stalls.delete(path);
      res.writeHead(status, headers);
      res.write(body.subarray(0, n), () => {
        if (cut !== undefined) {
          const socket = res.socket;
          void cut.beforeCut().finally(() => socket?.destroy());
        } else {
          if (res.socket) stalledSockets.add(res.socket);
          stall!.stalled();
        }
      });
      return status;
    }
    res.writeHead(status, headers);
    res.end(body);
    return status;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const u = new URL(req.url ?? "/", "http://double");
    const path = u.pathname;
    for (const f of fail503s) {
      if (f.left > 0 && path.startsWith(f.prefix)) {
        f.left--;
        json(res, 503, { "error-list": [{ code: "service-unavailable", message: "try again later" }] });
        return 503;
      }
    }
    const infoMatch = req.method === "GET" ? /^\/v2\/snaps\/info\/([^/]+)$/.exec(path) : null;
    if (infoMatch !== null) {
      if (req.headers["snap-device-series"] !== "16") {
        json(res, 400, {
          "error-list": [{ code: "missing-header", message: "Snap-Device-Series header is required" }],
        });
        return 400;
      }
      const s = snapByName(decodeURIComponent(infoMatch[1]!));
      if (!s) {
        json(res, 404, {
          "error-list": [
            { code: "resource-not-found", message: `No snap named '${infoMatch[1]}' found in series '16'.` },
          ],
        });
        return 404;
      }
      const fields = u.searchParams.get("fields");
      info(s, u.searchParams.get("architecture"), fields === null ? undefined : fields.split(","), res);
      return res.statusCode;
    }
    if (req.method === "POST" && path === "/v2/snaps/refresh") {
      const arch = String(req.headers["snap-device-architecture"] ?? "");
      if (req.headers["snap-device-series"] !== "16" || arch === "") {
        json(res, 400, {
          "error-list": [
            { code: "missing-header", message: "Snap-Device-Series and Snap-Device-Architecture are required" },
          ],
        });
        return 400;
      }
      const body = JSON.parse(await readBody(req)) as { actions?: Action[]; fields?: string[] };
      const results = (body.actions ?? []).map((a) => refreshResult(a, arch, body.fields));
      json(res, 200, { results, "error-list": [] });
      return 200;
    }
    if (req.method === "GET" && path.startsWith("/v2/assertions/")) {
      const ref = path.slice("/v2/assertions/".length).split("/").map(decodeURIComponent).join("/");
      let raw = withheld !== undefined && ref.startsWith(withheld) ? undefined : asserts.get(ref);
      if (u.searchParams.get("sequence") === "latest") {
        const list = sequences.get(ref) ?? [];
        raw = [...list].sort((a, b) => b.seq - a.seq)[0]?.raw;
      }
      if (raw === undefined) {
        json(res, 404, { "error-list": [{ code: "not-found", message: "not found" }] });
        return 404;
      }
      res.writeHead(200, { "content-type": "application/x.ubuntu.assertion", "content-length": raw.length });
      res.end(raw);
      return 200;
    }
    const dlMatch = req.method === "GET" ? /^\/api\/v1\/snaps\/download\/([A-Za-z0-9]+)_(\d+)\.snap$/.exec(path) : null;
    if (dlMatch !== null) {
      const s = m.snaps.find((x) => x["snap-id"] === dlMatch[1]);
      const r = s && revOf(s, Number(dlMatch[2]));
      if (!s || !r) {
        json(res, 404, { "error-list": [{ code: "not-found", message: "no such download" }] });
        return 404;
      }
      res.writeHead(302, { location: `/cdn/${s.name}_${r.revision}.snap`, "content-length": 0 });
      res.end();
      return 302;
    }
    const compMatch =
      req.method === "GET" ? /^\/api\/v1\/snaps\/download\/([A-Za-z0-9]+)\+([a-z0-9-]+)_(\d+)\.comp$/.exec(path) : null;
    if (compMatch !== null) {
      const s = m.snaps.find((x) => x["snap-id"] === compMatch[1]);
      const c = comps.find((x) => x.snap === s?.name && x.name === compMatch[2] && x.revision === Number(compMatch[3]));
      if (!s || !c) {
        json(res, 404, { "error-list": [{ code: "not-found", message: "no such download" }] });
        return 404;
      }
      res.writeHead(302, { location: `/cdn/${c.snap}+${c.name}_${c.revision}.comp`, "content-length": 0 });
      res.end();
      return 302;
    }
    const cdnMatch =
      req.method === "GET" ? /^\/cdn\/([a-z0-9-]+_\d+\.snap|[a-z0-9-]+\+[a-z0-9-]+_\d+\.comp)$/.exec(path) : null;
    if (cdnMatch !== null) {
      return serveBlob(req, res, cdnMatch[1]!, path);
    }
    json(res, 404, { "error-list": [{ code: "not-found", message: `no route ${req.method} ${path}` }] });
    return 404;
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://double").pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    handle(req, res).then(
      (status) => {
        log.push({
          method: req.method ?? "",
          path,
          ...(req.headers.range ? { range: req.headers.range } : {}),
          status,
        });
      },
      (err: unknown) => {
        log.push({ method: req.method ?? "", path, status: 500 });
        if (!res.headersSent) json(res, 500, { "error-list": [{ code: "internal", message: String(err) }] });
        else res.destroy();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("upstream double: no address");
  baseUrl = `http://127.0.0.1:${addr.port}`;

  const cdn = (name: string, revision: number): string => `/cdn/${name}_${revision}.snap`;
  return {
    url: baseUrl,
    maxStep,
    setStep(i: number) {
      if (!Number.isInteger(i) || i < 0 || i > maxStep)
        throw new Error(`upstream double: no step ${i} (0..${maxStep})`);
      step = i;
    },
    count: (path) => counts.get(path) ?? 0,
    log,
    blobPath: cdn,
    corrupt: (name, revision) => {
      corrupted.add(cdn(name, revision));
    },
    withhold: (prefix) => {
      withheld = prefix;
    },
    corruptComponent: (name, component, revision) => {
      corrupted.add(`/cdn/${name}+${component}_${revision}.comp`);
    },
    cutOnce: (name, revision, after, beforeCut) => {
      cuts.set(cdn(name, revision), { after, beforeCut: beforeCut ?? (() => Promise.resolve()) });
    },
    stallOnce: (name, revision, after) =>
      new Promise<void>((resolve) => {
        stalls.set(cdn(name, revision), { after, stalled: resolve });
      }),
    releaseStalls: () => {
      for (const s of stalledSockets) s.destroy();
      stalledSockets.clear();
    },
    blankSnapYaml: (name, revision) => {
      blankYamls.add(`${name}_${revision}`);
    },
    fail503: (prefix, times) => {
      fail503s.push({ prefix, left: times });
    },
    exportArgs: (dir, ...rest) => [
      "export",
      "--upstream",
      baseUrl,
      "--export-dir",
      dir,
      ...rootArgs(opts.fixtures, m),
      ...rest,
    ],
    close: async () => {
      for (const s of stalledSockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Size of a fixture blob (for tests waiting on partial files). */
export async function fileSize(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}

/** `--trusted-root` arguments for the fixture's root account and account-key. */
export function rootArgs(fixtures: string, m: Manifest): string[] {
  return [m.assertions["root-account"], m.assertions["root-account-key"]]
    .filter((x): x is string => x !== undefined)
    .flatMap((f) => ["--trusted-root", join(fixtures, f)]);
}

/** The entries of a tar (path, type, size), in archive order. */
export async function tarEntries(path: string): Promise<{ path: string; type: string; size: number }[]> {
  const out: { path: string; type: string; size: number }[] = [];
  await listTar({ file: path, onReadEntry: (e) => out.push({ path: e.path, type: e.type, size: e.size }) });
  return out;
}

/** The parsed bundle.json of a bundle. */
export async function bundleJson(path: string): Promise<Record<string, unknown>> {
  let text = "";
  await listTar({
    file: path,
    onReadEntry: (e) => {
      if (e.path === "bundle.json") e.on("data", (c: Buffer) => (text += c.toString("utf8")));
      else e.resume();
    },
  });
  return JSON.parse(text) as Record<string, unknown>;
}
