/**
 * The Debian package's fixed places and the systemd units it ships (not enabled): the same
 * units `snapshelf install-service` writes, rendered for the installed case. scripts/package.sh
 * calls `writePackagedUnits`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderUnits, UNIT_TEMPLATES, type UnitTemplate } from "./units.js";

/** Where the package puts things; README "Install on an offline host" documents them. */
export const PACKAGED = {
  /** The default store (SNAPSHELF_DIR in /usr/bin/snapshelf). */
  dir: "/var/lib/snapshelf",
  bin: "/usr/bin/snapshelf",
  /** The system user postinst creates; the shim runs as it. */
  user: "snapshelf",
  host: "0.0.0.0",
  port: 8000,
} as const;

/**
 * Renders the shipped units from `templatesDir` into `targetDir` (serve, reload.path, reload.service).
 * @public scripts/package.sh imports it.
 */
export async function writePackagedUnits(templatesDir: string, targetDir: string): Promise<string[]> {
  const templates = {} as Record<UnitTemplate, string>;
  for (const t of UNIT_TEMPLATES) templates[t] = await readFile(join(templatesDir, t), "utf8");
  // no nginx unit: it would take the same port; `install-service --nginx` writes one to /etc
  const units = renderUnits(templates, {
    name: "snapshelf",
    dir: PACKAGED.dir,
    bin: [PACKAGED.bin],
    user: PACKAGED.user,
    host: PACKAGED.host,
    port: PACKAGED.port,
  });
  for (const [file, text] of units) await writeFile(join(targetDir, file), text, { mode: 0o644 });
  return [...units.keys()];
}
