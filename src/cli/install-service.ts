import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, InvalidArgumentError } from "commander";
import { renderUnits, UNIT_TEMPLATES, type UnitTemplate } from "../deploy/units.js";
import { SHIM_PORT_BEHIND_NGINX } from "../nginx/defaults.js";
import { SnapshelfError } from "../util/errors.js";
import { ensureDir, fsErrorReason, writeFileAtomic } from "../util/fs.js";
import { addDirOption, layoutFrom, note, out } from "./common.js";

/** templates/ of this installation (dist/src/cli/ -> the package root). */
export function templatesDir(): string {
  return fileURLToPath(new URL("../../../templates/", import.meta.url));
}

function portArg(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError("a port is 1..65535");
  return n;
}

interface InstallOpts {
  dir?: string;
  user?: string;
  prefix: string;
  name: string;
  bin?: string;
  nginx?: boolean;
  nginxBin: string;
  host?: string;
  port?: number;
  workers?: string;
  listen?: string;
  serverName?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerInstallService(program: Command): void {
  addDirOption(
    program
      .command("install-service")
      .summary("write systemd units that serve the store")
      .description(
        "Write systemd units for the store: NAME-serve.service (snapshelf serve; restarts on failure,\n" +
          "`systemctl reload` puts a new build in service), NAME-reload.path + NAME-reload.service (every\n" +
          "`snapshelf build` triggers that reload) and, with --nginx, NAME-nginx.service (a dedicated nginx\n" +
          "generated from the route table, regenerated at every start and reload; the shim then listens on\n" +
          "127.0.0.1 only). Units go to PREFIX/etc/systemd/system/ (--prefix lets you inspect them first).\n" +
          "The listening port and TLS default from the base URL the store was built for.",
      )
      .option("--user <user>", "run the shim (and nginx's workers) as this user; it must read the store")
      .option("--prefix <dir>", "root to write etc/systemd/system/ under", "/")
      .option("--name <name>", "unit name prefix (several stores on one host)", "snapshelf")
      .option("--bin <path>", "the snapshelf command in the units (default: this one, with this node)")
      .option("--nginx", "serve through a dedicated nginx (static files from disk, shim behind it)")
      .option("--nginx-bin <path>", "nginx binary", "/usr/sbin/nginx")
      .option("--host <addr>", "address the shim listens on (default 0.0.0.0, or 127.0.0.1 behind nginx)")
      .option(
        "--port <port>",
        `port the shim listens on (default: the base URL's, or ${SHIM_PORT_BEHIND_NGINX} behind nginx)`,
        portArg,
      )
      .option("--workers <n>", "serve --workers: shim processes sharing its port (a count, or auto)")
      .option("--listen <addr>", "with --nginx: nginx's PORT or ADDR:PORT (default: the base URL's port)")
      .option("--server-name <name>", "with --nginx: server_name")
      .option("--tls-cert <file>", "with --nginx: serve HTTPS with this certificate")
      .option("--tls-key <file>", "with --nginx: the certificate's key")
      .addHelpText(
        "after",
        "\nExamples:\n" +
          "  snapshelf install-service --dir /srv/snaps --user snapshelf\n" +
          "  snapshelf install-service --dir /srv/snaps --user snapshelf --nginx --tls-cert /etc/ssl/store.pem --tls-key /etc/ssl/store.key\n" +
          "  systemctl daemon-reload && systemctl enable --now snapshelf-serve.service snapshelf-reload.path\n",
      ),
  ).action(runInstallService);
}

async function runInstallService(opts: InstallOpts): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new SnapshelfError("usage", "cannot write systemd units: --tls-cert and --tls-key go together");
  }
  if (!opts.nginx && (opts.listen ?? opts.serverName ?? opts.tlsCert) !== undefined) {
    throw new SnapshelfError("usage", "cannot write systemd units: --listen, --server-name and --tls-* need --nginx");
  }
  const layout = layoutFrom(opts);
  const { readServedTree } = await import("../nginx/from-store.js");
  const tree = await readServedTree(layout);
  const base = new URL(tree.meta.baseUrl);
  const basePort = Number(base.port || (base.protocol === "https:" ? 443 : 80));
  const templates = {} as Record<UnitTemplate, string>;
  for (const t of UNIT_TEMPLATES) {
    const p = join(templatesDir(), t);
    try {
      templates[t] = await readFile(p, "utf8");
    } catch (err) {
      throw new SnapshelfError("install-service", `cannot read template ${p}: ${fsErrorReason(err)}`);
    }
  }
  const nginxArgs = [
    ...(opts.listen !== undefined ? ["--listen", opts.listen] : []),
    ...(opts.serverName !== undefined ? ["--server-name", opts.serverName] : []),
    ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined
      ? ["--tls-cert", resolve(opts.tlsCert), "--tls-key", resolve(opts.tlsKey)]
      : []),
  ];
  const bin =
    opts.bin !== undefined ? [resolve(opts.bin)] : [process.execPath, resolve(process.argv[1] ?? "snapshelf")];
  const units = renderUnits(templates, {
    name: opts.name,
    dir: layout.root,
    bin,
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    host: opts.host ?? (opts.nginx ? "127.0.0.1" : "0.0.0.0"),
    port: opts.port ?? (opts.nginx ? SHIM_PORT_BEHIND_NGINX : basePort),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    // the shim renders download URLs for the base URL each build was made for (never its own address)
    ...(opts.nginx ? { nginx: { bin: opts.nginxBin, args: nginxArgs } } : {}),
  });
  const target = join(resolve(opts.prefix), "etc", "systemd", "system");
  await ensureDir(target);
  for (const [file, text] of units) {
    await writeFileAtomic(join(target, file), text);
    out(`wrote ${join(target, file)}`);
  }
  if (opts.user === undefined)
    note("note: no --user: the shim runs as root (it only reads the store; a dedicated user is better)");
  const enable = [
    `${opts.name}-serve.service`,
    `${opts.name}-reload.path`,
    ...(opts.nginx ? [`${opts.name}-nginx.service`] : []),
  ];
  note(`next: systemctl daemon-reload && systemctl enable --now ${enable.join(" ")}`);
}
