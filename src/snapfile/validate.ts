/**
 * What snapd checks of a snap.yaml before a device installs the snap, so
 * the store never holds one that no device can install. Two layers, in
 * snapd's order:
 *
 * - decoding (`snap/info_snap_yaml.go`: go-yaml v2 into typed fields): a
 *   list or mapping where snapd wants a string, a scalar where it wants a
 *   list or mapping, malformed plug and slot definitions, the `layouts` typo;
 * - `snap.Validate` (`snap/validate.go`, `snap/naming`): names of the snap,
 *   its base, apps, aliases, hooks, plugs, slots and interfaces; provenance;
 *   title and description lengths; app fields snapd restricts.
 *
 * Input is the document as plain data (aliases resolved, merge keys
 * applied); every reason is snapd's wording, with the field named where
 * snapd's does not. Pure: no I/O. The version, epoch, type, confinement and
 * grade are checked by the parser (snap-yaml.ts), which keeps their text.
 */

type Plain = Record<string, unknown>;

const SNAP_NAME_RE = /^[a-z0-9](?:-?[a-z0-9])*$/;
const HAS_LETTER_RE = /[a-z]/;
/** snapd's plug, slot, interface and hook names. */
const PLUG_SLOT_IFACE_HOOK_RE = /^[a-z](?:-?[a-z0-9])*$/;
const APP_NAME_RE = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
const ALIAS_RE = /^[a-zA-Z0-9][-_.a-zA-Z0-9]*$/;
const PROVENANCE_RE = /^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$/;
/** What snapd allows in command, stop-command, reload-command, post-stop-command and bus-name. */
const APP_CONTENT_RE = /^[A-Za-z0-9/. _#:$-]*$/;
const COMMAND_CHAIN_RE = /^[A-Za-z0-9/._#:$-]*$/;

const DAEMONS: ReadonlySet<string> = new Set(["", "simple", "forking", "oneshot", "dbus", "notify"]);
const STOP_MODES: ReadonlySet<string> = new Set([
  "",
  "sigterm",
  "sigterm-all",
  "sighup",
  "sighup-all",
  "sigusr1",
  "sigusr1-all",
  "sigusr2",
  "sigusr2-all",
  "sigint",
  "sigint-all",
]);
const MAX_TITLE = 40;
const MAX_DESCRIPTION = 4096;

/** snapd's `naming.ValidateSnap`: 2 to 40 characters, lowercase letters, digits, single hyphens, one letter at least. */
export function isValidSnapName(name: string): boolean {
  return name.length >= 2 && name.length <= 40 && SNAP_NAME_RE.test(name) && HAS_LETTER_RE.test(name);
}

class Invalid extends Error {}

function invalid(reason: string): never {
  throw new Invalid(reason);
}

function isMapping(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);
}

/** go-yaml's name for what a value was written as. */
function yamlTag(v: unknown): string {
  if (Array.isArray(v)) return "!!seq";
  if (isMapping(v)) return "!!map";
  if (typeof v === "number" || typeof v === "bigint") return Number.isInteger(v) ? "!!int" : "!!float";
  if (typeof v === "boolean") return "!!bool";
  if (v instanceof Date) return "!!timestamp";
  return "!!str";
}

function cannotUnmarshal(field: string, v: unknown, into: string): never {
  const tag = yamlTag(v);
  const shown = tag === "!!seq" || tag === "!!map" ? tag : `${tag} \`${String(v)}\``;
  return invalid(`${field}: cannot unmarshal ${shown} into ${into}`);
}

/** A string field: any scalar (go-yaml keeps its text), or absent. */
function str(field: string, v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v) || isMapping(v)) return cannotUnmarshal(field, v, "string");
  return v instanceof Date ? v.toISOString() : String(v);
}

function strList(field: string, v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) return cannotUnmarshal(field, v, "[]string");
  return v.map((x) => str(field, x));
}

function mapping(field: string, v: unknown, into: string): Array<[string, unknown]> {
  if (v === null || v === undefined) return [];
  if (!isMapping(v)) return cannotUnmarshal(field, v, into);
  return Object.entries(v);
}

function runeCount(s: string): number {
  return [...s].length;
}

interface PlugOrSlot {
  readonly iface: string;
}

