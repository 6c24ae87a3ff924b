/**
 * Debian's nginx in front of `snapshelf serve`, for e2e tests: the
 * configuration comes from `snapshelf nginx-config --standalone`, nginx runs
 * as a non-daemon child with every runtime file (pid, logs, temporaries) in
 * a prefix directory under the test's work dir, listening on 127.0.0.1 only.
 */
import { mkdir, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { type StartedProcess, startProcess, waitForHttp } from "./process.js";
import { snapshelf } from "./snapshelf.js";
import { ensureTool } from "./system.js";

export interface StartedNginx {
  readonly url: string;
  /** The prefix directory (`-p`): nginx.pid, access.log, temporaries. */
  readonly prefix: string;
  readonly conf: string;
  readonly proc: StartedProcess;
  /** Regenerates the configuration (the generation in service may have changed) and reloads nginx (SIGHUP). */
  reload(): Promise<void>;
  /** Lines of access.log so far (`... upstream=ADDR|-`). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface NginxStartOptions {
  readonly work: string;
  readonly store: string;
  readonly port: number;
  /** URL of snapshelf serve. */
  readonly upstream: string;
  /** More `snapshelf nginx-config` arguments (e.g. --tls-cert/--tls-key). */
  readonly extra?: readonly string[];
  readonly scheme?: "http" | "https";
}

export function ensureNginx(): Promise<string> {
  return ensureTool("nginx", ["nginx"]);
}

export async function startNginx(o: NginxStartOptions): Promise<StartedNginx> {
  const nginx = await ensureNginx();
  const prefix = join(o.work, "nginx");
  await mkdir(prefix, { recursive: true });
  const conf = join(prefix, "nginx.conf");
  const generate = () =>
    snapshelf([
      "nginx-config",
      "--dir",
      o.store,
      "--standalone",
      "--listen",
      `127.0.0.1:${o.port}`,
      "--upstream",
      o.upstream,
      "--output",
      conf,
      // workers must read the tree: as root, keep them root rather than nobody
      ...(process.getuid?.() === 0 ? ["--user", userInfo().username] : []),
      ...(o.extra ?? []),
    ]);
  await generate();
  const proc = await startProcess(nginx, ["-p", `${prefix}/`, "-c", conf, "-e", "stderr", "-g", "daemon off;"], {
    ready: null,
    logFile: join(prefix, "nginx.out"),
  });
  const url = `${o.scheme ?? "http"}://127.0.0.1:${o.port}`;
  try {
    if ((o.scheme ?? "http") === "http") await waitForHttp(`${url}/`, { proc });
    else await waitForTcp(o.port, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    url,
    prefix,
    conf,
    proc,
    reload: async () => {
      await generate();
      if (proc.child.pid !== undefined) process.kill(proc.child.pid, "SIGHUP");
    },
    accessLog: async () =>
      (await readFile(join(prefix, "access.log"), "utf8").catch(() => "")).split("\n").filter((l) => l !== ""),
    stop: () => proc.stop(),
  };
}

/** Waits (bounded) until something accepts TCP connections on 127.0.0.1:port. */
async function waitForTcp(port: number, proc: StartedProcess): Promise<void> {
  const { connect } = await import("node:net");
  for (let i = 0; i < 300; i++) {
    if (!proc.alive()) throw new Error(`nginx exited\n${proc.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}\n${proc.output()}`);
}
