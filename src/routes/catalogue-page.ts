/**
 * The catalogue page: one static, self-contained HTML file at the root of
 * the tree (`/`), rendered by the build like every other static route. Every
 * snap with its icon (when the store metadata carries one inline), summary,
 * publisher and channel map per architecture (version, revision, size,
 * release date); a search box filtering client-side; readable on a phone.
 * No external assets: inline CSS and JS, and a Content-Security-Policy that
 * forbids loading anything else (devices browsing it are offline too).
 * Deterministic: nothing in it comes from the clock.
 */
import type { CatalogueIndex } from "../catalogue/build-catalogue.js";
import { type ChannelMapEntry, channelMap } from "../catalogue/resolve.js";
import type { SnapEntry } from "../catalogue/types.js";
import { shortChannelName } from "../model/channel.js";
import type { RenderContext } from "../wire/snap.js";
import { normalise, searchFields } from "./search.js";
import { errorResponse, type StaticRoute } from "./types.js";
import { fixedFileWeb, selectFromWeb } from "./web.js";

export const CATALOGUE_PAGE_PATH = "index.html";
export const HTML_TYPE = "text/html; charset=utf-8";

/** Inline images only: a page that loads nothing from elsewhere. */
const INLINE_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$/;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `20480` -> `20 kB`, as `snap info` prints sizes (decimal units). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 || v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