/** snapd's `convertToSlotOrPlugData`. */
function plugOrSlot(kind: "plug" | "slot", name: string, data: unknown): PlugOrSlot {
  if (data === null || data === undefined) return { iface: name };
  if (typeof data === "string") return { iface: data };
  if (!isMapping(data))
    return invalid(`${kind} ${JSON.stringify(name)} has malformed definition (found ${goType(data)})`);
  let iface = name;
  for (const [key, value] of Object.entries(data)) {
    if (key === "") invalid(`${kind} ${JSON.stringify(name)} has an empty attribute key`);
    if (key.startsWith("$")) invalid(`${kind} ${JSON.stringify(name)} uses reserved attribute ${JSON.stringify(key)}`);
    if (key === "interface") {
      if (typeof value !== "string")
        invalid(`interface name on ${kind} ${JSON.stringify(name)} is not a string (found ${goType(value)})`);
      iface = value;
    } else if (key === "label" && typeof value !== "string") {
      invalid(`label of ${kind} ${JSON.stringify(name)} is not a string (found ${goType(value)})`);
    }
  }
  return { iface };
}

/** Go's %T of a decoded YAML value, for snapd's "(found T)" wording. */
function goType(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (Array.isArray(v)) return "[]interface {}";
  if (isMapping(v)) return "map[interface {}]interface {}";
  if (typeof v === "number" || typeof v === "bigint") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "boolean") return "bool";
  if (v instanceof Date) return "time.Time";
  return "string";
}

interface App {
  readonly name: string;
  /** The daemon kind, "" for a command. */
  readonly daemon: string;
  /** The daemon scope as snapd sets it ("system" for a daemon that names none). */
  readonly scope: string;
  readonly before: string[];
  readonly after: string[];
  readonly aliases: string[];
  readonly plugs: string[];
  readonly slots: string[];
}

function checkApp(name: string, v: unknown): App {
  const field = `apps.${name}`;
  const def = new Map(mapping(field, v, "snap.appYaml"));
  const get = (k: string): string => str(`${field}.${k}`, def.get(k));
  const list = (k: string): string[] => strList(`${field}.${k}`, def.get(k));
  const fail = (reason: string): never =>
    invalid(`invalid definition of application ${JSON.stringify(name)}: ${reason}`);
  const aliases = list("aliases");
  const plugs = list("plugs");
  const slots = list("slots");
  const chain = list("command-chain");
  const before = list("before");
  const after = list("after");
  for (const k of ["activates-on", "success-exit-status"]) list(k);
  mapping(`${field}.environment`, def.get("environment"), "strutil.OrderedMap");
  mapping(`${field}.sockets`, def.get("sockets"), "map[string]snap.socketsYaml");

  const daemon = get("daemon");
  if (!DAEMONS.has(daemon)) fail(`"daemon" field contains invalid value ${JSON.stringify(daemon)}`);
  const scope = get("daemon-scope");
  if (scope === "" && daemon !== "") {
    // snapd defaults a daemon's scope to "system" before validating
  } else if (scope === "system" || scope === "user") {
    if (daemon === "") fail(`"daemon-scope" can only be set for daemons`);
  } else if (scope !== "") fail(`invalid "daemon-scope": ${JSON.stringify(scope)}`);
  if (!APP_NAME_RE.test(name))
    fail(`cannot have ${JSON.stringify(name)} as app name - use letters, digits, and dash as separator`);
  for (const k of ["command", "stop-command", "reload-command", "post-stop-command", "bus-name"]) {
    const value = get(k);
    if (!APP_CONTENT_RE.test(value))
      fail(
        `app description field '${k}' contains illegal ${JSON.stringify(value)} (legal: '${APP_CONTENT_RE.source}')`,
      );
  }
  for (const value of chain) {
    if (!COMMAND_CHAIN_RE.test(value))
      fail(
        `app description field 'command-chain' contains illegal ${JSON.stringify(value)} (legal: '${COMMAND_CHAIN_RE.source}')`,
      );
  }
  const stopMode = get("stop-mode");
  if (!STOP_MODES.has(stopMode)) fail(`"stop-mode" field contains invalid value ${JSON.stringify(stopMode)}`);
  const refreshMode = get("refresh-mode");
  if (!["", "endure", "restart", "ignore-running"].includes(refreshMode))
    fail(`"refresh-mode" field contains invalid value ${JSON.stringify(refreshMode)}`);
  const installMode = get("install-mode");
  if (!["", "enable", "disable"].includes(installMode))
    fail(`"install-mode" field contains invalid value ${JSON.stringify(installMode)}`);
  if (stopMode !== "" && daemon === "")
    fail(`"stop-mode" cannot be used for ${JSON.stringify(name)}, only for services`);
  if (installMode !== "" && daemon === "")
    fail(`"install-mode" cannot be used for ${JSON.stringify(name)}, only for services`);
  for (const k of ["start-timeout", "stop-timeout", "watchdog-timeout", "restart-delay", "timer", "completer"]) get(k);
  return {
    name,
    daemon,
    scope: scope === "" && daemon !== "" ? "system" : scope,
    before,
    after,
    aliases,
    plugs,
    slots,
  };
}

