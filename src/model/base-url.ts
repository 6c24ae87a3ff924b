/**
 * The base URL devices reach a store at: what init and build accept, and the
 * checks on it that client-config, nginx-config and init share (a loopback
 * URL, a port nginx does not listen on). Pure, so init checks it without
 * loading the build.
 */
import { SnapshelfError } from "../util/errors.js";

/** Validates and normalises a base URL: http(s), a host, no query or fragment, no trailing slash. */
export function normaliseBaseUrl(raw: string): string {
  const u = parsedUrl(raw);
  if (u === undefined) throw new SnapshelfError("bad-base-url", `cannot use base URL "${raw}": not a URL`);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new SnapshelfError("bad-base-url", `cannot use base URL "${raw}": scheme must be http or https`);
  }
  if (u.search !== "" || u.hash !== "" || raw.includes("?")) {
    throw new SnapshelfError(
      "bad-base-url",
      `cannot use base URL "${raw}": no query or fragment allowed (snapd panics on it)`,
    );
  }
  return u.toString().replace(/\/+$/, "");
}

/** `url` parsed, or undefined when it is not a URL. */
function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** Why `url` cannot reach this host from a device (a loopback or unspecified host), or undefined. */
export function loopbackReason(url: string): string | undefined {
  const u = parsedUrl(url);
  if (u === undefined) return undefined;
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
  const u = parsedUrl(url);
  if (u === undefined) return undefined;
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
