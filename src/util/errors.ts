/**
 * The one error class of snapshelf. `code` is stable (store vocabulary where it
 * exists: `name-not-found`, `revision-not-found`, `not-found`; ours otherwise),
 * `message` follows snapd style: lowercase, `cannot <do thing>: <reason>`.
 * The CLI maps errors to exit codes in one place; the shim renders them as
 * snapd's `error-list` JSON.
 */
export class SnapshelfError extends Error {
  readonly code: string;
  /** `cause`: the error this one reports (ES2022), kept for debugging; the message stands alone. */
  constructor(code: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "SnapshelfError";
    this.code = code;
  }
  /** HTTP status when rendered by the shim (CODE_TABLE). */
  get status(): number {
    return httpStatusFor(this.code);
  }
}

/** Wraps any thrown value into a message, without `cannot: cannot` chains. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * `cannot <action>: <reason>` for `err`, met while doing `action`, without a `cannot ...: cannot ...`
 * chain: an error that already says what it could not do (`cannot read generation 7: <path>: <why>`)
 * gives its own words after the action, less their `cannot` (`read generation 7: <path>: <why>`).
 */
export function failedTo(action: string, err: unknown): string {
  return `cannot ${action}: ${errorMessage(err).replace(/^cannot /, "")}`;
}

/**
 * Exit statuses of the CLI: 0 done, 1 refused (bad input, a failed check, or the
 * system refused: disk full, permission denied), 2 usage (bad options or
 * arguments), 3 unexpected (a bug: please report it).
 */
export const EXIT_STATUS = { ok: 0, refused: 1, usage: 2, unexpected: 3 } as const;

/**
 * The one error table: what an error code means outside the process, where it is not the
 * default (exit status `refused`, HTTP status 400).
 */
const CODE_TABLE: Readonly<Record<string, { readonly exit?: number; readonly http?: number }>> = {
  usage: { exit: EXIT_STATUS.usage },
  "too-large": { http: 413 },
  "store-busy": { http: 503 },
  "nothing-built": { http: 503 },
};

/** The HTTP status the shim answers a SnapshelfError of `code` with. */
export function httpStatusFor(code: string): number {
  return CODE_TABLE[code]?.http ?? 400;
}

/** The reasons the system gives, worded like strerror (what snapd prints), by errno code. */
const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EIO: "input/output error",
  EMFILE: "too many open files",
  ENFILE: "too many open files in system",
  ENOMEM: "cannot allocate memory",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EEXIST: "file exists",
  ENOTEMPTY: "directory not empty",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many levels of symbolic links",
  EBUSY: "device or resource busy",
  EXDEV: "invalid cross-device link",
  EFBIG: "file too large",
  ETXTBSY: "text file busy",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ETIMEDOUT: "connection timed out",
  EPIPE: "broken pipe",
};

/** An error the system raised (it has an errno-style `code` such as ENOSPC). */
export function systemErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** The reason of a system error in words (`no space left on device`), or undefined for other errors. */
export function systemReason(err: unknown): string | undefined {
  const code = systemErrorCode(err);
  if (code === undefined) return undefined;
  return SYSTEM_REASONS[code] ?? code.toLowerCase();
}

export function exitStatusFor(err: unknown): number {
  if (err instanceof SnapshelfError) return CODE_TABLE[err.code]?.exit ?? EXIT_STATUS.refused;
  if (systemErrorCode(err) !== undefined) return EXIT_STATUS.refused;
  return EXIT_STATUS.unexpected;
}

/**
 * The one line an operator reads for `err` raised while doing `action` (a verb phrase: `import`,
 * `build`) on the store at `store`: a SnapshelfError's own message; a system error as
 * `cannot <action>: <reason>: <path> (store <dir>)`, never a raw code; anything else as it is.
 */
export function operatorMessage(err: unknown, action: string, store?: string): string {
  if (err instanceof SnapshelfError) return err.message;
  const reason = systemReason(err);
  if (reason !== undefined) {
    const path = (err as { path?: unknown }).path;
    const where = typeof path === "string" && path !== store ? `: ${path}` : "";
    return `cannot ${action}: ${reason}${where}${store === undefined ? "" : ` (store ${store})`}`;
  }
  return errorMessage(err);
}
