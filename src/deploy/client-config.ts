/**
 * What a device needs to use the store (store-protocol.md §1): snapd's
 * `SNAPPY_FORCE_API_URL` (a systemd drop-in, or /etc/environment), a
 * private CA in snapd's `store-certs`, how to check it and how to undo it,
 * and, for operators holding a Canonical-signed `store` assertion for this
 * URL, the `snap ack` + `proxy.store` route. As text for a person, a shell
 * script, or a cloud-init snippet for fleets. Pure.
 */
import { SnapshelfError } from "../util/errors.js";

export type ClientConfigFormat = "text" | "script" | "cloud-init";

/** A `store` assertion the device can fetch from this store (§1.3). */
export interface StoreAssertionInfo {
  readonly id: string;
  readonly operatorId: string;
  /** The key that signed it (a Canonical key: devices may not have it yet). */
  readonly signKey: string;
  /** The assertion's `url` header, if any. */
  readonly url?: string;
}

export interface ClientConfigOptions {
  /** Base URL of the store, without a trailing slash. */
  readonly url: string;
  /** PEM of a private CA to trust (https stores whose certificate it signed). */
  readonly caPem?: string;
  /** Where the CA file is, as the operator named it (text format). */
  readonly caName?: string;
  readonly store?: StoreAssertionInfo;
  readonly format: ClientConfigFormat;
}

export const DROP_IN = "/etc/systemd/system/snapd.service.d/snapshelf.conf";
export const CA_PATH = "/usr/local/share/snapshelf/store-ca.pem";
const CERT_NAME = "snapshelf";

function fail(reason: string): never {
  throw new SnapshelfError("client-config", `cannot print device steps: ${reason}`);
}

/** The store URL as snapd wants it: http(s), no query (snapd panics on one), one trailing slash. */
export function apiUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail(`${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") fail(`${url}: the scheme must be http or https`);
  if (u.search !== "" || u.hash !== "" || url.includes("?")) fail(`${url}: no query or fragment (snapd panics on it)`);
  // what ends up in shell scripts, YAML and systemd settings: nothing needing quotes
  if (!/^[A-Za-z0-9._~:/@%+,=[\]-]+$/.test(url)) fail(`${url}: characters that would need quoting`);
  return `${url.replace(/\/+$/, "")}/`;
}

function checkPem(pem: string): string {
  const t = pem.trim();
  if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n\r]+\n-----END CERTIFICATE-----$/.test(t.replace(/\r/g, ""))) {
    fail("the CA file is not one PEM certificate (-----BEGIN CERTIFICATE----- ...)");
  }
  return `${t}\n`;
}

function checkStore(s: StoreAssertionInfo): void {
  for (const [k, v] of [
    ["store id", s.id],
    ["operator id", s.operatorId],
    ["signing key", s.signKey],
  ] as const) {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(v)) fail(`bad ${k} ${JSON.stringify(v)}`);
  }
}

function dropIn(url: string): string {
  return `[Service]\nEnvironment=SNAPPY_FORCE_API_URL=${url}\n`;
}

/** Shell lines fetching the store assertion chain from the store (through snapd) and acknowledging it. */
function storeAckLines(s: StoreAssertionInfo, sudo: string): string[] {
  return [
    `${sudo}snap known --remote account-key public-key-sha3-384=${s.signKey} > /tmp/snapshelf-store-key.assert`,
    `${sudo}snap known --remote account account-id=${s.operatorId} > /tmp/snapshelf-operator.assert`,
    `${sudo}snap known --remote store store=${s.id} > /tmp/snapshelf-store.assert`,
    `${sudo}snap ack /tmp/snapshelf-store-key.assert`,
    `${sudo}snap ack /tmp/snapshelf-operator.assert`,
    `${sudo}snap ack /tmp/snapshelf-store.assert`,
    `${sudo}snap set core proxy.store=${s.id}`,
  ];
}

function text(o: ClientConfigOptions, url: string, pem: string | undefined): string {
  const ca = o.caName ?? "ca.pem";
  const L: string[] = [];
  L.push(`Device setup for the snap store at ${url}`, "");
  L.push("1. Point snapd at the store. A systemd drop-in changes the snapd daemon only:", "");
  L.push(
    "     sudo mkdir -p /etc/systemd/system/snapd.service.d",
    `     printf '[Service]\\nEnvironment=SNAPPY_FORCE_API_URL=${url}\\n' | sudo tee ${DROP_IN} >/dev/null`,
    "     sudo systemctl daemon-reload",
    "     sudo systemctl restart snapd.service",
    "",
  );
  L.push(
    "   Or add this line to /etc/environment (snapd.service reads it; login shells too, so",
    "   `snap download` also uses the store), then restart snapd:",
    "",
    `     SNAPPY_FORCE_API_URL=${url}`,
    "",
  );
  let n = 2;
  if (pem !== undefined || url.startsWith("https:")) {
    L.push(`${n}. Trust the store's certificate authority (only if a private CA signed its certificate):`, "");
    L.push(
      `     sudo snap set system store-certs.${CERT_NAME}="$(cat ${ca})"`,
      "",
      "   snapd adds it to the roots it trusts for store connections (/var/lib/snapd/ssl/store-certs/).",
      "   snapd speaks HTTP/1.1 over TLS 1.2 or newer.",
      "",
    );
    n++;
  }
  L.push(`${n}. Check that it worked:`, "");
  L.push(
    "     systemctl show snapd.service -p Environment   # SNAPPY_FORCE_API_URL=... is listed",
    "     snap find                                     # lists the snaps of this store",
    "     snap info NAME                                # channels as this store has them",
    "",
  );
  n++;
  L.push(`${n}. To undo it:`, "");
  L.push(
    `     sudo rm ${DROP_IN}      # or remove the line from /etc/environment`,
    "     sudo systemctl daemon-reload",
    "     sudo systemctl restart snapd.service",
  );
  if (pem !== undefined || url.startsWith("https:")) L.push(`     sudo snap unset system store-certs.${CERT_NAME}`);
  if (o.store !== undefined) L.push("     sudo snap unset core proxy.store");
  L.push("");
  n++;
  if (o.store !== undefined) {
    L.push(
      `${n}. Alternatively, route every daemon request (device registration included) to the store with`,
      `   its store assertion "${o.store.id}" (signed by Canonical for this URL). With step 1 done, snapd`,
      "   fetches the assertions from this store:",
      "",
      ...storeAckLines(o.store, "sudo ").map((l) => `     ${l}`),
      "",
      "   proxy.store overrides SNAPPY_FORCE_API_URL for the daemon; the drop-in can then go, but",
      "   `snap download` still reads SNAPPY_FORCE_API_URL. Undo with `sudo snap unset core proxy.store`.",
      "",
    );
  } else {
    L.push(
      "Operators holding a Canonical-signed `store` assertion for this URL can also route every daemon",
      "request there (`snap ack` it, then `snap set core proxy.store=ID`): import the assertion into",
      "the store, build, and rerun this command with --store-id ID for the exact steps.",
      "",
    );
  }
  L.push("Fleets: `snapshelf client-config --format cloud-init` (or --format script).");
  return `${L.join("\n")}\n`;
}

