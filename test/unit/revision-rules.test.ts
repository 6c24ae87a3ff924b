/** One revision, one file, forever: the clash rule of import (src/store/revision-rules.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { digestHexToBase64Url } from "../../src/blobs/store.js";
import type { AssertionRecord, RevisionRecord } from "../../src/model/records.js";
import { findRevisionClash, revisionClashMessage } from "../../src/store/revision-rules.js";

const A = "a".repeat(96);
const B = "b".repeat(96);

function rev(revision: number, sha3_384: string, name = "hello", snapId = "ID1"): RevisionRecord {
  return { name, snapId, revision, sha3_384, size: 1, createdAt: "", snapYaml: "", info: {} as RevisionRecord["info"] };
}

function snapRevision(revision: number, sha3hex: string, snapId = "ID1"): AssertionRecord {
  return {
    type: "snap-revision",
    primaryKey: [digestHexToBase64Url(sha3hex), "global-upload"],
    revision: 0,
    format: 0,
    object: "0",
    headers: { "snap-id": snapId, "snap-revision": String(revision) },
  };
}

test("the same blob again is no clash; another blob for a held revision is, naming both digests", () => {
  assert.equal(findRevisionClash([rev(1, A)], [], [{ source: "x.snap", record: rev(1, A) }]), undefined);
  assert.equal(findRevisionClash([rev(1, A)], [], [{ source: "x.snap", record: rev(2, B) }]), undefined);
  const c = findRevisionClash([rev(1, A)], [], [{ source: "x.snap", record: rev(1, B) }]);
  assert.deepEqual(c, { source: "x.snap", name: "hello", revision: 1, have: A, incoming: B });
  const m = revisionClashMessage(c ?? assert.fail());
  assert.match(m, /^cannot import x\.snap: hello revision 1 is already in the store with another blob/);
  assert.ok(m.includes(A) && m.includes(B), m);
});

test("a revision the store no longer holds but whose snap-revision it keeps still names its blob", () => {
  const c = findRevisionClash([], [snapRevision(3, A)], [{ source: "x.snap", record: rev(3, B) }]);
  assert.equal(c?.have, A);
  assert.equal(
    findRevisionClash([], [snapRevision(3, A, "OTHER")], [{ source: "x.snap", record: rev(3, B) }]),
    undefined,
  );
});

test("two inputs of one import with one revision number and two blobs", () => {
  const c = findRevisionClash(
    [],
    [],
    [
      { source: "a.snap", record: rev(5, A) },
      { source: "b.snap", record: rev(5, B) },
    ],
  );
  assert.deepEqual(c, { source: "b.snap", name: "hello", revision: 5, have: A, incoming: B, other: "a.snap" });
  assert.match(
    revisionClashMessage(c ?? assert.fail()),
    /^cannot import b\.snap: hello revision 5 is also a\.snap, with another blob/,
  );
  // the same revision number of two different snaps is no clash
  assert.equal(
    findRevisionClash(
      [],
      [],
      [
        { source: "a.snap", record: rev(5, A) },
        { source: "b.snap", record: rev(5, B, "other", "ID2") },
      ],
    ),
    undefined,
  );
});
