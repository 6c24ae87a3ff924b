/**
 * Architectures: device architectures (Debian names) and the `all` pseudo
 * architecture of revisions built for every device. Pure, no I/O.
 */
import { KNOWN_ARCHES } from "./types.js";

/** A device architecture snapd knows. */
export type KnownArch = (typeof KNOWN_ARCHES)[number];

/** The architecture of revisions that run everywhere (never a device). */
export const ARCH_ALL = "all";

/** Whether `s` is a device architecture snapd knows (`all` is not). */
export function isKnownArch(s: string): s is KnownArch {
  return (KNOWN_ARCHES as readonly string[]).includes(s);
}

/** Whether a revision built for `revArches` runs on a device of `deviceArch`. */
export function revisionRunsOn(revArches: readonly string[], deviceArch: string): boolean {
  return revArches.includes(deviceArch) || revArches.includes(ARCH_ALL);
}

/**
 * The arch keys a revision is released under: `all` alone for a revision
 * built for every architecture, else each listed architecture once, sorted.
 */
export function releaseArchKeys(revArches: readonly string[]): readonly string[] {
  if (revArches.includes(ARCH_ALL)) return [ARCH_ALL];
  return [...new Set(revArches)].sort();
}
