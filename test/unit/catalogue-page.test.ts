/**
 * The catalogue page renderer: every snap with its channel map per
 * architecture, escaping, inline icons only, nothing loaded from elsewhere,
 * deterministic, and a static route like the others.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { indexCatalogue } from "../../src/catalogue/build-catalogue.js";
import type { ChannelReleases, RevisionEntry, SnapEntry } from "../../src/catalogue/types.js";
import { cataloguePageRoute, humanSize, renderCataloguePage } from "../../src/routes/catalogue-page.js";
import { STATIC_ROUTES } from "../../src/routes/table.js";

function rev(n: number, version: string, archs: string[], size = 20480): RevisionEntry {
  return {
    revision: n,
    version,
    type: "app",
    confinement: "strict",
    grade: "stable",
    architectures: archs,
    epoch: { read: [0], write: [0] },
    sha3_384: String(n).padStart(96, "0"),
    size,
    createdAt: "2026-01-01T00:00:00Z",
    snapYaml: "",
    summary: "",
    description: "",
    apps: [],
    defaultProviders: [],
  };
}

function ch(track: string, risk: string, arch: string, revision: number, seq: number): ChannelReleases {
  return { track, risk, arch, history: [{ revision, releasedAt: `2026-02-0${seq}T10:00:00Z`, seq }] };
}

const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

const SNAPS: SnapEntry[] = [
  {
    name: "hello",
    snapId: "h".repeat(32),
    publisher: { id: "p", username: "pub", displayName: "Pub Lisher", validation: "verified" },
    meta: {
      title: "Hello <World>",
      summary: 'Says "hi" & <script>alert(1)</script>',
      media: [{ type: "icon", url: PNG }],
    },
    revisions: [rev(1, "1.0", ["amd64"]), rev(2, "1.1", ["arm64"]), rev(3, "2.0", ["all"], 1_500_000)],
    channels: [
      ch("latest", "stable", "amd64", 1, 1),
      ch("latest", "stable", "arm64", 2, 2),
      ch("latest", "edge", "all", 3, 3),
    ],
  },
  {
    name: "remote-icon",
    snapId: "r".repeat(32),
    publisher: { id: "q", username: "other", displayName: "", validation: "unproven" },
    meta: {
      summary: "Icon on the internet",
      media: [{ type: "icon", url: "https://dashboard.snapcraft.io/icon.png" }],
    },
    revisions: [rev(1, "0.1", ["all"])],
    channels: [ch("latest", "beta", "all", 1, 4)],
  },
];

const INDEX = indexCatalogue({ snaps: SNAPS, assertions: [], arches: ["amd64", "arm64"] });
const CTX = { baseUrl: "http://store.internal:8000" };

test("every snap with summary, publisher, and its channel map per architecture", () => {
  const html = renderCataloguePage(INDEX, CTX);
  assert.match(html, /<article class="snap" id="snap-hello"/);
  assert.match(html, /<article class="snap" id="snap-remote-icon"/);
  assert.match(html, /Pub Lisher <span class="verified"/);
  assert.match(html, /<code>snap install hello<\/code>/);
  // amd64 and arm64 differ (stable), so two tables; edge (an `all` revision) is in both
  assert.match(
    html,
    /<h3>amd64<\/h3>.*<td>stable<\/td><td>1.0<\/td><td>1<\/td><td>20 kB<\/td><td><time datetime="2026-02-01T10:00:00Z">2026-02-01<\/time><\/td>/s,
  );
  assert.match(html, /<h3>arm64<\/h3>.*<td>stable<\/td><td>1.1<\/td><td>2<\/td>/s);
  assert.match(html, /<td>edge<\/td><td>2.0<\/td><td>3<\/td><td>1.5 MB<\/td>/);
  // an `all`-only snap: identical maps are grouped under one heading
  assert.match(html, /<h3>amd64, arm64<\/h3>.*<td>beta<\/td><td>0.1<\/td>/s);
  assert.match(html, /Point a device at <code>http:\/\/store.internal:8000\/<\/code>/);
});

test("escapes text, inlines only data: icons, loads nothing from elsewhere", () => {
  const html = renderCataloguePage(INDEX, CTX);
  assert.ok(!html.includes("<script>alert(1)"), "summary is escaped");
  assert.ok(html.includes("Says &#34;hi&#34; &#38; &#60;script&#62;alert(1)&#60;/script&#62;"));
  assert.ok(html.includes("Hello &#60;World&#62;"));
  assert.ok(html.includes(`<img class="icon" src="${PNG}"`), "inline icon shown");
  assert.ok(!html.includes("dashboard.snapcraft.io"), "remote icons are not referenced");
  assert.match(html, /<div class="icon letter"[^>]*>R<\/div>/, "placeholder instead");
  assert.doesNotMatch(html, /(?:src|href)="(?!data:)[^"]+"/, "no external src/href");
  assert.doesNotMatch(html, /@import|url\(/, "no CSS imports");
  assert.match(
    html,
    /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"/,
  );
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.equal(html.match(/<script>/g)?.length, 1, "one inline script");
});

test("deterministic, and a static route of the table rendered into index.html", () => {
  assert.equal(renderCataloguePage(INDEX, CTX), renderCataloguePage(INDEX, CTX));
  assert.ok(STATIC_ROUTES.includes(cataloguePageRoute));
  const files = [...cataloguePageRoute.files(INDEX, CTX)];
  assert.deepEqual(
    files.map((f) => f.path),
    ["index.html"],
  );
  assert.equal(cataloguePageRoute.contentType, "text/html; charset=utf-8");
  assert.ok(cataloguePageRoute.usesBaseUrl, "re-rendered when served under another URL");
});

test("sizes as snap info prints them", () => {
  assert.equal(humanSize(999), "999 B");
  assert.equal(humanSize(20480), "20 kB");
  assert.equal(humanSize(1_500_000), "1.5 MB");
  assert.equal(humanSize(123_456_789), "123 MB");
});
