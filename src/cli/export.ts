import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import type { Assertion } from "../assertions/types.js";
import { MIN_MAX_FILE_SIZE, parseSize } from "../bundle/parts.js";
import type { StoreManifest } from "../export/manifest.js";
import type { ExportRequest } from "../export/requests.js";
import { checkArchOption } from "../model/option-checks.js";
import { DEFAULT_UPSTREAM } from "../upstream/endpoint.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason } from "../util/fs.js";
import { formatBytes, Progress } from "../util/progress.js";
import { addWaitOption, collect, note, out, waitFrom } from "./common.js";

function countArg(v: string): number {
  if (!/^[1-9][0-9]?$/.test(v)) throw new InvalidArgumentError("a number from 1 to 99");
  return Number(v);
}

interface ExportFlags {
  channel?: string[];
  arch?: string[];
  exportDir: string;
  withDeps?: boolean;
  since?: string;
  from?: string;
  upstream: string;
  trustedRoot?: string[];
  validationSet?: string[];
  parallel: number;
  retries: number;
  quiet?: boolean;
  signKey?: string;
  passphraseFile?: string;
  maxFileSize?: number;
  wait?: number | true;
  component?: string[];
}

function sizeArg(v: string): number {
  const n = parseSize(v);
  if (n === undefined || n < MIN_MAX_FILE_SIZE)
    throw new InvalidArgumentError(`a size of at least ${MIN_MAX_FILE_SIZE} bytes (e.g. 4000M, 2G)`);
  return n;
}

/** `export --help`: what export does, resolving channels, updates, --from and resuming. */
const EXPORT_DESCRIPTION =
  "On a connected machine: fetch snaps from the public store (or --upstream),\n" +
  "verify every blob (sha3-384, size) and assertion chain exactly as\n" +
  "`snapshelf import` will, and write one bundle per snap into the export\n" +
  "directory: <name>.snapshelf.tar with the blobs, the assertions byte for byte\n" +
  "and the store metadata (title, summary, publisher, media, default track, the\n" +
  "channel map with release times). Carry the directory across the air gap and\n" +
  "run `snapshelf import DIR` there. Nothing is written unless all verifies.\n" +
  "--sign-key signs each bundle.json (minisign format) for stores that know the key;\n" +
  "bundles larger than --max-file-size are split in parts (NAME.snapshelf.tar.001, ...,\n" +
  "and NAME.snapshelf.tar.parts.json), so they fit FAT32 sticks.\n\n" +
  "Each --channel (default stable) is resolved per --arch (default amd64) as\n" +
  "the store does: a bare risk is in the snap's default track, an empty risk\n" +
  "follows the next more stable one, a branch must exist. Devices also need each\n" +
  "snap's base, the snapd snap (or core) and content providers: --with-deps\n" +
  "exports them too (from stable); without it, each missing one is a warning.\n\n" +
  "Updates: run `snapshelf manifest` on the offline store, bring the file back\n" +
  "and pass it as --since: bundles then leave out every revision and assertion\n" +
  "the store has (they still carry the channel map, so channels move on). With\n" +
  "--since and no names, everything the store holds is exported again, each snap\n" +
  "with the channels and architectures it was exported with.\n\n" +
  "--from LIST names snaps the way `store-admin export snaps --from-yaml` does:\n" +
  "  packages:\n" +
  "    - name: hello\n" +
  "      channels: [stable, candidate]     # without a revision (default --channel)\n" +
  "      arches: [amd64, arm64]             # default --arch\n" +
  "    - name: core22\n" +
  "      revision: 1380                     # exactly this revision\n" +
  "      push_channel: stable               # and release it there on import\n\n" +
  "An interrupted export resumes where it stopped: partial downloads are kept\n" +
  "in DIR/.partial, finished ones in DIR/.cache (dropped once bundled).\n" +
  "HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.";

export function registerExport(program: Command): void {
  const cmd = program.command("export");
  addWaitOption(cmd);
  cmd
    .summary("download snaps from the online store into bundles for an offline store")
    .description(EXPORT_DESCRIPTION)
    .argument("[name...]", "snaps to export")
    .option("--channel <channel>", "channel to export (repeatable; default stable)", collect)
    .option("--arch <arch>", "device architecture (repeatable; default amd64)", collect)
    .option("--export-dir <dir>", "where bundles are written", "export")
    .option("--with-deps", "also export bases, snapd/core and content providers, transitively")
    .option(
      "--component <name>",
      "carry only this component of the exported revisions (repeatable; default: all their components)",
      collect,
    )
    .option(
      "--since <manifest>",
      "leave out what this `snapshelf manifest` output lists (no names: export all it holds)",
    )
    .option("--from <list>", "export the snaps this YAML list names (store-admin's --from-yaml shape)")
    .option("--upstream <url>", "store API to export from", DEFAULT_UPSTREAM)
    .option(
      "--trusted-root <file>",
      "trust this root (account + account-key assertions) besides Canonical's (repeatable)",
      collect,
    )
    .option(
      "--validation-set <account/name[=seq]>",
      "also export this validation set (latest, or SEQ) into an assertions bundle (repeatable)",
      collect,
    )
    .option("--parallel <n>", "downloads at once", countArg, 4)
    .option("--retries <n>", "tries per request on network errors and 5xx, with exponential backoff", countArg, 5)
    .option("--quiet", "no progress, only warnings and results")
    .option("--sign-key <file>", "sign every bundle with this operator key (`snapshelf keygen`)")
    .option("--passphrase-file <file>", "passphrase of an encrypted --sign-key (else $SNAPSHELF_KEY_PASSPHRASE)")
    .option(
      "--max-file-size <size>",
      "split bundles so that no file is larger (bytes, or K/M/G; default just under 4 GiB, for FAT32)",
      sizeArg,
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  snapshelf export firefox --with-deps                      # firefox, gnome, core22, snapd...\n" +
        "  snapshelf export lxd --channel 5.21/stable --arch amd64 --arch arm64\n" +
        "  snapshelf export --since have.json --with-deps firefox    # only what the store lacks\n" +
        "  snapshelf export --since have.json                        # the monthly update of everything\n" +
        "  snapshelf export --from snaps.yaml\n" +
        "  snapshelf import --dir /srv/snaps export/                  # on the offline side\n",
    )
    .action(runExport);
}

