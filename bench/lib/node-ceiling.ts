/**
 * The fastest refresh a Node server can give here: plain `node:http`, the
 * request body read and JSON.parse'd (every real answer needs that), then a
 * fixed answer of snapshelf's bytes. No routing, no resolution, no render.
 * Run as a script: `node node-ceiling.js ANSWER_FILE WORKERS`; prints
 * `serving URL` once every worker listens (the shared socket: node:cluster,
 * SCHED_NONE, as `serve --workers`).
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const [answerFile = "", workersArg = "1"] = process.argv.slice(2);
const workers = Math.max(1, Number(workersArg) || 1);

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let up = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on("message", (url: string) => {
      if (++up === workers) process.stdout.write(`serving ${url}\n`);
    });
  }
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const answer = readFileSync(answerFile);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": answer.length });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () => {
    process.send?.(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
}
