/**
 * `snapshelf client-config` output: the snapd drop-in, the CA step, checks,
 * undo, the proxy.store route; the script is valid sh and undoes itself; the
 * cloud-init snippet is valid YAML with the drop-in and CA as files.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { parse } from "yaml";
import { CA_PATH, DROP_IN, renderClientConfig } from "../../src/deploy/client-config.js";
import { SnapshelfError } from "../../src/util/errors.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe3Q=\nAAAA\n-----END CERTIFICATE-----\n";
const STORE = { id: "offline-1", operatorId: "op0123456789", signKey: "K3y-_abc", url: "https://store.internal" };

test("text: drop-in or /etc/environment, CA, checks, undo", () => {
  const t = renderClientConfig({ url: "https://store.internal", caPem: PEM, caName: "store-ca.pem", format: "text" });
  assert.match(
    t,
    /Environment=SNAPPY_FORCE_API_URL=https:\/\/store.internal\/\\n' \| sudo tee \/etc\/systemd\/system\/snapd.service.d\/snapshelf.conf/,
  );
  assert.match(t, /^ {5}SNAPPY_FORCE_API_URL=https:\/\/store.internal\/$/m, "the /etc/environment line");
  assert.match(t, /sudo snap set system store-certs.snapshelf="\$\(cat store-ca.pem\)"/);
  assert.match(t, /systemctl show snapd.service -p Environment/);
  assert.match(t, /snap find/);
  assert.match(t, new RegExp(`sudo rm ${DROP_IN}`));
  assert.match(t, /sudo snap unset system store-certs.snapshelf/);
  assert.match(t, /--store-id ID/, "points at the proxy.store route");
  const plain = renderClientConfig({ url: "http://10.0.0.5:8000", format: "text" });
  assert.doesNotMatch(plain, /store-certs/, "no CA step for plain http");
});

test("text with a store assertion: snap known --remote, snap ack, proxy.store, and its undo", () => {
  const t = renderClientConfig({ url: "https://store.internal", store: STORE, format: "text" });
  assert.match(t, /sudo snap known --remote account-key public-key-sha3-384=K3y-_abc > /);
  assert.match(t, /sudo snap known --remote account account-id=op0123456789 > /);
  assert.match(t, /sudo snap known --remote store store=offline-1 > \/tmp\/snapshelf-store.assert/);
  assert.match(t, /sudo snap ack \/tmp\/snapshelf-store.assert\n\s+sudo snap set core proxy.store=offline-1/);
  assert.match(t, /sudo snap unset core proxy.store/);
});

test("script: valid sh that installs the drop-in and CA, and an undo branch", () => {
  const s = renderClientConfig({ url: "https://store.internal:8443", caPem: PEM, store: STORE, format: "script" });
  const syntax = spawnSync("sh", ["-n"], { input: s });
  assert.equal(syntax.status, 0, String(syntax.stderr));
  assert.ok(s.startsWith("#!/bin/sh\n"));
  assert.match(
    s,
    /printf '\[Service\]\\nEnvironment=SNAPPY_FORCE_API_URL=%s\\n' 'https:\/\/store.internal:8443\/' > "\$DROPIN"/,
  );
  assert.ok(s.includes(`cat > ${CA_PATH} <<'SNAPSHELF_CA'\n-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe3Q=`));
  assert.match(s, /snap set system store-certs.snapshelf="\$\(cat \/usr\/local\/share\/snapshelf\/store-ca.pem\)"/);
  assert.match(s, /if \[ "\$\{1:-\}" = undo \]; then\n\s+rm -f "\$DROPIN"/);
  assert.match(s, /snap unset core proxy.store \|\| true/);
  assert.match(s, /snap set core proxy.store=offline-1/);
});

test("cloud-init: YAML with the drop-in and the CA as files, then restart and trust", () => {
  const c = renderClientConfig({ url: "https://store.internal", caPem: PEM, format: "cloud-init" });
  assert.ok(c.startsWith("#cloud-config\n"));
  const doc = parse(c) as { write_files: { path: string; content: string }[]; runcmd: unknown[] };
  assert.deepEqual(
    doc.write_files.map((f) => f.path),
    [DROP_IN, CA_PATH],
  );
  assert.equal(doc.write_files[0]?.content, "[Service]\nEnvironment=SNAPPY_FORCE_API_URL=https://store.internal/\n");
  assert.equal(doc.write_files[1]?.content, PEM);
  assert.deepEqual(doc.runcmd.slice(0, 3), [
    ["systemctl", "daemon-reload"],
    ["systemctl", "restart", "snapd.service"],
    ["snap", "wait", "system", "seed.loaded"],
  ]);
  assert.match(JSON.stringify(doc.runcmd[3]), /store-certs.snapshelf/);
  const withStore = parse(
    renderClientConfig({ url: "https://store.internal", store: STORE, format: "cloud-init" }),
  ) as {
    runcmd: string[][];
  };
  assert.match(
    withStore.runcmd.at(-1)?.[2] ?? "",
    /snap ack \/tmp\/snapshelf-store.assert && snap set core proxy.store=offline-1$/,
  );
});

test("refuses URLs snapd or a shell would choke on, and non-PEM CAs", () => {
  for (const url of ["ftp://x", "http://x/?a=1", "http://x/#f", "not a url", "http://x/$(reboot)", "http://x/'"]) {
    assert.throws(() => renderClientConfig({ url, format: "script" }), SnapshelfError, url);
  }
  assert.throws(
    () => renderClientConfig({ url: "https://x", caPem: "hello", format: "text" }),
    /cannot print device steps: the CA file is not one PEM certificate/,
  );
  assert.throws(
    () => renderClientConfig({ url: "https://x", store: { ...STORE, id: "a;b" }, format: "text" }),
    SnapshelfError,
  );
});
