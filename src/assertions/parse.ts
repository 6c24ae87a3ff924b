/**
 * Parsing of assertions and assertion streams (assertions.md §2). Assertions
 * are kept as the exact bytes they arrived as (`raw`); the parsed view is
 * only for indexing and checking, nothing is ever re-encoded.
 */
import { SnapshelfError } from "../util/errors.js";
import { checkTypeSpecific, dateHeader, digestHeader, Invalid, intWithDefault, notEmptyString } from "./checks.js";
import { decodeWrappedBase64 } from "./encoding.js";
import { FORMAT_V1 } from "./keys.js";
import { type Assertion, assertionType, type HeaderValue } from "./types.js";

/** Maximum sizes of the parts of an assertion (§2.1). */
export const MAX_HEADERS_SIZE = 128 * 1024;
export const MAX_BODY_SIZE = 2 * 1024 * 1024;
export const MAX_SIGNATURE_SIZE = 128 * 1024;

const HEADER_NAME = /^[a-z](?:-?[a-z0-9])*$/;
const NL = 0x0a;
const NLNL = Buffer.from("\n\n");
const EMPTY = Buffer.alloc(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

const q = (s: string): string => JSON.stringify(s);

type MutableMap = { [k: string]: HeaderValue };

/** Parses the header block (§2.2). Maps are prototype-less objects. */
function parseHeaders(head: string): MutableMap {
  const headers: MutableMap = Object.create(null);
  const lines = head.split("\n");
  let i = 0;
  while (i < lines.length) {
    const entry = lines[i]!;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Invalid(`header entry missing ':' separator: ${q(entry)}`);
    const name = entry.slice(0, colon);
    if (!HEADER_NAME.test(name)) throw new Invalid(`invalid header name: ${q(name)}`);
    const [value, next] = parseEntry(colon + 1, i, lines, 0);
    if (Object.hasOwn(headers, name)) throw new Invalid(`repeated header: ${q(name)}`);
    headers[name] = value;
    i = next;
  }
  return headers;
}

/**
 * Parses the value introduced on line `first` after `consumed` characters
 * (the name and its `:`), at nesting `indent`. Returns the value and the
 * index of the first line after it.
 */
function parseEntry(consumed: number, first: number, lines: readonly string[], indent: number): [HeaderValue, number] {
  const entry = lines[first]!;
  const next = first + 1;
  if (consumed === entry.length) {
    const prefix = " ".repeat(indent + 2);
    const line = lines[next];
    if (line?.startsWith(prefix)) {
      const rest = line.slice(prefix.length);
      if (rest.startsWith("-")) return parseList(next, lines, indent);
      if (rest.length > 0 && rest[0] !== " ") return parseMap(next, lines, indent);
    }
    return parseMultiline(next, lines, indent);
  }
  if (entry[consumed] !== " ") {
    throw new Invalid(`header entry should have a space or newline (for multiline) before value: ${q(entry)}`);
  }
  return [entry.slice(consumed + 1), next];
}

function parseMultiline(first: number, lines: readonly string[], indent: number): [HeaderValue, number] {
  const prefix = " ".repeat(indent + 4);
  let j = first;
  while (j < lines.length && lines[j]!.startsWith(prefix)) j++;
  if (j === first) {
    const cur = first === lines.length ? "EOF" : q(lines[first]!);
    throw new Invalid(
      `expected ${prefix.length} chars nesting prefix after multiline introduction ${q(lines[first - 1]!)}: ${cur}`,
    );
  }
  const value = lines
    .slice(first, j)
    .map((l) => l.slice(prefix.length))
    .join("\n");
  return [value, j];
}

function parseList(first: number, lines: readonly string[], indent: number): [HeaderValue, number] {
  const prefix = `${" ".repeat(indent)}  -`;
  const list: HeaderValue[] = [];
  let j = first;
  while (j < lines.length && lines[j]!.startsWith(prefix)) {
    const [v, next] = parseEntry(prefix.length, j, lines, indent + 2);
    list.push(v);
    j = next;
  }
  return [Object.freeze(list), j];
}

function parseMap(first: number, lines: readonly string[], indent: number): [HeaderValue, number] {
  const prefix = " ".repeat(indent + 2);
  const map: MutableMap = Object.create(null);
  let j = first;
  while (j < lines.length && lines[j]!.startsWith(prefix)) {
    const entry = lines[j]!.slice(prefix.length);
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Invalid(`map entry missing ':' separator: ${q(entry)}`);
    const key = entry.slice(0, colon);
    if (!HEADER_NAME.test(key)) throw new Invalid(`invalid map entry key: ${q(key)}`);
    const [v, next] = parseEntry(prefix.length + colon + 1, j, lines, prefix.length);
    if (Object.hasOwn(map, key)) throw new Invalid(`repeated map entry: ${q(key)}`);
    map[key] = v;
    j = next;
  }
  return [Object.freeze(map), j];
}

/** The pieces of one assertion located in its input. */
interface Parts {
  readonly body: Buffer;
  readonly content: Buffer;
  readonly signature: Buffer;
  readonly raw: Buffer;
}

function decodeUtf8(b: Buffer, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new Invalid(`${what} is not utf8`);
  }
}