function script(o: ClientConfigOptions, url: string, pem: string | undefined): string {
  const L: string[] = [
    "#!/bin/sh",
    `# Points this device's snapd at the snap store at ${url} (generated by snapshelf client-config).`,
    "# Run as root. `sh THIS-SCRIPT undo` reverts it. Safe to run again.",
    "set -eu",
    `DROPIN=${DROP_IN}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    'if [ "${1:-}" = undo ]; then',
    '    rm -f "$DROPIN"',
    "    systemctl daemon-reload",
    "    systemctl restart snapd.service",
  ];
  if (pem !== undefined) L.push(`    snap unset system store-certs.${CERT_NAME} || true`, `    rm -f ${CA_PATH}`);
  if (o.store !== undefined) L.push("    snap unset core proxy.store || true");
  L.push('    echo "snapd uses its default store again"', "    exit 0", "fi");
  L.push(
    'mkdir -p "$(dirname "$DROPIN")"',
    `printf '[Service]\\nEnvironment=SNAPPY_FORCE_API_URL=%s\\n' '${url}' > "$DROPIN"`,
    "systemctl daemon-reload",
    "systemctl restart snapd.service",
    "snap wait system seed.loaded",
  );
  if (pem !== undefined) {
    L.push(
      `mkdir -p ${CA_PATH.replace(/\/[^/]+$/, "")}`,
      `cat > ${CA_PATH} <<'SNAPSHELF_CA'`,
      ...pem.trimEnd().split("\n"),
      "SNAPSHELF_CA",
      `snap set system store-certs.${CERT_NAME}="$(cat ${CA_PATH})"`,
    );
  }
  if (o.store !== undefined) L.push(...storeAckLines(o.store, ""));
  L.push(`echo "snapd now uses ${url}; check: snap find"`);
  return `${L.join("\n")}\n`;
}

function indent(s: string, n: number): string {
  return s
    .trimEnd()
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");
}

function cloudInit(o: ClientConfigOptions, url: string, pem: string | undefined): string {
  const L: string[] = [
    "#cloud-config",
    `# Points snapd at the snap store at ${url} (generated by snapshelf client-config).`,
    "# Undo on a device: rm the drop-in below, systemctl daemon-reload, systemctl restart snapd.service.",
    "write_files:",
    `  - path: ${DROP_IN}`,
    '    permissions: "0644"',
    "    content: |",
    indent(dropIn(url), 6),
  ];
  if (pem !== undefined) {
    L.push(`  - path: ${CA_PATH}`, '    permissions: "0644"', "    content: |", indent(pem, 6));
  }
  L.push("runcmd:", "  - [systemctl, daemon-reload]", "  - [systemctl, restart, snapd.service]");
  L.push("  - [snap, wait, system, seed.loaded]");
  if (pem !== undefined) {
    L.push(`  - [sh, -c, 'snap set system store-certs.${CERT_NAME}="$(cat ${CA_PATH})"']`);
  }
  if (o.store !== undefined) {
    L.push(`  - [sh, -c, '${storeAckLines(o.store, "").join(" && ")}']`);
  }
  return `${L.join("\n")}\n`;
}

/** The device steps in the chosen format. */
export function renderClientConfig(o: ClientConfigOptions): string {
  const url = apiUrl(o.url);
  const pem = o.caPem === undefined ? undefined : checkPem(o.caPem);
  if (o.store !== undefined) checkStore(o.store);
  switch (o.format) {
    case "text":
      return text(o, url, pem);
    case "script":
      return script(o, url, pem);
    case "cloud-init":
      return cloudInit(o, url, pem);
  }
}
