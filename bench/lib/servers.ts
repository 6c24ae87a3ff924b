/**
 * The servers the bench compares: `snapshelf serve`, snapd's fakestore and
 * nginx serving static files, all on 127.0.0.1, plus wrk as the load
 * generator (a Lua script sets the method, body and snapd's headers and
 * prints its summary as JSON).
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePort,
  realclientDir,
  runCommand,
  type StartedProcess,
  startProcess,
  waitForHttp,
} from "../../test/support/realclient.js";
import { serve } from "../../test/support/snapshelf.js";

/**
 * `snapshelf serve` on a free port. With `baseUrl` (the URL the tree was built
 * for, as an operator runs it) nothing is re-rendered at start-up; without,
 * the URL-bearing responses are rendered once for the picked port.
 */
export async function startSnapshelf(
  dir: string,
  logFile: string,
  baseUrl?: string,
  workers = 1,
): Promise<StartedProcess> {
  return serve(dir, [...(baseUrl ? ["--base-url", baseUrl] : []), "--workers", String(workers)], {
    logFile,
    timeoutMs: 60_000,
  });
}

export async function startFakestore(dir: string, logFile: string): Promise<{ url: string; proc: StartedProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess(
    join(realclientDir(), "fakestore"),
    ["run", "--dir", dir, "--addr", `127.0.0.1:${port}`],
    {
      ready: null,
      logFile,
    },
  );
  await waitForHttp(`${url}/`, { proc, timeoutMs: 15_000 });
  return { url, proc };
}

/** bench/lib/node-ceiling.ts: plain node:http answering `answerFile` after parsing the body. */
export async function startNodeCeiling(answerFile: string, workers: number, logFile: string): Promise<StartedProcess> {
  const script = fileURLToPath(new URL("./node-ceiling.js", import.meta.url));
  return startProcess(process.execPath, [script, answerFile, String(workers)], { logFile, timeoutMs: 30_000 });
}

/**
 * nginx with `workers` worker processes (as many as the shim runs), sendfile
 * on, no access log, serving `root` on 127.0.0.1.
 */
export async function startNginx(
  root: string,
  work: string,
  workers = 1,
): Promise<{ url: string; proc: StartedProcess }> {
  const port = await freePort();
  const prefix = join(work, "nginx");
  await mkdir(join(prefix, "logs"), { recursive: true });
  const conf = join(prefix, "nginx.conf");
  const asRoot = process.getuid?.() === 0 ? "user root;\n" : "";
  await writeFile(
    conf,
    `${asRoot}worker_processes ${workers};
daemon off;
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "logs", "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${join(prefix, "body")};
  proxy_temp_path ${join(prefix, "proxy")};
  fastcgi_temp_path ${join(prefix, "fastcgi")};
  uwsgi_temp_path ${join(prefix, "uwsgi")};
  scgi_temp_path ${join(prefix, "scgi")};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
}
`,
  );
  const proc = await startProcess("nginx", ["-p", prefix, "-c", conf], {
    ready: null,
    logFile: join(prefix, "logs", "stdout.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, { proc, timeoutMs: 15_000 });
  return { url, proc };
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly bytesPerSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  /** Connection errors, timeouts and non-2xx answers. */
  readonly errors: number;
  /** CPU seconds (user + system) the server (`cpuPid` and its descendants) spent during the run. */
  readonly cpuSeconds?: number;
}

/** Runs wrk (one thread) against `url` with `connections` for `seconds`. */
export async function runWrk(opts: {
  url: string;
  connections: number;
  seconds: number;
  work: string;
  method?: "GET" | "POST";
  bodyFile?: string;
  headers?: Record<string, string>;
  timeoutS?: number;
  /** The server's process: its CPU time during the run is measured (cpuSeconds). */
  cpuPid?: number | undefined;
}): Promise<WrkResult> {
  const script = join(opts.work, `wrk-${Date.now()}-${Math.random().toString(36).slice(2)}.lua`);
  const lua = [
    `wrk.method = "${opts.method ?? "GET"}"`,
    ...(opts.bodyFile
      ? [`local f = assert(io.open(${JSON.stringify(opts.bodyFile)}, "rb"))`, "wrk.body = f:read('*a')", "f:close()"]
      : []),
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    "done = function(s, latency, requests)",
    "  local e = s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout + s.errors.status",
    '  io.write(string.format("WRK-JSON {\\"requests\\":%d,\\"us\\":%d,\\"bytes\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"errors\\":%d}\\n",',
    "    s.requests, s.duration, s.bytes, latency:percentile(50), latency:percentile(99), e))",
    "end",
  ].join("\n");
  await writeFile(script, lua);
  const cpuBefore = opts.cpuPid === undefined ? 0 : cpuOf(opts.cpuPid);
  const res = await runCommand(
    "wrk",
    [
      "-t1",
      `-c${opts.connections}`,
      `-d${opts.seconds}s`,
      `--timeout`,
      `${opts.timeoutS ?? 10}s`,
      "-s",
      script,
      opts.url,
    ],
    { timeoutMs: (opts.seconds + 60) * 1000 },
  );
  const m = /WRK-JSON (\{.*\})/.exec(res.stdout);
  if (!m?.[1]) throw new Error(`wrk printed no summary (exit ${res.code}):\n${res.stdout}${res.stderr}`);
  const v = JSON.parse(m[1]) as {
    requests: number;
    us: number;
    bytes: number;
    p50: number;
    p99: number;
    errors: number;
  };
  const seconds = v.us / 1e6;
  const cpuSeconds = opts.cpuPid === undefined ? undefined : cpuOf(opts.cpuPid) - cpuBefore;
  return {
    ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
    requests: v.requests,
    seconds,
    rps: v.requests / seconds,
    bytesPerSecond: v.bytes / seconds,
    p50ms: v.p50 / 1000,
    p99ms: v.p99 / 1000,
    errors: v.errors,
  };
}

/** Resident set size of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux build this runs on). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) used so far by `pid` and its living descendants (Linux /proc): what a
 * request costs, independent of how busy the rest of the machine is, unlike requests per second.
 */
export function cpuOf(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // fields after the command name, which is in parentheses and may hold spaces
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  let ticks = 0;
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) todo.push(child);
  }
  return ticks / USER_HZ;
}
