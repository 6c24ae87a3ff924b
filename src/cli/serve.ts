import { type Command, InvalidArgumentError } from "commander";
import { isServeWorker, parseWorkers, reportListening, startWorkers } from "../serve/workers.js";
import { failedTo } from "../util/errors.js";
import { addDirOption, layoutFrom, note, out } from "./common.js";

function portArg(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > 65535) throw new InvalidArgumentError("a port is 0..65535");
  return n;
}

export function registerServe(program: Command): void {
  addDirOption(
    program
      .command("serve")
      .summary("serve the store to devices")
      .description(
        "Serve the generation in service: static files from the tree and blobs, and the\n" +
          "dynamic store endpoints (refresh, find, device sessions). Read-only: no endpoint\n" +
          "changes the store. It follows the generation in service: `current` is checked\n" +
          "every second (on SIGHUP at once); requests in flight finish where they started.\n" +
          "--port 0 picks a free port; the URL is printed as `serving URL`.\n\n" +
          "--workers N runs N server processes on the one port (`auto`: one per CPU), for\n" +
          "fleets whose refreshes keep one CPU busy; each holds the catalogue in memory.",
      )
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "port to listen on", portArg, 8000)
      .option("--base-url <url>", "URL devices use, if not the one the tree was built for")
      .option("--workers <n>", "server processes sharing the port (a count, or auto)", "1")
      .option(
        "--access-log <file>",
        "append one line per request (nginx combined + arch, snapd version); - for stdout",
      ),
  ).action(
    async (opts: {
      dir?: string;
      host: string;
      port: number;
      baseUrl?: string;
      workers: string;
      accessLog?: string;
    }) => {
      const workers = parseWorkers(opts.workers);
      if (workers > 1 && !isServeWorker()) {
        const url = await startWorkers(workers, note);
        out(`serving ${url} (${workers} workers)`);
        return;
      }
      const layout = layoutFrom(opts);
      const [{ startServer }, { observeServer }] = await Promise.all([
        import("../serve/server.js"),
        import("../serve/observe.js"),
      ]);
      const srv = await startServer(layout, {
        host: opts.host,
        port: opts.port,
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl.replace(/\/+$/, "") } : {}),
        log: note,
      });
      const observer = await observeServer(srv.server, layout, {
        ...(opts.accessLog !== undefined ? { accessLog: opts.accessLog } : {}),
        log: note,
      });
      if (isServeWorker()) reportListening(srv.url);
      else out(`serving ${srv.url}`);
      process.on("SIGHUP", () => {
        try {
          srv.reload();
        } catch (err) {
          note(`error: ${failedTo("reload", err)}`);
        }
      });
      const stop = () => {
        void observer
          .close()
          .then(() => srv.close())
          .then(() => process.exit(0));
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    },
  );
}
