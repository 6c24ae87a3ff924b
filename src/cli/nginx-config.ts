import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_UPSTREAM } from "../nginx/defaults.js";
import { SnapshelfError } from "../util/errors.js";
import { ensureDir, writeFileAtomic } from "../util/fs.js";
import { addDirOption, layoutFrom, note, out } from "./common.js";

interface NginxConfigOpts {
  dir?: string;
  serverName?: string;
  listen?: string;
  upstream?: string;
  tlsCert?: string;
  tlsKey?: string;
  standalone?: boolean;
  user?: string;
  id?: string;
  output?: string;
}

export function registerNginxConfig(program: Command): void {
  addDirOption(
    program
      .command("nginx-config")
      .summary("write an nginx configuration serving the store")
      .description(
        "Write an nginx configuration generated from snapshelf's route table: tree files and blobs\n" +
          "straight from disk (sendfile, Range, exact content types, JSON error bodies), only the\n" +
          "dynamic endpoints (refresh, find, device sessions) proxied to `snapshelf serve`.\n\n" +
          "It names the generation in service: regenerate it after every build and reload nginx\n" +
          "(the units written by `snapshelf install-service` do both). Defaults (server name, port,\n" +
          "path prefix) come from the base URL the tree was built for.\n\n" +
          "Without --standalone the output is an http-level include (maps, upstream, one server\n" +
          "block) for /etc/nginx/conf.d/; with it, a complete nginx.conf for\n" +
          "`nginx -p RUNDIR/ -c FILE -e stderr` (pid, logs and temporary files in RUNDIR).",
      )
      .option("--server-name <name>", "server_name (default: the base URL's host)")
      .option("--listen <addr>", "PORT or ADDR:PORT to listen on (default: the base URL's port)")
      .option("--upstream <url>", `URL of snapshelf serve behind nginx (default ${DEFAULT_UPSTREAM})`)
      .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM, full chain)")
      .option("--tls-key <file>", "private key of --tls-cert")
      .option("--standalone", "a complete nginx.conf, not an include")
      .option("--user <user>", "with --standalone: the user nginx workers run as (must read the store)")
      .option("--id <name>", "prefix of the nginx names defined (several stores in one nginx)", "snapshelf")
      .option("--output <file>", "write here (atomically) instead of stdout")
      .addHelpText(
        "after",
        "\nExamples:\n" +
          "  snapshelf nginx-config --dir /srv/snaps --output /etc/nginx/conf.d/snapshelf.conf && nginx -s reload\n" +
          "  snapshelf nginx-config --dir /srv/snaps --listen 443 --tls-cert /etc/ssl/store.pem --tls-key /etc/ssl/store.key\n",
      ),
  ).action(async (opts: NginxConfigOpts) => {
    if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
      throw new SnapshelfError("usage", "cannot generate nginx configuration: --tls-cert and --tls-key go together");
    }
    if (opts.user !== undefined && !opts.standalone) {
      throw new SnapshelfError("usage", "cannot generate nginx configuration: --user needs --standalone");
    }
    const layout = layoutFrom(opts);
    const [{ renderNginxConfig }, { nginxOptionsFromStore }] = await Promise.all([
      import("../nginx/config.js"),
      import("../nginx/from-store.js"),
    ]);
    const options = await nginxOptionsFromStore(
      layout,
      {
        ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
        ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
        ...(opts.upstream !== undefined ? { upstream: opts.upstream } : {}),
        ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined
          ? { tls: { cert: resolve(opts.tlsCert), key: resolve(opts.tlsKey) } }
          : {}),
        ...(opts.standalone ? { standalone: true } : {}),
        ...(opts.user !== undefined ? { user: opts.user } : {}),
        ...(opts.id !== undefined ? { id: opts.id } : {}),
      },
      note,
    );
    const text = renderNginxConfig(options);
    if (opts.output === undefined) {
      process.stdout.write(text);
      return;
    }
    const file = resolve(opts.output);
    await ensureDir(dirname(file));
    await writeFileAtomic(file, text);
    out(`wrote ${file} for generation ${options.generation}`);
  });
}
