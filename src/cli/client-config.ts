import { readFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { type ClientConfigFormat, renderClientConfig, type StoreAssertionInfo } from "../deploy/client-config.js";
import { loopbackReason } from "../model/base-url.js";
import { SnapshelfError } from "../util/errors.js";
import { fsErrorReason } from "../util/fs.js";
import { addDirOption, layoutFrom, note } from "./common.js";

interface ClientConfigOpts {
  dir?: string;
  url?: string;
  ca?: string;
  storeId?: string;
  format: ClientConfigFormat;
}

function storeIdArg(v: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(v)) throw new InvalidArgumentError("a store id is letters, digits, . _ -");
  return v;
}

export function registerClientConfig(program: Command): void {
  addDirOption(
    program
      .command("client-config")
      .summary("print what a device needs to use the store")
      .description(
        "Print the steps that point a device's snapd at this store: SNAPPY_FORCE_API_URL in a systemd\n" +
          "drop-in (or /etc/environment), the private CA step for https, how to check it worked and how to\n" +
          "undo it. With --store-id, the route through a Canonical-signed `store` assertion this store\n" +
          "serves (snap ack + snap set core proxy.store=ID). --format script prints a root shell script\n" +
          "(`sh it undo` reverts); --format cloud-init a #cloud-config for fleets.\n" +
          "The URL defaults to the base URL the store was built for.",
      )
      .option("--url <url>", "the store URL devices use (default: the store's base URL)")
      .option("--ca <file>", "PEM certificate of the private CA that signed the store's certificate")
      .option("--store-id <id>", "a store assertion in this store to route devices through (proxy.store)", storeIdArg)
      .addOption(
        new Option("--format <format>", "output format").choices(["text", "script", "cloud-init"]).default("text"),
      )
      .addHelpText(
        "after",
        "\nExamples:\n" +
          "  snapshelf client-config --dir /srv/snaps\n" +
          "  snapshelf client-config --dir /srv/snaps --ca /etc/ssl/store-ca.pem --format cloud-init > user-data\n" +
          "  snapshelf client-config --url https://store.internal --ca ca.pem --format script > setup.sh\n",
      ),
  ).action(runClientConfig);
}

async function runClientConfig(opts: ClientConfigOpts): Promise<void> {
  let url = opts.url;
  let store: StoreAssertionInfo | undefined;
  if (url === undefined || opts.storeId !== undefined) {
    const layout = layoutFrom(opts);
    const { readServedTree } = await import("../nginx/from-store.js");
    const tree = await readServedTree(layout);
    url ??= tree.meta.baseUrl;
    if (opts.storeId !== undefined) {
      const a = tree.index.assertions.get(`store/${opts.storeId}`)?.[0];
      if (a === undefined) {
        throw new SnapshelfError(
          "client-config",
          `cannot print the proxy.store steps: the store serves no store assertion "${opts.storeId}" (import one signed by Canonical, then build)`,
        );
      }
      const operatorId = a.headers["operator-id"] ?? "";
      const signKey = a.headers["sign-key-sha3-384"] ?? "";
      const assertedUrl = a.headers["url"];
      if (assertedUrl === undefined || assertedUrl === "") {
        throw new SnapshelfError(
          "client-config",
          `cannot print the proxy.store steps: store assertion "${opts.storeId}" has no url (snapd refuses it for proxy.store)`,
        );
      }
      if (assertedUrl.replace(/\/+$/, "") !== url.replace(/\/+$/, "")) {
        note(
          `note: store assertion "${opts.storeId}" names ${assertedUrl}, not ${url}: proxy.store sends devices there`,
        );
      }
      store = { id: opts.storeId, operatorId, signKey, url: assertedUrl };
    }
    // a device resolves a loopback address to itself: the steps would point it at nothing
    if (opts.url === undefined && loopbackReason(url) !== undefined) {
      throw new SnapshelfError(
        "loopback-base-url",
        `cannot print client configuration: the store's base URL ${url} is a loopback address, which on a device names the device itself; rebuild for the URL devices reach this host at (snapshelf build --dir ${layout.root} --base-url http://HOST:PORT) or give --url`,
      );
    }
  }
  let caPem: string | undefined;
  if (opts.ca !== undefined) {
    try {
      caPem = await readFile(opts.ca, "utf8");
    } catch (err) {
      throw new SnapshelfError("client-config", `cannot read ${opts.ca}: ${fsErrorReason(err)}`);
    }
  }
  process.stdout.write(
    renderClientConfig({
      url,
      format: opts.format,
      ...(caPem !== undefined ? { caPem } : {}),
      ...(opts.ca !== undefined ? { caName: opts.ca } : {}),
      ...(store !== undefined ? { store } : {}),
    }),
  );
}
