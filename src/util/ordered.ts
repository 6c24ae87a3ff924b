/**
 * Bounded concurrency with sequential semantics: `fn` runs on at most `limit`
 * items at once, results come back in input order, `onResult` sees them in
 * input order too (as soon as every earlier item is done), and a failure
 * stops new items from starting; once the started ones settle, the error of
 * the earliest failing item is thrown: the same error a sequential loop
 * would have thrown.
 */
export async function mapOrdered<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onResult?: (value: R, index: number) => void,
): Promise<R[]> {
  const results: R[] = [];
  const done: boolean[] = [];
  const errors = new Map<number, unknown>();
  let next = 0;
  let reported = 0;
  const report = (): void => {
    while (reported < items.length && done[reported] === true) {
      onResult?.(results[reported] as R, reported);
      reported++;
    }
  };
  const lane = async (): Promise<void> => {
    while (next < items.length && errors.size === 0) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
        done[i] = true;
        if (errors.size === 0) report();
      } catch (err) {
        errors.set(i, err);
      }
    }
  };
  const lanes = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return results;
}
