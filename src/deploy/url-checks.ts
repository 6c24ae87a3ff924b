/**
 * Checks on the URL devices are handed: pure, so client-config, nginx-config
 * and init agree on what a loopback URL or a port mismatch is.
 */

/** Why `url` cannot reach this host from a device (a loopback or unspecified host), or undefined. */
export function loopbackReason(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const loopback =
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === "::1" ||
    host === "0:0:0:0:0:0:0:1" ||
    /^::ffff:127\./.test(host);
  if (loopback) return `${u.origin} is a loopback address`;
  if (host === "0.0.0.0" || host === "::")
    return `${u.origin} is the unspecified address, not a host devices can reach`;
  return undefined;
}

/** The port a URL is reached at (its default when it names none). */
export function urlPort(url: string): number | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.port !== "") return Number(u.port);
  return u.protocol === "https:" ? 443 : u.protocol === "http:" ? 80 : undefined;
}

/** The port of an nginx `listen` value: PORT, ADDR:PORT or [V6]:PORT. */
export function listenPort(listen: string): number | undefined {
  const m = /^(?:.*:)?([0-9]{1,5})$/.exec(listen.trim().split(/\s+/)[0] ?? "");
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

/**
 * A warning when nginx listens on another port than the base URL names: the
 * download URLs in the tree then point where nothing answers (unless a proxy
 * or port forward in front maps one to the other).
 */
export function listenMismatch(listen: string, baseUrl: string): string | undefined {
  const lp = listenPort(listen);
  const up = urlPort(baseUrl);
  if (lp === undefined || up === undefined || lp === up) return undefined;
  return `--listen ${listen} is port ${lp}, but the store's base URL ${baseUrl} is port ${up}: devices are sent to port ${up} (rebuild with --base-url, or forward ${up} to ${lp})`;
}
