/** What every bench part gets from bench/run.ts. */
export interface BenchContext {
  /** Scratch directory of this run. */
  readonly work: string;
  /** testrootorg's account and root account-key (from the fixture generator): the trusted root. */
  readonly roots: readonly string[];
  /** The test store's account-key (signed by the root): it signs the synthetic snaps. */
  readonly storeKey: string;
  /** Seconds per load-generator run. */
  readonly seconds: number;
  /** Total size of the import set (BENCH_IMPORT_MB). */
  readonly importMiB: number;
  /** Size of the blob-serving file (BENCH_BLOB_MB). */
  readonly blobMiB: number;
  /** Payload per snap of the 20-snap refresh catalogue (BENCH_REFRESH_SNAP_MB). */
  readonly refreshSnapMiB: number;
  /** The revision counts of the scale part (BENCH_SCALE, default 1000,20000). */
  readonly scale: readonly number[];
  /** Server processes for the serving part, snapshelf and nginx alike (BENCH_WORKERS, default: CPUs). */
  readonly workers: number;
  readonly log: (line: string) => void;
}
