/**
 * The one error class of snapshelf. `code` is stable (store vocabulary where it
 * exists: `name-not-found`, `revision-not-found`, `not-found`; ours otherwise),
 * `message` follows snapd style: lowercase, `cannot <do thing>: <reason>`.
 * The CLI maps errors to exit codes in one place; the shim renders them as
 * snapd's `error-list` JSON.
 */
export class SnapshelfError extends Error {
  readonly code: string;
  /** HTTP status when rendered by the shim. */
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = "SnapshelfError";
    this.code = code;
    this.status = status;
  }
}

/** Wraps any thrown value into a message, without `cannot: cannot` chains. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
