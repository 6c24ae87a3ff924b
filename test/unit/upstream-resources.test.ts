/**
 * `resources` of the public store's snap-action answers (snapd 2.68.3 store/details_v2.go
 * storeResource): export asks for them in its download actions, parses each component's
 * download (url, sha3-384, size), type, name, revision, version and created-at, and refuses a
 * malformed entry with one line naming the field.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXPORT_ACTION_FIELDS, parseActionSnap, REFRESH_FIELDS, shapeFail } from "../../src/upstream/wire.js";
import { SnapshelfError } from "../../src/util/errors.js";

const HEX = "ab".repeat(48);

function result(resources: unknown): Record<string, unknown> {
  return {
    result: "download",
    "instance-key": "download-1",
    name: "comp-offline",
    snap: {
      name: "comp-offline",
      "snap-id": "S".repeat(32),
      revision: 1,
      version: "1.0",
      download: { url: "http://cdn/x.snap", "sha3-384": HEX, size: 10 },
      ...(resources === undefined ? {} : { resources }),
    },
  };
}

const parse = (r: Record<string, unknown>) => parseActionSnap(r, "results[0]", shapeFail("get comp-offline"));

describe("upstream resources", () => {
  it("export's download actions ask for resources; the snapd 2.57.6-shaped list does not", () => {
    assert.ok((EXPORT_ACTION_FIELDS as readonly string[]).includes("resources"));
    assert.ok(!(REFRESH_FIELDS as readonly string[]).includes("resources"));
    for (const f of REFRESH_FIELDS) assert.ok((EXPORT_ACTION_FIELDS as readonly string[]).includes(f), f);
  });

  it("parses storeResource entries", () => {
    const r = parse(
      result([
        {
          "created-at": "2024-11-05T10:00:00.000000+00:00",
          description: "Component extra.",
          download: { "sha3-384": "CD".repeat(48), size: 4096, url: "https://cdn/extra_2.comp" },
          name: "extra",
          revision: 2,
          type: "component/standard",
          version: "1.1",
          architectures: ["amd64"],
        },
      ]),
    );
    assert.deepEqual(r.resources, [
      {
        name: "extra",
        type: "component/standard",
        revision: 2,
        version: "1.1",
        createdAt: "2024-11-05T10:00:00.000000+00:00",
        download: { url: "https://cdn/extra_2.comp", sha3_384: "cd".repeat(48), size: 4096 },
      },
    ]);
  });

  it("no resources, null or empty: none", () => {
    assert.equal(parse(result(undefined)).resources, undefined);
    assert.equal(parse(result(null)).resources, undefined);
    assert.equal(parse(result([])).resources, undefined);
  });

  const good = {
    download: { "sha3-384": HEX, size: 1, url: "u" },
    name: "extra",
    revision: 1,
    type: "component/standard",
  };
  const bad: [string, unknown, RegExp][] = [
    ["a digest", { ...good, download: { ...good.download, "sha3-384": "x" } }, /resources\[0\]\.download\.sha3-384/],
    ["a type", { ...good, type: "snap" }, /resources\[0\]\.type/],
    ["a revision", { ...good, revision: 0 }, /resources\[0\]\.revision/],
    ["a name", { ...good, name: "Bad_Name" }, /resources\[0\]\.name/],
    ["a download", { ...good, download: "x" }, /resources\[0\]\.download: expected an object/],
  ];
  for (const [what, entry, pattern] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(
        () => parse(result([entry])),
        (err: unknown) =>
          err instanceof SnapshelfError &&
          err.code === "upstream-bad-response" &&
          pattern.test(err.message) &&
          err.message.startsWith("cannot get comp-offline: field results[0].snap.resources[0]") &&
          !err.message.includes("\n"),
      );
    });
  }

  it("refuses a component listed twice", () => {
    assert.throws(
      () => parse(result([good, good])),
      /field results\[0\]\.snap\.resources\[1\]\.name: extra is listed twice/,
    );
  });
});
