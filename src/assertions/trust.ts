/**
 * Chain verification without snapd (assertions.md §9), the equivalent of
 * snapd's `Database.Check` with its default checkers: find the signing key,
 * check its validity, the signature, the timestamp against the key's validity,
 * the cross-consistency rules, and recurse into the key and the
 * prerequisites. Trusted roots are axioms.
 */
import { SnapshelfError } from "../util/errors.js";
import { CANONICAL_ACCOUNT, CANONICAL_ROOT_ACCOUNT_KEY } from "./canonical.js";
import { dateHeader, Invalid, revisionAuthorities } from "./checks.js";
import { type PublicKeyInfo, publicKeyInfoFromAccountKey } from "./keys.js";
import { headerString, parseAssertion } from "./parse.js";
import { describeAssertion } from "./ref.js";
import { dateToNanos, formatNanos } from "./time.js";
import type { Assertion } from "./types.js";
import { assertionType, DEFAULT_PROVENANCE, refKey } from "./types.js";
import { verifySignature } from "./verify.js";

/** What is trusted without verification. */
export interface TrustConfig {
  /** Trusted `account` and `account-key` assertions (axioms). Their `account-id`s are the trusted authorities. */
  readonly roots: readonly Assertion[];
}

/** The series every lookup of snap-declarations uses (snapd's `release.Series`). */
const SERIES = "16";

/** Canonical's built-in trusted account and root account-key (§8.1), freshly parsed. */
export function canonicalRoots(): Assertion[] {
  return [
    parseAssertion(CANONICAL_ACCOUNT, "built-in canonical account"),
    parseAssertion(CANONICAL_ROOT_ACCOUNT_KEY, "built-in canonical root account-key"),
  ];
}

const q = (s: string): string => JSON.stringify(s);

