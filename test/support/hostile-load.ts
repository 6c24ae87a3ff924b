/**
 * The hostile loads issue 11 observed against `snapshelf serve`, for the
 * e2e test of its memory cap and for the bench's peak RSS: refreshes with
 * distinct multi-MiB instance keys, many device kinds each with thousands of
 * distinct keys, and ~250 connections stalling nearly full request bodies.
 * Bounded in count and time; loopback only. Peak RSS is read from
 * /proc/PID/status (VmHWM), reset before each load through clear_refs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";

export interface LoadTarget {
  readonly host: string;
  readonly port: number;
}

const REFRESH = "/v2/snaps/refresh";

/** VmRSS or VmHWM (peak) of a process, in bytes. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0; a process we started). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** A refresh POST; resolves to status and body. */
function post(t: LoadTarget, agent: Agent, body: string, arch: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        method: "POST",
        path: REFRESH,
        agent,
        timeout: 60_000,
        headers: {
          "content-type": "application/json",
          "snap-device-architecture": arch,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** `count` refreshes, each with its own instance key of 3 MiB; returns each answer's status and the first body. */
export async function longInstanceKeys(
  t: LoadTarget,
  snapId: string,
  count = 120,
): Promise<{ statuses: number[]; sample: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const statuses: number[] = [];
  let sample = "";
  try {
    await pool(
      Array.from({ length: count }, (_, i) => i),
      4,
      async (i) => {
        const key = `${i}-`.padEnd(3 * 1024 * 1024, String.fromCharCode(97 + (i % 26)));
        const r = await post(
          t,
          agent,
          JSON.stringify({ actions: [{ action: "refresh", "instance-key": key, "snap-id": snapId }] }),
          "amd64",
        );
        statuses.push(r.status);
        if (sample === "") sample = r.body.slice(0, 300);
      },
    );
  } finally {
    agent.destroy();
  }
  return { statuses, sample };
}

/**
 * `kinds` device kinds (architectures), each sent `perKind` refreshes of 5,000 actions with distinct
 * 128-character instance keys over `snapIds`: every answer cacheable, none the same.
 */
export async function manyDeviceKinds(
  t: LoadTarget,
  snapIds: readonly string[],
  kinds = 64,
  perKind = 2,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const statuses: number[] = [];
  try {
    await pool(
      Array.from({ length: kinds * perKind }, (_, i) => i),
      2,
      async (i) => {
        const actions = Array.from({ length: 5000 }, (_, j) => ({
          action: "refresh",
          "instance-key": `${i}-${j}-`.padEnd(128, "k"),
          "snap-id": snapIds[j % snapIds.length],
        }));
        statuses.push((await post(t, agent, JSON.stringify({ actions }), `arch${i % kinds}`)).status);
      },
    );
  } finally {
    agent.destroy();
  }
  return statuses;
}

/**
 * `count` connections each declaring a body of `bodySize` bytes and sending all but 1 KiB of it,
 * then stalling; `whileStalled` runs while they hold on (at most ~11 s to settle first), then all
 * are closed. Returns what the server sent on each connection it closed before `whileStalled`.
 */
export async function stalledBodies(
  t: LoadTarget,
  bodySize: number,
  whileStalled: () => Promise<void>,
  count = 250,
): Promise<string[]> {
  const chunk = Buffer.alloc(bodySize - 1024, 0x20);
  const sockets: Socket[] = [];
  const answers: string[] = [];
  let closedByServer: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = connect(t.port, t.host);
    s.on("error", () => undefined);
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    s.on("close", () => answers.push(Buffer.concat(got).toString("latin1")));
    s.write(
      `POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodySize}\r\n\r\n`,
    );
    s.write(chunk);
    sockets.push(s);
  }
  try {
    // until the server has held or refused each (bounded), and a little longer for the held ones
    for (let i = 0; i < 100 && answers.length < count - 20; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000));
    closedByServer = [...answers];
    await whileStalled();
  } finally {
    for (const s of sockets) s.destroy();
  }
  return closedByServer;
}

/** A refresh request of `actions` installs of the snaps in turn: an answer of ~1.5 KB per action. */
export function manyInstallsBody(snapIds: readonly string[], actions: number): string {
  return JSON.stringify({
    context: [],
    actions: Array.from({ length: actions }, (_, i) => ({
      action: "install",
      "instance-key": `install-${i}`,
      "snap-id": snapIds[i % snapIds.length],
      channel: "stable",
    })),
  });
}

/**
 * `count` connections each ask for one large answer and never read it; `whileHeld` runs while
 * they hold it (they are closed after). Returns how many of the connections the server closed.
 */
export async function unreadAnswers(
  t: LoadTarget,
  body: string,
  whileHeld: () => Promise<void>,
  count = 200,
): Promise<number> {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < count; i++) {
    const s = connect(t.port, t.host);
    s.on("error", () => undefined);
    s.on("close", () => closed++);
    // never a 'data' listener: the socket stays paused, so the kernel buffers fill and stay full
    s.write(
      `POST ${REFRESH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    s.write(body);
    sockets.push(s);
  }
  try {
    // bounded: until the server has had time to answer every request
    await new Promise((r) => setTimeout(r, 3000));
    await whileHeld();
  } finally {
    for (const s of sockets) s.destroy();
  }
  return closed;
}