function hue(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

function icon(snap: SnapEntry): string {
  const url = (snap.meta.media ?? []).find((m) => m.type === "icon")?.url;
  if (url !== undefined && INLINE_IMAGE.test(url)) {
    return `<img class="icon" src="${escapeHtml(url)}" alt="" width="56" height="56">`;
  }
  const letter = escapeHtml((snap.meta.title ?? snap.name).slice(0, 1).toUpperCase());
  return `<div class="icon letter" style="background:hsl(${hue(snap.name)} 40% 42%)" aria-hidden="true">${letter}</div>`;
}

function rows(entries: readonly ChannelMapEntry[]): string {
  return entries
    .map(
      (e) =>
        `<tr><td>${escapeHtml(shortChannelName(e.channel))}</td><td>${escapeHtml(e.revision.version)}</td>` +
        `<td>${e.revision.revision}</td><td>${humanSize(e.revision.size)}</td>` +
        `<td><time datetime="${escapeHtml(e.releasedAt)}">${escapeHtml(e.releasedAt.slice(0, 10))}</time></td></tr>`,
    )
    .join("");
}

/** The channel maps of a snap, architectures with identical maps under one heading. */
function channelTables(snap: SnapEntry, arches: readonly string[]): string {
  const groups = new Map<string, string[]>();
  for (const arch of arches) {
    const body = rows(channelMap(snap, arch));
    if (body === "") continue;
    groups.set(body, [...(groups.get(body) ?? []), arch]);
  }
  if (groups.size === 0) return `<p class="none">No channel is open.</p>`;
  return [...groups.entries()]
    .map(
      ([body, archs]) =>
        `<section class="arch" data-arch="${escapeHtml(archs.join(" "))}"><h3>${escapeHtml(archs.join(", "))}</h3>` +
        `<div class="scroll"><table><thead><tr><th>Channel</th><th>Version</th><th>Revision</th><th>Size</th><th>Released</th></tr></thead>` +
        `<tbody>${body}</tbody></table></div></section>`,
    )
    .join("");
}

/**
 * The version `snap install NAME` gets: the stable channel of the default
 * track, per architecture; one version when all agree.
 */
function stableLine(snap: SnapEntry, arches: readonly string[]): string {
  const track = snap.meta.defaultTrack ?? "latest";
  const byVersion = new Map<string, string[]>();
  for (const arch of arches) {
    const e = channelMap(snap, arch).find(
      (c) => c.channel.track === track && c.channel.risk === "stable" && c.channel.branch === undefined,
    );
    if (e !== undefined) byVersion.set(e.revision.version, [...(byVersion.get(e.revision.version) ?? []), arch]);
  }
  const where = track === "latest" ? "stable" : `${track}/stable`;
  if (byVersion.size === 0) return `<p class="stable none">Nothing in ${escapeHtml(where)}</p>`;
  const versions =
    byVersion.size === 1
      ? escapeHtml([...byVersion.keys()][0] ?? "")
      : [...byVersion.entries()]
          .map(([v, a]) => `${escapeHtml(v)} <span class="user">(${escapeHtml(a.join(", "))})</span>`)
          .join(", ");
  return `<p class="stable">${escapeHtml(where)}: <span class="version">${versions}</span></p>`;
}

/** The newest time in a snap's records (releases, revisions): the page's "updated" comes from the inputs. */
function lastChange(snap: SnapEntry): string {
  let t = "";
  for (const r of snap.revisions) if (r.createdAt > t) t = r.createdAt;
  for (const c of snap.channels) for (const h of c.history) if (h.releasedAt > t) t = h.releasedAt;
  return t;
}

function card(snap: SnapEntry, arches: readonly string[]): string {
  const f = searchFields(snap);
  // what the search box looks in (descriptions would make the page much larger)
  const search = normalise([f.name, f.title, f.publisher, f.category, f.summary].join(" ")).replace(/\s+/g, " ");
  const title = snap.meta.title ?? snap.name;
  const pub = snap.publisher;
  const mark = pub.validation === "verified" ? ' <span class="verified" title="verified publisher">✓</span>' : "";
  const cats = (snap.meta.categories ?? []).map((c) => `<span class="cat">${escapeHtml(c)}</span>`).join("");
  return (
    `<article class="snap" id="snap-${escapeHtml(snap.name)}" data-name="${escapeHtml(snap.name)}" data-updated="${escapeHtml(lastChange(snap))}" data-search="${escapeHtml(search)}">` +
    `<div class="head">${icon(snap)}<div class="what"><h2>${escapeHtml(title)}` +
    (title !== snap.name ? ` <span class="name">${escapeHtml(snap.name)}</span>` : "") +
    `</h2><p class="summary">${escapeHtml(f.summary)}</p>` +
    `<p class="publisher">${escapeHtml(pub.displayName || pub.username)}${mark}` +
    (pub.displayName !== "" && pub.displayName !== pub.username
      ? ` <span class="user">(${escapeHtml(pub.username)})</span>`
      : "") +
    `</p>${cats === "" ? "" : `<p class="cats">${cats}</p>`}${stableLine(snap, arches)}</div></div>` +
    `<p class="install"><code>snap install ${escapeHtml(snap.name)}</code></p>` +
    `<details><summary>Channels</summary>${channelTables(snap, arches)}</details></article>`
  );
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#5f6368;--bg:#f6f6f4;--card:#fff;--line:#ddd;--accent:#e95420}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--muted:#aaa;--bg:#161616;--card:#222;--line:#3a3a3a}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem}
h1{font-size:1.5rem;margin:.5rem 0}
.meta,#count,footer{color:var(--muted);font-size:.9rem}
#q{width:100%;font-size:1.1rem;padding:.6rem .8rem;border:1px solid var(--line);border-radius:.5rem;background:var(--card);color:var(--fg)}
main{display:grid;gap:.8rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,26rem),1fr));padding-bottom:1rem}
.snap{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.9rem;min-width:0}
.snap[hidden]{display:none}
.head{display:flex;gap:.8rem;align-items:flex-start}
.icon{width:56px;height:56px;border-radius:.7rem;flex:none;object-fit:cover}
.letter{display:flex;align-items:center;justify-content:center;color:#fff;font-size:1.6rem;font-weight:600}
.what{min-width:0}
h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
.name{color:var(--muted);font-weight:400;font-size:.9rem}
.summary{margin:.2rem 0}
.publisher,.cats{margin:0;color:var(--muted);font-size:.9rem}
.stable{margin:.2rem 0 0;font-size:.9rem}.stable .version{font-weight:600}.stable.none{color:var(--muted)}
.verified{color:#0e8420}
.cat{display:inline-block;border:1px solid var(--line);border-radius:1rem;padding:0 .5rem;margin:.2rem .2rem 0 0;font-size:.8rem}
.install{margin:.6rem 0 .3rem}
code{font:.9rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
summary{cursor:pointer;color:var(--accent)}
h3{font-size:.9rem;margin:.6rem 0 .2rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:.2rem .5rem .2rem 0;border-bottom:1px solid var(--line);white-space:nowrap}
footer{padding-bottom:2rem}
`;

// filters cards by every word of the query; `?q=` pre-fills it (shareable, and testable without a browser driver)
const SCRIPT = `
(function () {
  var q = document.getElementById("q");
  var count = document.getElementById("count");
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.snap"));
  function norm(s) { return s.normalize("NFKD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase(); }
  function apply() {
    var words = norm(q.value).split(/[^\\p{L}\\p{N}]+/u).filter(Boolean);
    var shown = [];
    cards.forEach(function (c) {
      var text = c.getAttribute("data-search");
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      c.hidden = !ok;
      if (ok) shown.push(c);
    });
    // one snap left: show its channels
    if (shown.length === 1) shown[0].querySelector("details").open = true;
    shown = shown.length;
    count.textContent = shown === cards.length ? cards.length + " snaps" : shown + " of " + cards.length + " snaps";
    try {
      var u = new URL(location.href);
      if (q.value) u.searchParams.set("q", q.value); else u.searchParams.delete("q");
      history.replaceState(null, "", u);
    } catch (e) { /* file: URLs */ }
  }
  q.addEventListener("input", apply);
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) q.value = initial;
  apply();
})();
`;

/** The whole page for a catalogue and base URL. */
export function renderCataloguePage(index: CatalogueIndex, ctx: RenderContext): string {
  return joinCards(
    index.catalogue.snaps.map((s) => card(s, index.catalogue.arches)),
    ctx,
  );
}

/** The page around the cards of every snap, in catalogue order. */
function joinCards(cards: readonly string[], ctx: RenderContext): string {
  const host = (() => {
    try {
      return new URL(ctx.baseUrl).host;
    } catch {
      return ctx.baseUrl;
    }
  })();
  const name = ctx.storeName ?? host;
  // when the store last changed, from the records (never the clock: two builds of one store are identical)
  let updated = "";
  for (const c of cards) {
    const t = /data-updated="([^"]*)"/.exec(c)?.[1] ?? "";
    if (t > updated) updated = t;
  }
  const when = updated === "" ? "" : ` · updated <time datetime="${updated}">${updated.slice(0, 10)}</time>`;
  const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(name)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(name)}</h1>
<p class="meta" id="store-meta">Snaps on ${escapeHtml(host)}${when}</p>
<p class="meta">An offline snap store. Point a device at <code>${escapeHtml(ctx.baseUrl)}/</code> and run <code>snap install NAME</code>.</p>
<input type="search" id="q" placeholder="Search ${cards.length} snaps" aria-label="Search snaps" autocomplete="off">
<p id="count" aria-live="polite">${cards.length} snaps</p>
</header>
<main id="snaps">
${cards.join("\n")}
</main>
<footer>
<p>Device setup: <code>SNAPPY_FORCE_API_URL=${escapeHtml(ctx.baseUrl)}/</code> in snapd's environment (a drop-in in <code>/etc/systemd/system/snapd.service.d/</code>), then <code>systemctl restart snapd</code>. <code>snapshelf client-config</code> prints the exact steps.</p>
</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const CATALOGUE_PAGE_WEB = fixedFileWeb("/", CATALOGUE_PAGE_PATH);

export const cataloguePageRoute: StaticRoute = {
  kind: "static",
  id: "catalogue-page",
  pattern: "/",
  contentType: HTML_TYPE,
  treePrefix: CATALOGUE_PAGE_PATH,
  // the page shows the base URL devices use
  usesBaseUrl: true,
  files: (index, ctx) => [{ path: CATALOGUE_PAGE_PATH, body: { text: renderCataloguePage(index, ctx) } }],
  split: {
    kind: "joined",
    piece: (snap, arches) => card(snap, arches),
    join: (cards, ctx) => [{ path: CATALOGUE_PAGE_PATH, body: { text: joinCards(cards, ctx) } }],
  },
  select: selectFromWeb("/", CATALOGUE_PAGE_WEB),
  notFound: () => errorResponse(404, "not-found", "not found"),
  web: CATALOGUE_PAGE_WEB,
};
