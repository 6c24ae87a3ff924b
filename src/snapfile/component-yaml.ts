/**
 * A component's `meta/component.yaml` (snapd >= 2.62, `snap/component.go`
 * `InfoFromComponentYaml`): `component: <snap>+<component>`, `type`, optional `version`,
 * `summary`, `description`. Only what the store serves is kept; snapd's own checks of the
 * names (snap naming rules) and of the type are made here too. Pure.
 */
import { isMap, parseDocument } from "yaml";
import { SnapshelfError } from "../util/errors.js";
import { isValidSnapName } from "./validate.js";
import { aliasProblem, MAX_YAML_DEPTH, yamlDepth } from "./yaml-limits.js";

/** Component types snapd 2.68.3 knows (`snap/types.go` validComponentTypes). */
export const COMPONENT_TYPES: readonly string[] = ["test", "standard", "kernel-modules"];

export interface ComponentYamlInfo {
  readonly snapName: string;
  readonly component: string;
  readonly type: string;
  readonly version: string;
  readonly summary: string;
  readonly description: string;
}

/** Parses component.yaml text; errors are `cannot parse component.yaml of <source>: <reason>`. */
export function parseComponentYaml(text: string, source: string): ComponentYamlInfo {
  const fail = (reason: string): SnapshelfError =>
    new SnapshelfError("invalid-component-yaml", `cannot parse component.yaml of ${source}: ${reason}`);
  const depth = yamlDepth(text);
  if (depth > MAX_YAML_DEPTH) throw fail(`exceeded max depth of ${MAX_YAML_DEPTH} (${depth} levels)`);
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError !== undefined) throw fail(firstError.message.split("\n")[0] ?? "invalid YAML");
  const aliasing = aliasProblem(doc);
  if (aliasing !== undefined) throw fail(aliasing);
  if (!isMap(doc.contents)) throw fail("not a map");
  const value: unknown = doc.toJS();
  const m = value as Record<string, unknown>;
  const str = (key: string): string => {
    const v = m[key];
    if (v === undefined || v === null) return "";
    if (typeof v !== "string" && typeof v !== "number") throw fail(`${key} must be a string`);
    return String(v);
  };
  const ref = str("component");
  const plus = ref.indexOf("+");
  const snapName = plus < 0 ? "" : ref.slice(0, plus);
  const component = plus < 0 ? "" : ref.slice(plus + 1);
  if (snapName === "") throw fail("snap name for component cannot be empty");
  if (component === "") throw fail("component name cannot be empty");
  if (!isValidSnapName(snapName)) throw fail(`invalid snap name: ${JSON.stringify(snapName)}`);
  if (!isValidSnapName(component)) throw fail(`invalid component name: ${JSON.stringify(component)}`);
  const type = str("type");
  if (type === "") throw fail("component type cannot be empty");
  if (!COMPONENT_TYPES.includes(type)) throw fail(`unknown component type ${JSON.stringify(type)}`);
  return {
    snapName,
    component,
    type,
    version: str("version"),
    summary: str("summary"),
    description: str("description"),
  };
}