/** snapd's `validateAppOrderNames` for every app, then `SortServices`: no before/after cycle. */
function checkServiceOrder(apps: readonly App[]): void {
  const byName = new Map(apps.map((a) => [a.name, a]));
  for (const app of apps) {
    const fail = (reason: string): never =>
      invalid(`invalid definition of application ${JSON.stringify(app.name)}: ${reason}`);
    for (const deps of [app.before, app.after]) {
      if (deps.length > 0 && app.daemon === "") fail("must be a service to define before/after ordering");
      for (const dep of deps) {
        const other = byName.get(dep);
        if (other === undefined) fail(`before/after references a missing application ${JSON.stringify(dep)}`);
        else if (other.daemon === "") fail(`before/after references a non-service application ${JSON.stringify(dep)}`);
        else if (other.scope !== app.scope)
          fail(`before/after references service with different daemon-scope ${JSON.stringify(dep)}`);
      }
    }
  }
  // Kahn's algorithm over the services: what is left has predecessors in a cycle
  const services = apps.filter((a) => a.daemon !== "");
  const successors = new Map<string, string[]>();
  const predecessors = new Map<string, number>();
  const edge = (from: string, to: string): void => {
    successors.set(from, [...(successors.get(from) ?? []), to]);
    predecessors.set(to, (predecessors.get(to) ?? 0) + 1);
  };
  for (const app of services) {
    for (const b of app.before) edge(app.name, b);
    for (const a of app.after) edge(a, app.name);
  }
  const queue = services.filter((a) => !predecessors.has(a.name)).map((a) => a.name);
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const succ of successors.get(next) ?? []) {
      const left = (predecessors.get(succ) ?? 0) - 1;
      if (left === 0) {
        predecessors.delete(succ);
        queue.push(succ);
      } else predecessors.set(succ, left);
    }
  }
  if (predecessors.size > 0)
    invalid(`applications are part of a before/after cycle: ${[...predecessors.keys()].sort().join(", ")}`);
}

function checkNames(kind: "plug" | "slot", defs: Map<string, PlugOrSlot>): void {
  for (const [name, def] of defs) {
    if (!PLUG_SLOT_IFACE_HOOK_RE.test(name)) invalid(`invalid ${kind} name: ${JSON.stringify(name)}`);
    if (!PLUG_SLOT_IFACE_HOOK_RE.test(def.iface))
      invalid(`invalid interface name ${JSON.stringify(def.iface)} for ${kind} ${JSON.stringify(name)}`);
  }
}

/** What the decoding step hands to snap.Validate's checks. */
interface Decoded {
  readonly name: string;
  readonly plugs: Map<string, PlugOrSlot>;
  readonly slots: Map<string, PlugOrSlot>;
  readonly apps: App[];
  readonly hooks: [string, unknown][];
  /** Alias -> app. */
  readonly aliasOf: Map<string, string>;
}

function check(doc: unknown): void {
  if (!isMapping(doc)) invalid("top level must be a mapping");
  const field = (k: string): unknown => doc[k];
  validate(field, decode(field));
}

