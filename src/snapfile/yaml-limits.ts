/**
 * Limits on a YAML document before anything walks it, at least as strict as
 * go-yaml v2 (gopkg.in/yaml.v2 v2.4.0, what snapd 2.57 and 2.68 decode
 * snap.yaml with):
 *
 * - nesting: go-yaml refuses more than 10,000 levels ("exceeded max depth");
 *   the `yaml` package's composer recurses once per level and runs out of
 *   stack near 1,000 (and of memory formatting the error near 10,000), so
 *   the depth is measured first on the concrete syntax tree, without
 *   recursion, and capped far below both (no real snap.yaml nests beyond ten);
 * - aliases: go-yaml counts every node it decodes and those decoded through
 *   an alias, and refuses "excessive aliasing" (the billion-laughs bomb) by
 *   the ratio rule below; an alias inside its own anchor is refused too.
 *   The same count is made here in document order, as the decoder would, and
 *   stops at the first step where go-yaml would stop, so a bomb costs little.
 *
 * Pure: no I/O.
 */
import type { Document } from "yaml";
import { isAlias, isMap, isPair, isSeq, Parser } from "yaml";

/** Deepest nesting accepted (go-yaml: 10,000). */
export const MAX_YAML_DEPTH = 256;

/**
 * The deepest nesting of collections in `text` (any document in it), measured on the
 * concrete syntax tree with an explicit stack.
 */
export function yamlDepth(text: string): number {
  let max = 0;
  for (const token of new Parser().parse(text)) {
    const stack: Array<[unknown, number]> = [[token, 0]];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      const [node, depth] = top;
      if (typeof node !== "object" || node === null) continue;
      if (depth > max) max = depth;
      const t = node as { items?: Array<{ key?: unknown; value?: unknown }>; value?: unknown };
      if (Array.isArray(t.items)) {
        for (const item of t.items) stack.push([item.key, depth + 1], [item.value, depth + 1]);
      }
      if (typeof t.value === "object") stack.push([t.value, depth]);
    }
  }
  return max;
}

/** go-yaml v2's `allowedAliasRatio`: the share of decoded nodes that may come from aliases. */
export function allowedAliasRatio(decodes: number): number {
  const low = 400_000;
  const high = 4_000_000;
  if (decodes <= low) return 0.99;
  if (decodes >= high) return 0.1;
  return 0.99 - (0.89 * (decodes - low)) / (high - low);
}

/**
 * Why go-yaml would refuse the aliases of `doc` ("document contains excessive aliasing",
 * "anchor 'x' value contains itself"), or undefined.
 */
export function aliasProblem(doc: Document): string | undefined {
  let decodes = 0;
  let aliased = 0;
  // [node, inside an alias, anchor node to release when leaving] with exit markers
  type Step = { node: unknown; inAlias: boolean } | { leave: object };
  const expanding = new Set<object>();
  const stack: Step[] = [{ node: doc.contents, inAlias: false }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if ("leave" in step) {
      expanding.delete(step.leave);
      continue;
    }
    const { node, inAlias } = step;
    if (node === null || node === undefined) continue;
    decodes++;
    if (inAlias) aliased++;
    if (aliased > 100 && decodes > 1000 && aliased / decodes > allowedAliasRatio(decodes)) {
      return "document contains excessive aliasing";
    }
    const children: unknown[] = [];
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) continue;
      if (expanding.has(target)) return `anchor '${node.source}' value contains itself`;
      expanding.add(target);
      stack.push({ leave: target }, { node: target, inAlias: true });
      continue;
    }
    if (isMap(node)) {
      for (const pair of node.items) children.push(pair.key, pair.value);
    } else if (isSeq(node)) {
      for (const item of node.items) children.push(isPair(item) ? item.value : item);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], inAlias });
  }
  return undefined;
}
