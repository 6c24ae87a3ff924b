/**
 * The systemd units `snapshelf install-service` writes, rendered from
 * templates/: the shim restarts on failure and reloads on SIGHUP, nginx's
 * configuration is regenerated at start and reload, a build triggers both
 * reloads; quoting of odd paths.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { execArg, pathListEntry, renderUnits, UNIT_TEMPLATES, type UnitTemplate } from "../../src/deploy/units.js";
import { SnapshelfError } from "../../src/util/errors.js";
import { repoRoot } from "../support/work-dir.js";

async function templates(): Promise<Record<UnitTemplate, string>> {
  const out = {} as Record<UnitTemplate, string>;
  for (const t of UNIT_TEMPLATES) out[t] = await readFile(join(repoRoot(), "templates", t), "utf8");
  return out;
}

const BASE = {
  name: "snapshelf",
  dir: "/srv/snaps",
  bin: ["/usr/bin/node", "/opt/snapshelf/bin/snapshelf"],
  host: "0.0.0.0",
  port: 8000,
};

test("the serve unit: restart on failure, reload by SIGHUP, read-only", async () => {
  const units = renderUnits(await templates(), { ...BASE, user: "snapshelf" });
  assert.deepEqual([...units.keys()], ["snapshelf-serve.service", "snapshelf-reload.path", "snapshelf-reload.service"]);
  const s = units.get("snapshelf-serve.service") ?? "";
  assert.match(
    s,
    /^ExecStart=\/usr\/bin\/node \/opt\/snapshelf\/bin\/snapshelf serve --dir \/srv\/snaps --host 0.0.0.0 --port 8000$/m,
  );
  assert.match(s, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(s, /^Restart=on-failure$/m);
  assert.match(s, /^User=snapshelf$/m);
  assert.match(s, /^ProtectSystem=strict$/m);
  // the download counts (snapshelf status) are the one thing it writes: made and given to the user
  // before the sandbox, then writable in it
  assert.match(s, /^ExecStartPre=\+\/usr\/bin\/install -d -o snapshelf \/srv\/snaps\/state\/downloads$/m);
  assert.match(s, /^ReadWritePaths="-\/srv\/snaps\/state\/downloads"$/m);
  assert.equal(s.match(/^ReadWritePaths=/gm)?.length, 1, "nothing else is writable");
  assert.match(s, /^WantedBy=multi-user.target$/m);
  assert.doesNotMatch(s, /\{\{/, "every placeholder filled");
  const path = units.get("snapshelf-reload.path") ?? "";
  assert.match(path, /^PathChanged=\/srv\/snaps\/current$/m);
  assert.match(path, /^Unit=snapshelf-reload.service$/m);
  const reload = units.get("snapshelf-reload.service") ?? "";
  const order = [...reload.matchAll(/^ExecStart=-\/bin\/systemctl try-reload-or-restart (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(order, ["snapshelf-nginx.service", "snapshelf-serve.service"], "nginx first, then the shim");
});

test("--workers reaches the serve command line; nonsense is refused", async () => {
  const t = await templates();
  const s = renderUnits(t, { ...BASE, workers: "auto" }).get("snapshelf-serve.service") ?? "";
  assert.match(s, /^ExecStart=.* serve --dir \/srv\/snaps --host 0.0.0.0 --port 8000 --workers auto$/m);
  assert.match(renderUnits(t, { ...BASE, workers: "4" }).get("snapshelf-serve.service") ?? "", / --workers 4$/m);
  for (const bad of ["0", "-1", "4; rm -rf /", "two"]) {
    assert.throws(() => renderUnits(t, { ...BASE, workers: bad }), SnapshelfError, bad);
  }
});

test("the nginx unit regenerates its configuration at start and reload, checks it, then signals nginx", async () => {
  const units = renderUnits(await templates(), {
    ...BASE,
    name: "store2",
    user: "www-data",
    host: "127.0.0.1",
    port: 8001,
    nginx: {
      bin: "/usr/sbin/nginx",
      args: ["--listen", "443", "--tls-cert", "/etc/ssl/s.pem", "--tls-key", "/etc/ssl/s.key"],
    },
  });
  const n = units.get("store2-nginx.service") ?? "";
  const gen =
    "/usr/bin/node /opt/snapshelf/bin/snapshelf nginx-config --dir /srv/snaps --standalone --upstream http://127.0.0.1:8001 " +
    "--output /run/store2-nginx/nginx.conf --user www-data --listen 443 --tls-cert /etc/ssl/s.pem --tls-key /etc/ssl/s.key";
  assert.ok(n.includes(`ExecStartPre=${gen}\n`), n);
  assert.ok(n.includes(`ExecReload=${gen}\n`));
  assert.match(
    n,
    /^ExecStart=\/usr\/sbin\/nginx -p \/var\/lib\/store2-nginx\/ -c \/run\/store2-nginx\/nginx.conf -e stderr -g "daemon off;"$/m,
  );
  assert.match(n, /^ExecReload=\/usr\/sbin\/nginx -t -q .*\nExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(n, /^After=network-online.target store2-serve.service$/m);
  assert.match(units.get("store2-serve.service") ?? "", /--host 127.0.0.1 --port 8001$/m);
});

test("odd paths are quoted and escaped for systemd; bad names refused", async () => {
  assert.equal(execArg("/srv/my snaps"), '"/srv/my snaps"');
  assert.equal(execArg("/srv/100%"), "/srv/100%%");
  assert.equal(execArg("/srv/$x"), "/srv/$$x");
  assert.equal(execArg('/a"b'), '"/a\\"b"');
  const units = renderUnits(await templates(), { ...BASE, dir: "/srv/my snaps" });
  assert.match(units.get("snapshelf-serve.service") ?? "", /serve --dir "\/srv\/my snaps" --host/);
  assert.match(units.get("snapshelf-reload.path") ?? "", /^PathChanged=\/srv\/my snaps\/current$/m);
  // a path list setting: one quoted word (spaces stay in it), C escapes, specifiers escaped
  assert.equal(pathListEntry('/srv/my "100%"\\x', true), '"-/srv/my \\"100%%\\"\\\\x"');
  const odd = renderUnits(await templates(), { ...BASE, dir: "/srv/my 100%" }).get("snapshelf-serve.service") ?? "";
  assert.match(odd, /^ReadWritePaths="-\/srv\/my 100%%\/state\/downloads"$/m);
  assert.match(odd, /^ExecStartPre=\+\/usr\/bin\/install -d "\/srv\/my 100%%\/state\/downloads"$/m);
  const t = await templates();
  for (const bad of [
    { name: "Bad Name" },
    { dir: "relative/dir" },
    { user: "root; rm" },
    { bin: ["snapshelf"] },
    { dir: "/srv/a\nb" },
  ]) {
    assert.throws(() => renderUnits(t, { ...BASE, ...bad }), SnapshelfError, JSON.stringify(bad));
  }
});
