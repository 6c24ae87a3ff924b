/**
 * How fresh the bundles behind a store are (issue 15: a frozen mirror is a
 * security problem): per snap, when the bundle it was last imported from was
 * exported, by which operator key, and a warning past a maximum age. Read
 * from `state/trust.json` (src/store/operator-trust.ts); read-only.
 */
import type { StoreLayout } from "../store/layout.js";
import { readTrust } from "../store/operator-trust.js";
import { readRecords } from "../store/state.js";

export interface SnapExportAge {
  readonly name: string;
  /** Absent when the snap came from a version 1 bundle or from plain files. */
  readonly exportedAt?: string;
  readonly keyId?: string;
  readonly counter?: number;
  readonly bundle?: string;
  /** Whole days since the export. */
  readonly ageDays?: number;
}

export interface ExportAges {
  readonly operatorKeys: readonly string[];
  readonly snaps: readonly SnapExportAge[];
  readonly warnings: readonly string[];
}

export async function exportAges(layout: StoreLayout, now: Date, maxAgeDays: number): Promise<ExportAges> {
  const [trust, records] = await Promise.all([readTrust(layout), readRecords(layout)]);
  const names = [...new Set(records.revisions.map((r) => r.name))].sort();
  const warnings: string[] = [];
  const snaps = names.map((name): SnapExportAge => {
    const t = trust.snaps[name];
    if (t?.exportedAt === undefined) return { name, ...(t === undefined ? {} : { bundle: t.bundle }) };
    const ageDays = Math.floor((now.getTime() - Date.parse(t.exportedAt)) / 86_400_000);
    if (ageDays > maxAgeDays) {
      warnings.push(
        `${name} is served from a bundle exported ${ageDays} days ago (${t.exportedAt}), more than ${maxAgeDays}: export and import it again`,
      );
    }
    return {
      name,
      exportedAt: t.exportedAt,
      ...(t.keyId === undefined ? {} : { keyId: t.keyId }),
      ...(t.counter === undefined ? {} : { counter: t.counter }),
      bundle: t.bundle,
      ageDays,
    };
  });
  return { operatorKeys: trust.operatorKeys.map((k) => k.keyId), snaps, warnings };
}
