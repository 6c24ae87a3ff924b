/**
 * systemd units for a store, rendered from the templates in templates/:
 * `<name>-serve.service` (the shim; restarts on failure, SIGHUP reloads),
 * `<name>-nginx.service` (a dedicated nginx whose configuration is
 * regenerated at every start and reload), and `<name>-reload.path` +
 * `<name>-reload.service` (a build replaces `<dir>/current`, which reloads
 * both). Pure: the caller reads the templates and writes the result.
 */
import { SnapshelfError } from "../util/errors.js";

export const UNIT_TEMPLATES = [
  "snapshelf-serve.service",
  "snapshelf-nginx.service",
  "snapshelf-reload.path",
  "snapshelf-reload.service",
] as const;
export type UnitTemplate = (typeof UNIT_TEMPLATES)[number];

export interface UnitOptions {
  /** Prefix of the unit names (several stores on one host). */
  readonly name: string;
  /** Absolute path of the store directory. */
  readonly dir: string;
  /** The snapshelf command, as argv (e.g. [node, /opt/snapshelf/bin/snapshelf]). */
  readonly bin: readonly string[];
  /** User the shim runs as (and nginx's workers); root when absent. */
  readonly user?: string;
  /** Where the shim listens. */
  readonly host: string;
  readonly port: number;
  /** `serve --workers` (a count or `auto`); absent: one process. */
  readonly workers?: string;
  /** With nginx: the nginx binary and the extra `nginx-config` arguments (--listen, --tls-cert, ...). */
  readonly nginx?: { readonly bin: string; readonly args: readonly string[] };
}

function fail(reason: string): never {
  throw new SnapshelfError("install-service", `cannot write systemd units: ${reason}`);
}

/** One argument of an Exec= line: `%` and `$` escaped, quoted when it has spaces or quotes. */
export function execArg(s: string): string {
  if (/[\n\r\0]/.test(s)) fail(`${JSON.stringify(s)} contains a line break or NUL`);
  const e = s.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /[\s"'\\;]/.test(e) ? `"${e.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : e;
}

/** A path in a non-Exec setting (PathChanged=): only specifiers need escaping. */
function pathValue(s: string): string {
  if (/[\n\r\0]/.test(s)) fail(`${JSON.stringify(s)} contains a line break or NUL`);
  return s.replace(/%/g, "%%");
}

/**
 * A path in a path-list setting (ReadWritePaths=): one quoted word, so spaces stay in it, with
 * C escapes for `\\` and `"`, `%` escaped as a specifier; `-` first: a missing path is no error.
 */
export function pathListEntry(s: string, optional: boolean): string {
  const e = pathValue(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `"${optional ? "-" : ""}${e}"`;
}

/** Where serve keeps its download counts (the store layout's `downloads`, state/downloads): writable under ProtectSystem=strict. */
export function downloadsPath(dir: string): string {
  return `${dir.replace(/\/+$/, "")}/state/downloads`;
}

/** The file name a template is installed as. */
export function unitFileName(template: UnitTemplate, name: string): string {
  return template.replace(/^snapshelf/, name);
}

/** Fills a template's `{{KEY}}` placeholders; every placeholder must be known. */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) fail(`template placeholder {{${key}}} has no value`);
    return v;
  });
}

/** The units to write: file name -> text. Without `nginx`, the nginx unit is left out. */
export function renderUnits(templates: Readonly<Record<UnitTemplate, string>>, o: UnitOptions): Map<string, string> {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(o.name)) fail(`bad unit name prefix ${JSON.stringify(o.name)}`);
  if (!o.dir.startsWith("/")) fail(`the store directory must be absolute, not ${JSON.stringify(o.dir)}`);
  if (o.user !== undefined && !/^[a-z_][a-z0-9_-]*\$?$/.test(o.user)) fail(`bad user name ${JSON.stringify(o.user)}`);
  if (o.workers !== undefined && !/^(auto|[1-9][0-9]{0,2})$/.test(o.workers))
    fail(`bad --workers ${JSON.stringify(o.workers)} (a count or auto)`);
  if (o.bin.length === 0 || !(o.bin[0] ?? "").startsWith("/")) fail("the snapshelf command must be an absolute path");
  const dir = o.dir.replace(/\/+$/, "");
  const values: Record<string, string> = {
    NAME: o.name,
    DIR: dir.replace(/[\r\n]/g, " "),
    DIR_ARG: execArg(dir),
    CURRENT: pathValue(`${dir}/current`),
    DOWNLOADS_RW: pathListEntry(downloadsPath(dir), true),
    DOWNLOADS_ARG: execArg(downloadsPath(dir)),
    DOWNLOADS_OWNER: o.user === undefined ? "" : `-o ${o.user} `,
    BIN: o.bin.map(execArg).join(" "),
    USER: o.user === undefined ? "" : `User=${o.user}\n`,
    HOST: execArg(o.host),
    PORT: String(o.port),
    SERVE_ARGS: o.workers === undefined ? "" : ` --workers ${o.workers}`,
    NGINX: execArg(o.nginx?.bin ?? "/usr/sbin/nginx"),
    NGINX_ARGS: [...(o.user !== undefined ? ["--user", o.user] : []), ...(o.nginx?.args ?? [])]
      .map((a) => ` ${execArg(a)}`)
      .join(""),
  };
  const out = new Map<string, string>();
  for (const t of UNIT_TEMPLATES) {
    if (t === "snapshelf-nginx.service" && o.nginx === undefined) continue;
    out.set(unitFileName(t, o.name), renderTemplate(templates[t], values));
  }
  return out;
}
