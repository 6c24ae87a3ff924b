/** A digest of a whole directory (paths, types, modes, bytes): "byte-identical before and after". */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

export async function listTree(
  root: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (skip(r)) continue;
      const p = join(dir, name);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out.set(r + "/", `dir ${st.mode.toString(8)}`);
        await walk(p, r);
      } else if (st.isSymbolicLink()) out.set(r, `link ${await readlink(p)}`);
      else
        out.set(
          r,
          `file ${st.mode.toString(8)} ${createHash("sha256")
            .update(await readFile(p))
            .digest("hex")}`,
        );
    }
  }
  await walk(root, "");
  return out;
}

export async function treeDigest(root: string, skip?: (rel: string) => boolean): Promise<string> {
  const h = createHash("sha256");
  for (const [k, v] of await listTree(root, skip)) h.update(`${k}\0${v}\n`);
  return h.digest("hex");
}
