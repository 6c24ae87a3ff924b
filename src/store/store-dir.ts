/**
 * Whether a directory is a store, and the one place a store directory is
 * created on purpose (`snapshelf init`). Every other verb refuses a directory
 * that is not a store, so a mistyped --dir never becomes a new, empty store.
 */
import { existsSync } from "node:fs";
import { link, mkdir, readdir, unlink, writeFile } from "node:fs/promises";
import { SnapshelfError } from "../util/errors.js";
import { errnoCode, tempPathFor } from "../util/fs.js";
import type { StoreLayout } from "./layout.js";
import type { StoreSettings } from "./state.js";

/**
 * A store has its settings file; stores made before `init` existed may have
 * only their records (an import that was never built).
 */
export function isStore(layout: StoreLayout): boolean {
  return existsSync(layout.settings) || existsSync(layout.records);
}

/** Throws unless `layout.root` is a store, naming the directory and how to make one. */
export function requireStore(layout: StoreLayout): void {
  if (isStore(layout)) return;
  throw new SnapshelfError(
    "not-a-store",
    `cannot use ${layout.root}: not a snapshelf store (create one with: snapshelf init --dir ${layout.root} --base-url URL)`,
  );
}

/**
 * Creates the store directory with its settings. The settings file is linked
 * into place (never renamed over), so of two concurrent inits exactly one wins
 * and an existing store is never overwritten.
 */
export async function createStoreDir(layout: StoreLayout, settings: StoreSettings): Promise<void> {
  const what = `create a store in ${layout.root}`;
  if (isStore(layout)) throw new SnapshelfError("store-exists", `cannot ${what}: it is a store already`);
  let entries: string[] = [];
  try {
    entries = await readdir(layout.root);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOTDIR") throw new SnapshelfError("not-a-directory", `cannot ${what}: not a directory`);
    if (code !== "ENOENT") throw err;
  }
  // hidden files (a marker such as the demo's, lost+found on a fresh disk) do not make a directory "used"
  const used = entries.filter((e) => !e.startsWith(".") && e !== "lost+found");
  if (used.length > 0) {
    throw new SnapshelfError(
      "store-dir-not-empty",
      `cannot ${what}: the directory is not empty (holds ${used.slice(0, 3).join(", ")}${used.length > 3 ? ", ..." : ""})`,
    );
  }
  // state/ and serve's one writable directory: a systemd unit with ProtectSystem=strict cannot make it
  await mkdir(layout.downloads, { recursive: true });
  const tmp = tempPathFor(layout.settings);
  await writeFile(tmp, JSON.stringify(settings, null, 2) + "\n");
  try {
    await link(tmp, layout.settings);
  } catch (err) {
    if (errnoCode(err) === "EEXIST") {
      throw new SnapshelfError("store-exists", `cannot ${what}: it is a store already`);
    }
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