/** Size check, UTF-8 check and header parsing of a header block. */
function parseHead(head: Buffer): MutableMap {
  if (head.length > MAX_HEADERS_SIZE) throw new Invalid("headers exceed maximum size");
  return parseHeaders(decodeUtf8(head, "header"));
}

/** Checks the meta headers (§2.4), primary key and type-specific headers, and builds the assertion. */
function assemble(headers: MutableMap, parts: Parts, setType: (t: string) => void): Assertion {
  if (parts.signature.length > MAX_SIGNATURE_SIZE) throw new Invalid("signature exceeds maximum size");
  const length = intWithDefault(headers, "body-length", 0);
  if (length > MAX_BODY_SIZE) throw new Invalid(`assertion body length ${length} exceeds maximum body size`);
  if (length !== parts.body.length) {
    throw new Invalid(`assertion body length and declared body-length don't match: ${parts.body.length} != ${length}`);
  }
  decodeUtf8(parts.body, "assertion body");
  const signKeyId = digestHeader(headers, "sign-key-sha3-384");
  const type = notEmptyString(headers, "type");
  const info = assertionType(type);
  if (info === undefined) throw new Invalid(`unknown type ${q(type)}`);
  setType(type);

  let authorityId = "";
  if (info.noAuthority) {
    if (Object.hasOwn(headers, "authority-id")) throw new Invalid(`${q(type)} assertion cannot have authority-id set`);
  } else {
    authorityId = notEmptyString(headers, "authority-id");
  }
  const format = intWithDefault(headers, "format", 0);
  const primaryKey: string[] = [];
  for (const name of info.primaryKey) {
    const defl = info.optionalDefaults[name];
    if (!Object.hasOwn(headers, name) && defl !== undefined) headers[name] = defl;
    const v = notEmptyString(headers, name);
    if (v.includes("/")) throw new Invalid(`${q(name)} primary key header cannot contain '/'`);
    primaryKey.push(v);
  }
  const revision = intWithDefault(headers, "revision", 0);

  const sigText = parts.signature.toString("latin1");
  if (sigText.trim() === "") throw new Invalid("empty assertion signature");
  const signature = decodeWrappedBase64(sigText);
  if (signature === undefined) throw new Invalid("cannot decode signature: illegal base64 data");
  if (signature.length === 0) throw new Invalid("cannot decode signature: base64 without data");
  if (signature[0] !== FORMAT_V1) throw new Invalid(`unsupported signature format version: ${signature[0]}`);

  if (info.timestamped) dateHeader(headers, "timestamp");
  checkTypeSpecific(type, headers, authorityId, parts.body);

  return Object.freeze({
    type,
    headers: Object.freeze(headers),
    body: parts.body,
    content: parts.content,
    signature,
    raw: parts.raw,
    primaryKey: Object.freeze(primaryKey),
    revision,
    format,
    authorityId,
    signKeyId,
  });
}

function fail(err: unknown, type: string | undefined, source: string | undefined, ordinal?: number): never {
  if (!(err instanceof Invalid)) throw err;
  const what = type === undefined ? "assertion" : `${type} assertion`;
  const nth = ordinal === undefined ? "" : ` #${ordinal}`;
  const where = source === undefined ? "" : ` in ${source}`;
  throw new SnapshelfError("assertion-parse", `cannot parse ${what}${nth}${where}: ${err.message}`);
}

/** A copy of `b` ending with exactly one "\n" (appended if missing). */
function withFinalNewline(b: Buffer): Buffer {
  return b[b.length - 1] === NL ? Buffer.from(b) : Buffer.concat([b, Buffer.from("\n")]);
}

