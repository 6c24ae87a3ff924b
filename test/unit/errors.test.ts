/** The one error table (src/util/errors.ts): exit statuses and system reasons in words. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  EXIT_STATUS,
  exitStatusFor,
  failedTo,
  httpStatusFor,
  operatorMessage,
  SnapshelfError,
  systemReason,
} from "../../src/util/errors.js";

function sysError(code: string, message: string, path?: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, ...(path === undefined ? {} : { path }) });
}

test("exit statuses: refused 1, usage 2, system 1, unexpected 3", () => {
  assert.equal(exitStatusFor(new SnapshelfError("bad-input", "cannot x: y")), EXIT_STATUS.refused);
  assert.equal(exitStatusFor(new SnapshelfError("usage", "cannot x: y")), EXIT_STATUS.usage);
  assert.equal(exitStatusFor(sysError("ENOSPC", "no space left on device, write")), EXIT_STATUS.refused);
  assert.equal(exitStatusFor(new TypeError("x is undefined")), EXIT_STATUS.unexpected);
  assert.deepEqual(EXIT_STATUS, { ok: 0, refused: 1, usage: 2, unexpected: 3 });
});

test("system errors read as words with the store, never as a code", () => {
  assert.equal(systemReason(sysError("EROFS", "read-only file system, open 'x'")), "read-only file system");
  assert.equal(systemReason(new Error("plain")), undefined);
  assert.equal(
    operatorMessage(sysError("ENOSPC", "no space left on device, write"), "import", "/srv/s"),
    "cannot import: no space left on device (store /srv/s)",
  );
  assert.equal(
    operatorMessage(sysError("EACCES", "permission denied, mkdir '/srv/s/state'", "/srv/s/state"), "import", "/srv/s"),
    "cannot import: permission denied: /srv/s/state (store /srv/s)",
  );
  // an errno this table does not name still reads as words of a kind, not a stack
  assert.equal(operatorMessage(sysError("ESOMETHING", "odd"), "build"), "cannot build: esomething");
  assert.equal(operatorMessage(new SnapshelfError("x", "cannot do: because"), "build", "/s"), "cannot do: because");
});

test("the same table gives the shim's HTTP status by code: 400 unless it says otherwise", () => {
  assert.equal(httpStatusFor("too-large"), 413);
  assert.equal(httpStatusFor("store-busy"), 503);
  assert.equal(httpStatusFor("nothing-built"), 503);
  assert.equal(httpStatusFor("request-aborted"), 400);
  assert.equal(new SnapshelfError("too-large", "cannot read request: body larger than 1 bytes").status, 413);
  assert.equal(new SnapshelfError("invalid-since", "cannot use --since").status, 400);
  // a usage error exits 2 and nothing else does by default
  assert.equal(exitStatusFor(new SnapshelfError("invalid-track", "cannot x: y")), EXIT_STATUS.refused);
});

test("a SnapshelfError keeps the error it reports as its cause; the message stands alone", () => {
  const inner = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
  const err = new SnapshelfError("input-unreadable", "cannot read x: no such file or directory", { cause: inner });
  assert.equal(err.cause, inner);
  assert.equal(err.message, "cannot read x: no such file or directory");
  assert.equal(new SnapshelfError("x", "cannot y: z").cause, undefined);
});

test("failedTo: one 'cannot' a line, also when the error met already says what it could not do", () => {
  assert.equal(
    failedTo("switch generation", new SnapshelfError("tree-corrupt", "cannot read generation 7: /t/7/meta.json: bad")),
    "cannot switch generation: read generation 7: /t/7/meta.json: bad",
  );
  assert.equal(failedTo("reload", new Error("no space left")), "cannot reload: no space left");
});
