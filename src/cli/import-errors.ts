/**
 * What an import's error says to the operator: the bundle file and the entry
 * in it, never the staging path it was unpacked to; and, when a chain ends at
 * an authority the store does not trust, how to trust it.
 */
import { resolve, sep } from "node:path";
import type { StoreLayout } from "../store/layout.js";
import { SnapshelfError } from "../util/errors.js";

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `paths[i]` were unpacked into `state/tmp/bundle-i/`: name them `BUNDLE:ENTRY` instead. */
export function withBundleNames(message: string, layout: StoreLayout, paths: readonly string[]): string {
  const staging = new RegExp(`${escapeRegExp(layout.tmp + sep)}bundle-([0-9]+)${escapeRegExp(sep)}?`, "g");
  return message.replace(staging, (whole, i: string) => {
    const bundle = paths[Number(i)];
    return bundle === undefined ? whole : `${resolve(bundle)}:`;
  });
}

/** The authority a chain ended at without trust, if the message says so. */
function untrustedAuthority(message: string): string | undefined {
  return (
    /not signed by a directly trusted authority: (\S+)/.exec(message)?.[1] ??
    /no matching public key "[^"]*" for signature by "([^"]+)"/.exec(message)?.[1]
  );
}

export function explainImportError(err: unknown, layout: StoreLayout, paths: readonly string[]): unknown {
  if (!(err instanceof SnapshelfError)) return err;
  let message = withBundleNames(err.message, layout, paths);
  const authority = untrustedAuthority(message);
  if (authority !== undefined && !message.includes("--trusted-root")) {
    message += ` (if ${authority} is a root you trust, give its account and account-key assertions with --trusted-root FILE)`;
  }
  return message === err.message ? err : new SnapshelfError(err.code, message, { cause: err });
}