/** Decoding: every field snapd reads, in its types; plugs and slots named by apps and hooks only are added. */
function decode(field: (k: string) => unknown): Decoded {
  if (field("layouts") !== undefined) invalid(`typo detected: use singular "layout" instead of plural "layouts"`);
  const name = str("name", field("name"));
  for (const k of ["version", "type", "title", "description", "summary", "provenance", "license", "base"])
    str(k, field(k));
  for (const k of ["confinement", "grade"]) str(k, field(k));
  strList("architectures", field("architectures"));
  strList("assumes", field("assumes"));
  mapping("environment", field("environment"), "strutil.OrderedMap");
  mapping("layout", field("layout"), "map[string]snap.layoutYaml");
  mapping("system-usernames", field("system-usernames"), "map[string]interface {}");
  for (const [k, v] of mapping("links", field("links"), "map[string][]string")) strList(`links.${k}`, v);
  const plugs = new Map<string, PlugOrSlot>();
  const slots = new Map<string, PlugOrSlot>();
  for (const [k, v] of mapping("plugs", field("plugs"), "map[string]interface {}"))
    plugs.set(k, plugOrSlot("plug", k, v));
  for (const [k, v] of mapping("slots", field("slots"), "map[string]interface {}"))
    slots.set(k, plugOrSlot("slot", k, v));
  const apps = mapping("apps", field("apps"), "map[string]snap.appYaml").map(([k, v]) => checkApp(k, v));
  const hooks = mapping("hooks", field("hooks"), "map[string]snap.hookYaml");
  const aliasOf = new Map<string, string>();
  for (const app of apps) {
    for (const alias of app.aliases) {
      const other = aliasOf.get(alias);
      if (other !== undefined)
        invalid(
          `cannot set ${JSON.stringify(alias)} as alias for both ${JSON.stringify(other)} and ${JSON.stringify(app.name)}`,
        );
      aliasOf.set(alias, app.name);
    }
    // plugs and slots named by an app only are defined implicitly, their interface their name
    for (const p of app.plugs) if (!plugs.has(p)) plugs.set(p, { iface: p });
    for (const s of app.slots) if (!slots.has(s)) slots.set(s, { iface: s });
  }
  for (const [hook, v] of hooks) {
    const def = new Map(mapping(`hooks.${hook}`, v, "snap.hookYaml"));
    for (const p of strList(`hooks.${hook}.plugs`, def.get("plugs"))) if (!plugs.has(p)) plugs.set(p, { iface: p });
    for (const s of strList(`hooks.${hook}.slots`, def.get("slots"))) if (!slots.has(s)) slots.set(s, { iface: s });
    mapping(`hooks.${hook}.environment`, def.get("environment"), "strutil.OrderedMap");
    for (const value of strList(`hooks.${hook}.command-chain`, def.get("command-chain"))) {
      if (!COMMAND_CHAIN_RE.test(value))
        invalid(`hook command-chain contains illegal ${JSON.stringify(value)} (legal: '${COMMAND_CHAIN_RE.source}')`);
    }
  }
  return { name, plugs, slots, apps, hooks, aliasOf };
}

/** snap.Validate, in its order. */
function validate(field: (k: string) => unknown, d: Decoded): void {
  const { name, plugs, slots, apps, hooks, aliasOf } = d;
  if (name === "") invalid("snap name cannot be empty");
  const provenance = str("provenance", field("provenance"));
  if (provenance === "global-upload") invalid("provenance cannot be set to default (global-upload) explicitly");
  if (provenance !== "" && !PROVENANCE_RE.test(provenance))
    invalid(`invalid provenance: ${JSON.stringify(provenance)}`);
  if (!isValidSnapName(name)) invalid(`invalid snap name: ${JSON.stringify(name)}`);
  const title = runeCount(str("title", field("title")));
  if (title > MAX_TITLE) invalid(`title can have up to ${MAX_TITLE} codepoints, got ${title}`);
  const description = runeCount(str("description", field("description")));
  if (description > MAX_DESCRIPTION)
    invalid(`description can have up to ${MAX_DESCRIPTION} codepoints, got ${description}`);
  checkServiceOrder(apps);
  for (const [alias, app] of aliasOf) {
    if (!ALIAS_RE.test(alias))
      invalid(
        `cannot have ${JSON.stringify(alias)} as alias name for app ${JSON.stringify(app)} - use only letters, digits, dash, underscore and dot characters`,
      );
  }
  for (const [hook] of hooks) {
    if (!PLUG_SLOT_IFACE_HOOK_RE.test(hook)) invalid(`invalid hook name: ${JSON.stringify(hook)}`);
  }
  checkNames("plug", plugs);
  checkNames("slot", slots);
  for (const p of plugs.keys()) {
    if (slots.has(p)) invalid(`cannot have plug and slot with the same name: ${JSON.stringify(p)}`);
  }
  const type = str("type", field("type")) || "app";
  const base = str("base", field("base"));
  if ((type === "os" || type === "base") && base !== "" && base !== "none")
    invalid(`cannot have "base" field on ${JSON.stringify(type)} snap ${JSON.stringify(name)}`);
  if (base === "none" && (apps.length > 0 || hooks.length > 0)) invalid(`cannot have apps or hooks with base "none"`);
  if (base !== "") {
    if (base.includes("_")) invalid(`base cannot specify a snap instance name: ${JSON.stringify(base)}`);
    if (!isValidSnapName(base)) invalid(`invalid base name: invalid snap name: ${JSON.stringify(base)}`);
  }
}

/**
 * The reason snapd would refuse to load or install a snap with this
 * snap.yaml (as plain data), or undefined when it would not.
 */
export function snapYamlProblem(doc: unknown): string | undefined {
  try {
    check(doc);
    return undefined;
  } catch (err) {
    if (err instanceof Invalid) return err.message;
    throw err;
  }
}
