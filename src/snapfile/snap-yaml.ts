/**
 * Parses `meta/snap.yaml` the way snapd reads it (`snap/info_snap_yaml.go`),
 * keeping only what the store protocol needs.
 *
 * snapd unmarshals with go-yaml into string fields, so a scalar that YAML
 * would resolve to a number keeps its source text (`version: 1.10` is
 * "1.10", not 1.1): string fields are taken from the scalar's source.
 */
import type { Document, Node, Scalar, YAMLMap } from "yaml";
import { isAlias, isMap, isScalar, isSeq, parseDocument } from "yaml";
import { parseEpoch } from "../model/epoch.js";
import type { Epoch, SnapYamlInfo } from "../model/types.js";
import { errorMessage, SnapshelfError } from "../util/errors.js";
import { isValidSnapName, snapYamlProblem } from "./validate.js";
import { aliasProblem, MAX_YAML_DEPTH, yamlDepth } from "./yaml-limits.js";

/** snapd's snap types; `application` is the legacy spelling of `app`. */
const SNAP_TYPES: ReadonlySet<string> = new Set(["app", "base", "os", "snapd", "gadget", "kernel"]);
const CONFINEMENTS: ReadonlySet<string> = new Set(["strict", "classic", "devmode"]);
const GRADES: ReadonlySet<string> = new Set(["stable", "devel"]);

/** snapd's `ValidateVersion`: 1 to 32 characters, no leading/trailing punctuation. */
const VERSION_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9:.+~-]{0,30}[a-zA-Z0-9+~])?$/;

export { isValidSnapName };

type Fail = (reason: string) => SnapshelfError;
type YamlNode = Node | null | undefined;

function deref(doc: Document, node: unknown): YamlNode {
  if (isAlias(node)) return node.resolve(doc);
  return node as YamlNode;
}

/** The text of a scalar as a go-yaml string field would hold it; undefined for null/absent. */
function scalarText(node: YamlNode, what: string, fail: Fail): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (!isScalar(node)) throw fail(`${what} must be a string`);
  const { value } = node as Scalar;
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  return node.source ?? String(value);
}

/** The value under `key` of a mapping (key compared as text), aliases resolved. */
function lookup(doc: Document, map: YAMLMap, key: string, fail: Fail): YamlNode {
  for (const pair of map.items) {
    const k = deref(doc, pair.key);
    if (isScalar(k) && scalarText(k, "key", fail) === key) return deref(doc, pair.value);
  }
  return undefined;
}

/** Entries of an optional mapping field: [key text, value node]. */
function entries(doc: Document, node: YamlNode, what: string, fail: Fail): Array<[string, YamlNode]> {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return [];
  if (!isMap(node)) throw fail(`${what} must be a mapping`);
  return node.items.map((pair): [string, YamlNode] => {
    const key = scalarText(deref(doc, pair.key), `${what} key`, fail);
    if (key === undefined) throw fail(`${what} has an empty key`);
    return [key, deref(doc, pair.value)];
  });
}

function yamlReason(message: string): string {
  const first = (message.split("\n")[0] ?? message).replace(/:$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Canonical numbers as numbers (clearer errors); anything else stays text for parseEpoch to reject. */
function epochListItem(text: string | undefined): string | number | null {
  if (text === undefined) return null;
  return /^(0|[1-9][0-9]{0,9})$/.test(text) ? Number(text) : text;
}

function parseEpochNode(doc: Document, node: YamlNode, fail: Fail): Epoch {
  // Like snapd (go-yaml into strings), numbers are read as their source text,
  // so `epoch: 01` is rejected as zero-padded rather than read as octal.
  let value: unknown;
  if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    for (const [key, item] of entries(doc, node, "epoch", fail)) {
      obj[key] = isSeq(item)
        ? item.items.map((x) => epochListItem(scalarText(deref(doc, x), `epoch ${key}`, fail)))
        : scalarText(item, `epoch ${key}`, fail);
    }
    value = obj;
  } else {
    value = scalarText(node, "epoch", fail);
  }
  try {
    return parseEpoch(value);
  } catch (err) {
    // parseEpoch says "cannot parse epoch ...": avoid a "cannot: cannot" chain.
    throw fail(errorMessage(err).replace(/^cannot parse epoch /, "invalid epoch "));
  }
}

/** Default providers of content plugs: `default-provider: snap` or `snap:slot` -> snap. */
function defaultProviders(doc: Document, plugs: YamlNode, fail: Fail): string[] {
  const out = new Set<string>();
  for (const [plugName, def] of entries(doc, plugs, "plugs", fail)) {
    let iface: string | undefined;
    let provider: string | undefined;
    if (def === undefined || def === null || isScalar(def)) {
      // `plugs: {content: null}` or `plugs: {name: content}`: no attributes.
      iface = scalarText(def, `plug "${plugName}"`, fail);
    } else if (isMap(def)) {
      iface = scalarText(lookup(doc, def, "interface", fail), `interface of plug "${plugName}"`, fail);
      const dp = lookup(doc, def, "default-provider", fail);
      provider = isScalar(dp) ? scalarText(dp, "default-provider", fail) : undefined;
    } else {
      throw fail(`plug "${plugName}" has malformed definition`);
    }
    if ((iface ?? plugName) !== "content" || provider === undefined) continue;
    const snap = provider.split(":")[0] ?? "";
    // snapd only uses a provider it can install; an invalid name could never resolve.
    if (isValidSnapName(snap)) out.add(snap);
  }
  return [...out].sort();
}

/** The document, checked (depth, YAML errors, aliases), and its top-level mapping. */
function parseTop(text: string, fail: Fail): { doc: Document; top: YAMLMap } {
  // nesting is measured before the composer (which recurses per level) sees the text
  const depth = yamlDepth(text);
  if (depth > MAX_YAML_DEPTH) throw fail(`exceeded max depth of ${MAX_YAML_DEPTH} (${depth} levels)`);
  // YAML 1.1 is what go-yaml (snapd) speaks. Duplicate keys are refused: go-yaml keeps the last
  // one silently, and a reader keeping the first would describe another snap than snapd installs.
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError !== undefined) throw fail(yamlReason(firstError.message));
  const aliasing = aliasProblem(doc);
  if (aliasing !== undefined) throw fail(aliasing);
  const top = deref(doc, doc.contents);
  if (top === null || top === undefined || (isScalar(top) && top.value === null)) throw fail("empty document");
  if (!isMap(top)) throw fail("top level must be a mapping");
  return { doc, top };
}