/** A verification failure of `subject`; converted to a `SnapshelfError` naming it. */
class ChainFailure extends Error {
  constructor(
    readonly subject: Assertion,
    readonly code: "assertion-chain" | "assertion-signature",
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Assertions by type and primary key; the highest revision wins. */
class Index {
  private readonly byKey = new Map<string, Assertion>();

  /** Adds `a`; returns the assertion it conflicts with (same revision, other bytes), if any. */
  add(a: Assertion): Assertion | undefined {
    const k = refKey(a.type, a.primaryKey);
    const cur = this.byKey.get(k);
    if (cur === undefined || a.revision > cur.revision) {
      this.byKey.set(k, a);
      return undefined;
    }
    if (a.revision === cur.revision && !a.raw.equals(cur.raw)) return cur;
    return undefined;
  }

  get(type: string, pk: readonly string[]): Assertion | undefined {
    return this.byKey.get(refKey(type, pk));
  }

  *ofType(type: string): IterableIterator<Assertion> {
    for (const a of this.byKey.values()) if (a.type === type) yield a;
  }
}

/** The validity window of an account-key, in nanoseconds. */
interface Validity {
  readonly since: bigint;
  readonly until: bigint | undefined;
}

function within(v: Validity, t: bigint): boolean {
  return v.since <= t && (v.until === undefined || t < v.until);
}

function validityText(key: Assertion): string {
  const since = headerString(key, "since") ?? "";
  const until = headerString(key, "until");
  return until === undefined ? `since ${q(since)}` : `since ${q(since)} until ${q(until)}`;
}

/** One verification run: trusted set, pool, memo. */
class Verifier {
  private readonly trusted = new Index();
  private readonly trustedSet: ReadonlySet<Assertion>;
  private readonly trustedRaw = new Set<string>();
  private readonly trustedAccounts = new Set<string>();
  private readonly pool = new Index();
  private readonly verified = new Set<Assertion>();
  private readonly failed = new Map<Assertion, ChainFailure>();
  private readonly inProgress = new Set<Assertion>();
  private readonly keys = new Map<Assertion, PublicKeyInfo>();
  private readonly now: bigint;

  constructor(trust: TrustConfig, now: Date) {
    this.now = dateToNanos(now);
    this.trustedSet = new Set(trust.roots);
    for (const r of trust.roots) {
      this.trusted.add(r);
      this.trustedRaw.add(r.raw.toString("latin1"));
      if (r.type === "account") this.trustedAccounts.add(r.primaryKey[0]!);
    }
  }

  /** Adds already verified assertions to the pool. */
  addKnown(known: readonly Assertion[]): void {
    for (const a of known) {
      this.verified.add(a);
      this.pool.add(a);
    }
  }

  /** Adds candidates to the pool; a conflicting same-revision pair is an error. */
  addCandidates(candidates: readonly Assertion[]): void {
    for (const a of candidates) {
      if (this.isTrusted(a)) continue;
      const other = this.pool.add(a);
      if (other !== undefined) {
        throw new ChainFailure(
          a,
          "assertion-chain",
          `conflicts with a different assertion of the same revision ${a.revision}`,
        );
      }
    }
  }

  isTrusted(a: Assertion): boolean {
    return this.trustedSet.has(a) || this.trustedRaw.has(a.raw.toString("latin1"));
  }

  /** Lookup: trusted set first, then the pool; assertions being verified up the stack count as absent. */
  private find(type: string, pk: readonly string[]): Assertion | undefined {
    const t = this.trusted.get(type, pk);
    if (t !== undefined) return t;
    const p = this.pool.get(type, pk);
    return p === undefined || this.inProgress.has(p) ? undefined : p;
  }

  private keyInfo(key: Assertion): PublicKeyInfo {
    let info = this.keys.get(key);
    if (info === undefined) {
      try {
        info = publicKeyInfoFromAccountKey(key);
      } catch (err) {
        if (err instanceof SnapshelfError) throw new ChainFailure(key, "assertion-chain", err.message);
        throw err;
      }
      this.keys.set(key, info);
    }
    return info;
  }

  private validity(key: Assertion): Validity {
    try {
      const until = headerString(key, "until");
      return {
        since: dateHeader(key.headers, "since"),
        until: until === undefined ? undefined : dateHeader(key.headers, "until"),
      };
    } catch (err) {
      if (err instanceof Invalid) throw new ChainFailure(key, "assertion-chain", err.message);
      throw err;
    }
  }

  /** Verifies `a` (memoized); throws the `ChainFailure` of the first assertion of its chain that fails. */
  check(a: Assertion): void {
    if (this.verified.has(a) || this.isTrusted(a)) return;
    const prev = this.failed.get(a);
    if (prev !== undefined) throw prev;
    this.inProgress.add(a);
    try {
      this.checkOne(a);
      this.verified.add(a);
    } catch (err) {
      if (err instanceof ChainFailure) this.failed.set(a, err);
      throw err;
    } finally {
      this.inProgress.delete(a);
    }
  }

  private checkOne(a: Assertion): void {
    const fail = (reason: string, code: ChainFailure["code"] = "assertion-chain"): ChainFailure =>
      new ChainFailure(a, code, reason);
    const info = assertionType(a.type);
    if (info === undefined || info.noAuthority) throw fail(`cannot check no-authority assertion type ${q(a.type)}`);

    // §9 step 3: the signing key, its account, and (step 8) the key's own chain
    const key = this.find("account-key", [a.signKeyId]);
    if (key === undefined) throw fail(`no matching public key ${q(a.signKeyId)} for signature by ${q(a.authorityId)}`);
    this.check(key);
    const keyInfo = this.keyInfo(key);
    const keyAccount = headerString(key, "account-id");
    if (keyAccount !== a.authorityId) {
      throw fail(`assertion authority ${q(a.authorityId)} does not match public key from ${q(keyAccount ?? "")}`);
    }
    // step 4: key currently valid
    const validity = this.validity(key);
    if (!within(validity, this.now)) {
      throw fail(
        `assertion is signed with expired public key ${q(a.signKeyId)} from ${q(a.authorityId)}: current time is ${formatNanos(this.now)} but key is valid ${validityText(key)}`,
      );
    }
    // step 5: signature
    try {
      verifySignature(a, keyInfo.key);
    } catch (err) {
      if (err instanceof SnapshelfError) throw fail(err.message, "assertion-signature");
      throw err;
    }
    // step 6: timestamp within the key's validity
    if (info.timestamped) {
      const ts = headerString(a, "timestamp") ?? "";
      if (!within(validity, dateHeader(a.headers, "timestamp"))) {
        throw fail(
          `${a.type} assertion timestamp ${q(ts)} outside of signing key validity (key valid ${validityText(key)})`,
        );
      }
    }
    // step 7: cross-consistency
    const reason = this.inconsistency(a);
    if (reason !== undefined) throw fail(reason);
    // step 8: prerequisites
    for (const [type, pk] of prerequisites(a)) {
      const p = this.find(type, pk);
      if (p === undefined) throw fail(`missing prerequisite ${type} (${pk.join("/")})`);
      this.check(p);
    }
  }

  private isTrustedAccount(id: string): boolean {
    return this.trustedAccounts.has(id);
  }

  private hasAccount(id: string | undefined): boolean {
    return id !== undefined && this.find("account", [id]) !== undefined;
  }

  /** §9 step 7; the reason `a` is inconsistent with the others, if it is. */
  private inconsistency(a: Assertion): string | undefined {
    const h = (name: string): string => headerString(a, name) ?? "";
    const notTrusted = (what: string): string =>
      `${what} is not signed by a directly trusted authority: ${a.authorityId}`;
    switch (a.type) {
      case "account":
        if (!this.isTrustedAccount(a.authorityId)) return notTrusted(`account assertion for ${q(h("account-id"))}`);
        return undefined;
      case "account-key": {
        const what = `account-key assertion for ${q(h("account-id"))}`;
        if (!this.isTrustedAccount(a.authorityId)) return notTrusted(what);
        if (!this.hasAccount(h("account-id"))) return `${what} does not have a matching account assertion`;
        this.keyInfo(a); // the key id matches the body
        const name = headerString(a, "name");
        if (name !== undefined) {
          for (const index of [this.trusted, this.pool]) {
            for (const other of index.ofType("account-key")) {
              if (
                other.primaryKey[0] !== a.primaryKey[0] &&
                headerString(other, "account-id") === h("account-id") &&
                headerString(other, "name") === name
              ) {
                return `${what} with ID ${q(a.primaryKey[0]!)} has the same name ${q(name)} as existing ID ${q(other.primaryKey[0]!)}`;
              }
            }
          }
        }
        return undefined;
      }
      case "snap-declaration": {
        const what = `snap-declaration assertion for ${q(h("snap-name"))} (id ${q(h("snap-id"))})`;
        if (!this.isTrustedAccount(a.authorityId)) return notTrusted(what);
        if (!this.hasAccount(h("publisher-id"))) {
          return `${what} does not have a matching account assertion for the publisher ${q(h("publisher-id"))}`;
        }
        return undefined;
      }
      case "snap-revision":
      case "snap-resource-revision":
      case "snap-resource-pair":
        return this.revisionInconsistency(a);
      case "store": {
        const what = `store assertion ${q(h("store"))}`;
        if (!this.isTrustedAccount(a.authorityId)) return notTrusted(what);
        if (!this.hasAccount(h("operator-id"))) {
          return `${what} does not have a matching account assertion for the operator ${q(h("operator-id"))}`;
        }
        return undefined;
      }
      case "validation-set":
        if (a.authorityId !== h("account-id")) {
          return `validation-set assertion must be signed by its account ${q(h("account-id"))}, not ${q(a.authorityId)}`;
        }
        return undefined;
      case "serial": {
        const brand = h("brand-id");
        if (a.authorityId === brand) return undefined;
        const model = this.find("model", [SERIES, brand, h("model")]);
        const allowed = model?.headers["serial-authority"];
        if (!Array.isArray(allowed) || !allowed.includes(a.authorityId)) {
          return `serial with authority ${q(a.authorityId)} different from brand ${q(brand)} without model assertion with serial-authority set to allow for them`;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** snap-revision and the resource types: who may sign them (§4.4, §4.5). */
  private revisionInconsistency(a: Assertion): string | undefined {
    const h = (name: string): string => headerString(a, name) ?? "";
    const snapId = h("snap-id");
    const provenance = h("provenance");
    const global = provenance === DEFAULT_PROVENANCE;
    if (global && !this.isTrustedAccount(a.authorityId)) {
      return `${a.type} assertion for snap id ${q(snapId)} is not signed by a store: ${a.authorityId}`;
    }
    // snapd 2.68.3 (asserts/snap_resource_asserts.go) asks the pair for its developer's account too
    if (!this.hasAccount(h("developer-id"))) {
      return `${a.type} assertion for snap id ${q(snapId)} does not have a matching account assertion for the developer ${q(h("developer-id"))}`;
    }
    const decl = this.find("snap-declaration", [SERIES, snapId]);
    if (decl === undefined) {
      return `${a.type} assertion for snap id ${q(snapId)} does not have a matching snap-declaration assertion`;
    }
    if (!global) {
      const revision = a.type === "snap-resource-revision" ? undefined : Number(h("snap-revision"));
      const allowed = revisionAuthorities(decl.headers).some(
        (ra) =>
          ra.provenance.includes(provenance) &&
          ra.accountId === a.authorityId &&
          (revision === undefined ||
            (revision >= ra.minRevision && (ra.maxRevision === 0 || revision <= ra.maxRevision))),
      );
      if (!allowed) {
        return `${a.type} assertion with provenance ${q(provenance)} for snap id ${q(snapId)} is not signed by an authorized authority: ${a.authorityId}`;
      }
    }
    return undefined;
  }
}

/** The prerequisites of `a` (§4) as (type, full primary key) pairs. */
function prerequisites(a: Assertion): [string, string[]][] {
  const h = (name: string): string => headerString(a, name) ?? "";
  switch (a.type) {
    case "account-key":
      return [["account", [h("account-id")]]];
    case "snap-declaration":
      return [["account", [h("publisher-id")]]];
    case "snap-revision":
    case "snap-resource-revision":
      return [
        ["snap-declaration", [SERIES, h("snap-id")]],
        ["account", [h("developer-id")]],
      ];
    case "snap-resource-pair":
      return [["snap-declaration", [SERIES, h("snap-id")]]];
    case "store":
      return [["account", [h("operator-id")]]];
    case "snap-developer":
      return [
        ["snap-declaration", [SERIES, h("snap-id")]],
        ["account", [h("publisher-id")]],
      ];
    case "validation":
      return [
        ["snap-declaration", [h("series"), h("snap-id")]],
        ["snap-declaration", [h("series"), h("approved-snap-id")]],
      ];
    default:
      return [];
  }
}

/**
 * Verifies every candidate against the trusted roots, the already verified
 * `known` assertions and the other candidates (§9 steps 1–8; step 1 is done
 * by the parser, step 2, the client's max format, is left to serving). Lookups
 * prefer the trusted set, then the highest revision in known + candidates.
 * Returns nothing; throws `SnapshelfError` (code `assertion-chain` or
 * `assertion-signature`) naming the failing assertion as
 * `<type> (<reduced primary key>)` and the reason. `now` is injectable for tests.
 */
export function verifyAssertions(
  candidates: readonly Assertion[],
  known: readonly Assertion[],
  trust: TrustConfig,
  now: Date,
  /** The file each candidate came from, named in errors so the operator knows which input is bad. */
  sources?: ReadonlyMap<Assertion, string>,
): void {
  const v = new Verifier(trust, now);
  v.addKnown(known);
  try {
    v.addCandidates(candidates);
    for (const c of candidates) {
      try {
        v.check(c);
      } catch (err) {
        if (!(err instanceof ChainFailure) || err.subject === c) throw err;
        throw new ChainFailure(err.subject, err.code, `${err.reason} (needed by ${describeAssertion(c)})`);
      }
    }
  } catch (err) {
    if (err instanceof ChainFailure) {
      const from = sources?.get(err.subject);
      const what = `${describeAssertion(err.subject)}${from === undefined ? "" : ` from ${from}`}`;
      throw new SnapshelfError(err.code, `cannot verify ${what}: ${err.reason}`);
    }
    throw err;
  }
}

/**
 * Validates a set of assertions meant to become trusted roots (the contents
 * of a `--trusted-root FILE`): only `account` and `account-key` assertions;
 * every account-key's id matches its body; every assertion signed by a key of
 * the set (in particular a self-signed root key) carries a valid signature by
 * it, with the key's account as authority. Returns the assertions; throws
 * `SnapshelfError` (`assertion-chain` / `assertion-signature`).
 */
export function checkTrustedRoots(assertions: readonly Assertion[], source?: string): Assertion[] {
  const where = source === undefined ? "" : ` in ${source}`;
  const fail = (code: string, a: Assertion | undefined, reason: string): never => {
    const what = a === undefined ? "trusted roots" : `${describeAssertion(a)} as a trusted root`;
    throw new SnapshelfError(code, `cannot use ${what}${where}: ${reason}`);
  };
  if (assertions.length === 0) fail("assertion-chain", undefined, "no assertions");
  const keys = new Map<string, { readonly a: Assertion; readonly info: PublicKeyInfo }>();
  for (const a of assertions) {
    if (a.type !== "account" && a.type !== "account-key") {
      fail("assertion-chain", a, "only account and account-key assertions can be trusted");
    }
    if (a.type === "account-key") {
      try {
        keys.set(a.primaryKey[0]!, { a, info: publicKeyInfoFromAccountKey(a) });
      } catch (err) {
        if (err instanceof SnapshelfError) fail("assertion-chain", a, err.message);
        throw err;
      }
    }
  }
  for (const a of assertions) {
    const signer = keys.get(a.signKeyId);
    if (signer === undefined) continue;
    const keyAccount = headerString(signer.a, "account-id");
    if (keyAccount !== a.authorityId) {
      fail(
        "assertion-chain",
        a,
        `assertion authority ${q(a.authorityId)} does not match public key from ${q(keyAccount ?? "")}`,
      );
    }
    try {
      verifySignature(a, signer.info.key);
    } catch (err) {
      if (err instanceof SnapshelfError) fail("assertion-signature", a, err.message);
      throw err;
    }
  }
  return [...assertions];
}
