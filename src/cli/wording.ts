/** Counted nouns and summaries the verbs print: one place for plurals. */

/** `1 revision`, `2 revisions`, `0 revisions`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The last line of `import`: what is new, what was there already, where. */
export function importSummary(
  res: { assertions: number; revisions: readonly { present?: boolean }[]; releases: number; components?: number },
  dir: string,
): string {
  const present = res.revisions.filter((r) => r.present === true).length;
  const fresh = res.revisions.length - present;
  const comps = res.components ? `, ${count(res.components, "component revision")}` : "";
  return (
    `${count(res.assertions, "new assertion")}, ${count(fresh, "new revision")}${comps}` +
    `${present > 0 ? ` (${present} already present)` : ""}, ${count(res.releases, "release")} into ${dir}`
  );
}