/** `architectures`: a list of non-empty names; absent or empty means `all`. */
function architecturesOf(doc: Document, archNode: YamlNode, fail: Fail): string[] {
  let architectures: string[] = [];
  if (archNode !== undefined && archNode !== null && !(isScalar(archNode) && archNode.value === null)) {
    if (!isSeq(archNode)) throw fail("architectures must be a list");
    architectures = archNode.items.map((item) => {
      const arch = scalarText(deref(doc, item), "architecture", fail);
      if (arch === undefined || arch === "") throw fail("empty architecture");
      return arch;
    });
  }
  return architectures.length === 0 ? ["all"] : architectures;
}

/** The app names (sorted), and their `common-id`s (what the store reports as the revision's common-ids). */
function appsOf(doc: Document, appsNode: YamlNode, fail: Fail): { apps: string[]; commonIds: string[] } {
  const appEntries = entries(doc, appsNode, "apps", fail).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const apps = appEntries.map(([appName]) => appName);
  const commonIds: string[] = [];
  for (const [appName, node] of appEntries) {
    if (!isMap(node)) continue;
    const hit = entries(doc, node, `apps.${appName}`, fail).find(([k]) => k === "common-id");
    const id = hit === undefined ? undefined : scalarText(hit[1], `apps.${appName}.common-id`, fail);
    if (id !== undefined && id !== "" && !commonIds.includes(id)) commonIds.push(id);
  }
  return { apps, commonIds };
}

/**
 * Parses snap.yaml text. `source` names the snap (or file) in errors:
 * `cannot parse snap.yaml of <source>: <reason>`. Unknown keys are ignored.
 */
export function parseSnapYaml(text: string, source: string): SnapYamlInfo {
  const fail: Fail = (reason) =>
    new SnapshelfError("invalid-snap-yaml", `cannot parse snap.yaml of ${source}: ${reason}`);

  const { doc, top } = parseTop(text, fail);
  const field = (key: string): YamlNode => lookup(doc, top, key, fail);
  const str = (key: string): string | undefined => scalarText(field(key), key, fail);
  const optional = (key: string): string | undefined => {
    const v = str(key);
    return v === "" ? undefined : v;
  };

  const name = str("name");
  if (name === undefined || name === "") throw fail("missing name");
  if (!isValidSnapName(name)) throw fail(`invalid snap name: ${JSON.stringify(name)}`);

  const version = str("version");
  if (version === undefined || version === "") throw fail("missing version");
  if (!VERSION_RE.test(version)) throw fail(`invalid snap version: ${JSON.stringify(version)}`);

  let type = optional("type") ?? "app";
  if (type === "application") type = "app";
  if (!SNAP_TYPES.has(type)) throw fail(`invalid snap type: ${JSON.stringify(type)}`);

  const confinement = optional("confinement") ?? "strict";
  if (!CONFINEMENTS.has(confinement)) throw fail(`invalid confinement: ${JSON.stringify(confinement)}`);

  const grade = optional("grade") ?? "stable";
  if (!GRADES.has(grade)) throw fail(`invalid grade: ${JSON.stringify(grade)}`);

  const architectures = architecturesOf(doc, field("architectures"), fail);
  const { apps, commonIds } = appsOf(doc, field("apps"), fail);

  // the rest of what snapd checks when it loads and installs the snap (aliases are bounded above)
  const problem = snapYamlProblem(doc.toJS({ maxAliasCount: -1 }));
  if (problem !== undefined) throw fail(problem);

  const base = optional("base");
  const provenance = optional("provenance");
  const title = optional("title");
  const license = optional("license");
  return {
    name,
    version,
    summary: str("summary") ?? "",
    description: str("description") ?? "",
    type,
    ...(base === undefined ? {} : { base }),
    confinement,
    grade,
    architectures,
    epoch: parseEpochNode(doc, field("epoch"), fail),
    apps,
    ...(commonIds.length === 0 ? {} : { commonIds }),
    defaultProviders: defaultProviders(doc, field("plugs"), fail),
    ...(provenance === undefined ? {} : { provenance }),
    ...(title === undefined ? {} : { title }),
    ...(license === undefined ? {} : { license }),
  };
}
