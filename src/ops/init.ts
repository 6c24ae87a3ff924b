/**
 * init: creates a store on purpose and fixes the base URL devices reach it at
 * (as `store-admin register --offline URL` fixes an Enterprise Store's).
 */
import { normaliseBaseUrl } from "../model/base-url.js";
import type { StoreLayout } from "../store/layout.js";
import { appendAudit, type StoreSettings } from "../store/state.js";
import { createStoreDir } from "../store/store-dir.js";

export interface InitResult {
  readonly dir: string;
  readonly baseUrl: string;
}

export async function initStore(
  layout: StoreLayout,
  opts: { baseUrl: string; name?: string; now?: Date },
): Promise<InitResult> {
  const baseUrl = normaliseBaseUrl(opts.baseUrl);
  const name = opts.name?.trim();
  const settings: StoreSettings = { format: 1, baseUrl, ...(name ? { name } : {}) };
  await createStoreDir(layout, settings);
  await appendAudit(layout, { op: "init", detail: { baseUrl } }, opts.now);
  return { dir: layout.root, baseUrl };
}
