/** Output wording of import (issue 12, point 4): plurals, "already present", bundle names, --trusted-root. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { explainImportError, withBundleNames } from "../../src/cli/import-errors.js";
import { count, importSummary } from "../../src/cli/wording.js";
import { storeLayout } from "../../src/store/layout.js";
import { SnapshelfError } from "../../src/util/errors.js";

const layout = storeLayout("/srv/snaps");

describe("import wording", () => {
  it("counts with plurals", () => {
    assert.deepEqual(
      [0, 1, 2].map((n) => count(n, "revision")),
      ["0 revisions", "1 revision", "2 revisions"],
    );
    assert.equal(
      importSummary({ assertions: 1, revisions: [{}], releases: 1 }, "/srv/snaps"),
      "1 new assertion, 1 new revision, 1 release into /srv/snaps",
    );
    assert.equal(
      importSummary({ assertions: 0, revisions: [{ present: true }, { present: true }, {}], releases: 2 }, "/s"),
      "0 new assertions, 1 new revision (2 already present), 2 releases into /s",
    );
  });

  it("errors name the bundle file and the entry, not the staging path", () => {
    const staged = join(layout.tmp, "bundle-1", "blobs", "hello_2.snap");
    const msg = `cannot import ${staged}: snap-revision says 123 bytes, blob has 12`;
    assert.equal(
      withBundleNames(msg, layout, ["/in/a.snapshelf.tar", "/in/b.snapshelf.tar"]),
      "cannot import /in/b.snapshelf.tar:blobs/hello_2.snap: snap-revision says 123 bytes, blob has 12",
    );
    const e = explainImportError(new SnapshelfError("bad", msg), layout, ["/in/a.tar", "/in/b.tar"]);
    assert.ok(e instanceof SnapshelfError);
    assert.equal(e.code, "bad");
    assert.doesNotMatch(e.message, /state\/tmp/);
  });

  it("a chain ending at an authority the store does not trust suggests --trusted-root", () => {
    for (const msg of [
      'cannot verify account-key (x) from /in/k.account-key: no matching public key "abc" for signature by "testrootorg"',
      'cannot verify account (y) from /in/a.account: account assertion for "y" is not signed by a directly trusted authority: testrootorg',
    ]) {
      const e = explainImportError(new SnapshelfError("assertion-chain", msg), layout, []) as Error;
      assert.equal(
        e.message,
        `${msg} (if testrootorg is a root you trust, give its account and account-key assertions with --trusted-root FILE)`,
      );
    }
    const other = new SnapshelfError("x", "cannot read /in/x: no such file or directory");
    assert.equal(explainImportError(other, layout, []), other, "other errors untouched");
  });
});
