/**
 * A small pool of worker threads for long jobs (blob copies, bundle reads):
 * at most `size()` workers, each started on first use and referenced only
 * while it runs a job, so the pool never keeps the process alive. One job per
 * worker at a time. Jobs and replies carry an `id`; a reply with `progress`
 * is passed on, any other reply ends the job.
 */
import type { Worker } from "node:worker_threads";

interface Slot {
  worker: Worker | undefined;
  busy: boolean;
}

/** A worker held for one job; `worker` is undefined when no thread could be started. */
export interface Lease {
  readonly worker: Worker | undefined;
  release(): void;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;

  constructor(
    private readonly create: () => Worker,
    private readonly size: () => number,
  ) {}

  private workerOf(slot: Slot): Worker | undefined {
    if (slot.worker) return slot.worker;
    let w: Worker;
    try {
      w = this.create();
    } catch {
      return undefined; // no thread to be had (resource limits)
    }
    const forget = (): void => {
      if (slot.worker === w) slot.worker = undefined;
    };
    w.on("error", forget);
    w.on("exit", forget);
    w.unref();
    slot.worker = w;
    return w;
  }

  private lease(slot: Slot): Lease {
    slot.busy = true;
    const worker = this.workerOf(slot);
    worker?.ref();
    return {
      worker,
      release: () => {
        worker?.unref();
        slot.busy = false;
        this.waiting.shift()?.();
      },
    };
  }

  private idle(): Slot | undefined {
    while (this.slots.length < this.size()) this.slots.push({ worker: undefined, busy: false });
    return this.slots.find((s) => !s.busy);
  }

  /** An idle worker now, or undefined when every one is busy. */
  tryLease(): Lease | undefined {
    const slot = this.idle();
    return slot ? this.lease(slot) : undefined;
  }

  /** The next idle worker, waiting for one if need be. */
  async waitLease(): Promise<Lease> {
    for (;;) {
      const slot = this.idle();
      if (slot) return this.lease(slot);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /**
   * Posts `job` (with a fresh `id`) to `worker` and resolves with its final reply; replies with
   * `progress` go to `onProgress` meanwhile. Rejects if the worker fails or exits first.
   */
  run<R>(worker: Worker, job: object, onProgress: (n: number) => void, what: string): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const done = (): void => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      const onMessage = (m: { id: number; progress?: number }): void => {
        if (m.id !== id) return;
        if (m.progress !== undefined) {
          try {
            onProgress(m.progress);
          } catch {
            // progress reporting never fails a job
          }
          return;
        }
        done();
        resolve(m as R);
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const onExit = (): void => onError(new Error(`${what} thread exited`));
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage({ ...job, id });
    });
  }
}
