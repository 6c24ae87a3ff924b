/**
 * Debian tools some e2e tests drive (nginx, openssl, chromium): installed by
 * the project's own script (scripts/system-deps.sh, which `make test` also
 * runs), so a test file run alone on a fresh machine works too.
 */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { runChecked } from "./process.js";
import { repoRoot } from "./work-dir.js";

/** The absolute path of `name` on PATH (plus the sbin directories), or undefined. */
export async function which(name: string): Promise<string | undefined> {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const d of dirs) {
    if (d === "") continue;
    const p = join(d, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Makes sure `binary` exists, installing `packages` with scripts/system-deps.sh if not; returns its path. */
export async function ensureTool(binary: string, packages: readonly string[]): Promise<string> {
  const found = await which(binary);
  if (found !== undefined) return found;
  await runChecked("bash", [join(repoRoot(), "scripts", "system-deps.sh"), ...packages], { timeoutMs: 30 * 60_000 });
  const after = await which(binary);
  if (after === undefined) throw new Error(`scripts/system-deps.sh ${packages.join(" ")} did not provide ${binary}`);
  return after;
}