/** Canonical's roots and those of the --trusted-root files. */
async function readRootFiles(files: readonly string[]): Promise<Assertion[]> {
  const [{ decodeStream }, { canonicalRoots, checkTrustedRoots }] = await Promise.all([
    import("../assertions/parse.js"),
    import("../assertions/trust.js"),
  ]);
  const roots = [...canonicalRoots()];
  for (const f of files) {
    let buf: Buffer;
    try {
      buf = await readFile(f);
    } catch (err) {
      throw new SnapshelfError("input-unreadable", `cannot read ${f}: ${fsErrorReason(err)}`);
    }
    roots.push(...checkTrustedRoots(decodeStream(buf, f), f));
  }
  return roots;
}

/** What --from lists, or with --since and no names everything the offline store holds. */
async function exportRequests(
  names: readonly string[],
  flags: ExportFlags,
  since: StoreManifest | undefined,
  warn: (line: string) => void,
): Promise<ExportRequest[]> {
  const { readExportList, requestsFromManifest } = await import("../export/requests.js");
  const requests = flags.from === undefined ? [] : await readExportList(flags.from);
  if (names.length === 0 && flags.from === undefined && since !== undefined) {
    // everything the offline store holds, as it was exported (--channel/--arch override)
    for (const r of requestsFromManifest(since, warn)) {
      requests.push({
        name: r.name,
        ...(flags.channel === undefined && r.channels !== undefined ? { channels: r.channels } : {}),
        ...(flags.arch === undefined && r.arches !== undefined ? { arches: r.arches } : {}),
      });
    }
    if (requests.length === 0)
      throw new SnapshelfError("invalid-argument", `cannot export: ${flags.since} lists nothing to follow`);
  }
  return requests;
}

async function runExport(names: string[], flags: ExportFlags): Promise<void> {
  for (const a of flags.arch ?? []) checkArchOption(a);
  const progress = new Progress(process.stderr, flags.quiet ? { quiet: true } : {});
  const { loadExportSigner, readPassphrase } = await import("../export/signing.js");
  const signer =
    flags.signKey === undefined
      ? undefined
      : await loadExportSigner(resolve(flags.signKey), await readPassphrase(flags.passphraseFile));
  const roots = await readRootFiles(flags.trustedRoot ?? []);
  // undici and the export pipeline load with this verb only: undici alone is a quarter of
  // every other command's start-up
  const [{ EnvHttpProxyAgent }, { exportSnaps }, { UpstreamClient }] = await Promise.all([
    import("undici"),
    import("../export/export.js"),
    import("../upstream/client.js"),
  ]);
  // connected machines often reach the store through a proxy (NO_PROXY honoured)
  const proxied = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"].some((k) => process.env[k]);
  const client = new UpstreamClient({
    baseUrl: flags.upstream,
    ...(proxied ? { dispatcher: new EnvHttpProxyAgent() } : {}),
    attempts: flags.retries,
    log: (line) => progress.warn(line),
  });
  const { readManifestFile } = await import("../export/manifest.js");
  const since = flags.since === undefined ? undefined : await readManifestFile(flags.since);
  const requests = await exportRequests(names, flags, since, (line) => progress.warn(line));
  const res = await exportSnaps({
    names,
    requests,
    ...(flags.channel === undefined ? {} : { channels: flags.channel }),
    ...(flags.arch === undefined ? {} : { arches: flags.arch }),
    exportDir: resolve(flags.exportDir),
    withDeps: flags.withDeps === true,
    ...(since === undefined ? {} : { since }),
    roots,
    validationSets: flags.validationSet ?? [],
    client,
    parallel: flags.parallel,
    progress,
    ...(signer === undefined ? {} : { signer }),
    ...(flags.maxFileSize === undefined ? {} : { maxFileSize: flags.maxFileSize }),
    ...(flags.component === undefined ? {} : { components: flags.component }),
    ...waitFrom(flags),
  });
  for (const b of res.bundles) {
    const revs = b.revisions.length === 0 ? "no new revisions" : `revisions ${b.revisions.join(", ")}`;
    const comps = b.components === undefined ? "" : `, components ${b.components.join(", ")}`;
    out(
      b.kind === "snap"
        ? `wrote ${b.path}: ${revs}${comps}, ${b.assertions} assertions, ${b.channels} channel entries (${formatBytes(b.size)})`
        : `wrote ${b.path}: validation set ${b.name}, ${b.assertions} assertions (${formatBytes(b.size)})`,
    );
  }
  if (res.warnings.length > 0) note(`${res.warnings.length} warning${res.warnings.length === 1 ? "" : "s"}`);
}