/**
 * Parses a single assertion (snapd's `Decode`, §2.1): content and signature
 * split at the last `"\n\n"`, headers and body at the first. One extra final
 * `"\n"` is tolerated and dropped; a missing final `"\n"` is added to `raw`.
 * Throws `SnapshelfError` (`assertion-parse`) naming `source` when given.
 */
export function parseAssertion(raw: Buffer | string, source?: string): Assertion {
  let type: string | undefined;
  try {
    let doc = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
    if (doc.length >= 2 && doc[doc.length - 1] === NL && doc[doc.length - 2] === NL) doc = doc.subarray(0, -1);
    const split = doc.lastIndexOf(NLNL);
    if (split < 0) throw new Invalid("assertion content/signature separator not found");
    const content = Buffer.from(doc.subarray(0, split));
    const hb = content.indexOf(NLNL);
    const head = hb < 0 ? content : content.subarray(0, hb);
    const body = hb < 0 ? EMPTY : content.subarray(hb + 2);
    const parts = { body, content, signature: doc.subarray(split + 2), raw: withFinalNewline(doc) };
    return assemble(parseHead(head), parts, (t) => {
      type = t;
    });
  } catch (err) {
    fail(err, type, source);
  }
}

/**
 * Decodes a stream of assertions (§2.7) the way snapd's stream decoder does:
 * headers up to the first `"\n\n"`, then exactly `body-length` bytes and
 * `"\n\n"`, then the signature up to the next `"\n\n"` or the end. Exactly
 * one empty line separates assertions; at most one extra `"\n"` may follow
 * the last one. An empty input is an empty stream.
 */
export function decodeStream(buf: Buffer, source?: string): Assertion[] {
  const out: Assertion[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let type: string | undefined;
    try {
      const start = pos;
      const headEnd = buf.indexOf(NLNL, start);
      if (headEnd < 0) {
        if (buf.length - start > MAX_HEADERS_SIZE) throw new Invalid("headers exceed maximum size");
        throw new Invalid("unexpected EOF");
      }
      const headers = parseHead(buf.subarray(start, headEnd));
      const length = intWithDefault(headers, "body-length", 0);
      if (length > MAX_BODY_SIZE) throw new Invalid(`assertion body length ${length} exceeds maximum body size`);
      let sigStart = headEnd + 2;
      let contentEnd = headEnd;
      if (length > 0) {
        const bodyEnd = sigStart + length;
        if (bodyEnd > buf.length) throw new Invalid("unexpected EOF");
        if (buf[bodyEnd] !== NL || buf[bodyEnd + 1] !== NL) throw new Invalid("missing content/signature separator");
        contentEnd = bodyEnd;
        sigStart = bodyEnd + 2;
      }
      const sigSep = buf.indexOf(NLNL, sigStart);
      const sigEnd = sigSep < 0 ? buf.length : sigSep + 1;
      pos = sigSep < 0 ? buf.length : sigSep + 2;
      const content = Buffer.from(buf.subarray(start, contentEnd));
      out.push(
        assemble(
          headers,
          {
            body: length > 0 ? content.subarray(headEnd - start + 2) : EMPTY,
            content,
            signature: buf.subarray(sigStart, sigEnd),
            raw: withFinalNewline(buf.subarray(start, sigEnd)),
          },
          (t) => {
            type = t;
          },
        ),
      );
    } catch (err) {
      fail(err, type, source, out.length > 0 ? out.length + 1 : undefined);
    }
  }
  return out;
}

/**
 * Builds a stream from assertions' raw bytes (§2.7): each ends with `"\n"`
 * (added if missing) and one more `"\n"` separates consecutive ones.
 */
export function joinStream(raws: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const [i, r] of raws.entries()) {
    if (r.length === 0) throw new SnapshelfError("assertion-parse", "cannot join assertions: empty assertion");
    if (r.length >= 2 && r[r.length - 1] === NL && r[r.length - 2] === NL) {
      throw new SnapshelfError("assertion-parse", "cannot join assertions: assertion ends with an empty line");
    }
    if (i > 0) parts.push(Buffer.from("\n"));
    parts.push(r);
    if (r[r.length - 1] !== NL) parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** The header's value if it is a string, else `undefined`. */
export function headerString(a: Assertion, name: string): string | undefined {
  const v = a.headers[name];
  return typeof v === "string" ? v : undefined;
}
