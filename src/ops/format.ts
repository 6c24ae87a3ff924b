/**
 * Text output of the operations verbs: byte counts and aligned tables.
 * Pure. (`--json` output is the use-cases' results as they are.)
 */

/** Human-readable byte counts: `512 B`, `20.0 KiB`, `1.2 GiB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Rows as left-aligned columns separated by two spaces; no trailing blanks. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** JSON for `--json`: two-space indent, as every machine-readable output of the CLI. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
