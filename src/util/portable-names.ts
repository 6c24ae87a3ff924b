/**
 * File names that every filesystem a store or an export may be copied to
 * accepts (FAT32, exFAT, NTFS as well as Linux ones): none of `<>:"\|?*`, no
 * control characters, no trailing dot or space, no DOS device name (CON,
 * NUL, COM1, ...), and no two names in one directory that differ only by
 * case (those filesystems would make them one file). Pure.
 */

const BAD_CHARS = new Set([...'<>:"\\|?*']);

function badChar(segment: string): string | undefined {
  for (const c of segment) if (BAD_CHARS.has(c) || c.charCodeAt(0) < 0x20) return c;
  return undefined;
}
const DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why one path segment is not portable, if it is not. */
export function portableSegmentProblem(segment: string): string | undefined {
  if (segment === "" || segment === "." || segment === "..") return "an empty or dot segment";
  const bad = badChar(segment);
  if (bad !== undefined) return `the character ${JSON.stringify(bad)}`;
  if (/[. ]$/.test(segment)) return "a trailing dot or space";
  if (DEVICE.test(segment)) return "a DOS device name";
  if (segment.length > 255) return "more than 255 characters";
  return undefined;
}

/**
 * Collects paths (`a/b/c`, relative) and reports the first that is not
 * portable: a bad segment, or a case-only twin of a path seen before.
 */
export class PortableNames {
  private readonly seen = new Map<string, string>();

  /** The problem with `path`, if any (then the caller refuses it); the same path twice is fine. */
  add(path: string): string | undefined {
    for (const seg of path.split("/")) {
      const p = portableSegmentProblem(seg);
      if (p !== undefined) return `${JSON.stringify(path)} has ${p}`;
    }
    const folded = path.toLowerCase();
    const twin = this.seen.get(folded);
    if (twin !== undefined && twin !== path) {
      return `${JSON.stringify(path)} and ${JSON.stringify(twin)} differ only by case`;
    }
    this.seen.set(folded, path);
    return undefined;
  }
}
