/**
 * The small subset of OpenPGP (RFC 4880) that snap assertions use: one packet
 * (new- or old-format header) and multiprecision integers. Internal to
 * `src/assertions`.
 */

/** One OpenPGP packet: its tag and body; `rest` is whatever followed it. */
export interface Packet {
  readonly tag: number;
  readonly body: Buffer;
  readonly rest: Buffer;
}

/** An error in the packet structure; callers turn it into their own message. */
export class PacketError extends Error {}

/** Reads the packet at the start of `buf` (RFC 4880 §4.2; partial lengths are not supported). */
export function readPacket(buf: Buffer): Packet {
  const first = buf[0];
  if (first === undefined) throw new PacketError("no data");
  if ((first & 0x80) === 0) throw new PacketError("tag byte does not have MSB set");
  let tag: number;
  let length: number;
  let off: number;
  if ((first & 0x40) !== 0) {
    // new format
    tag = first & 0x3f;
    const l0 = buf[1];
    if (l0 === undefined) throw new PacketError("truncated packet header");
    if (l0 < 192) {
      length = l0;
      off = 2;
    } else if (l0 < 224) {
      const l1 = buf[2];
      if (l1 === undefined) throw new PacketError("truncated packet header");
      length = ((l0 - 192) << 8) + l1 + 192;
      off = 3;
    } else if (l0 === 255) {
      if (buf.length < 6) throw new PacketError("truncated packet header");
      length = buf.readUInt32BE(2);
      off = 6;
    } else {
      throw new PacketError("partial body length not supported");
    }
  } else {
    // old format
    tag = (first & 0x3c) >> 2;
    const lengthType = first & 0x03;
    if (lengthType === 3) throw new PacketError("indeterminate length not supported");
    const n = 1 << lengthType;
    if (buf.length < 1 + n) throw new PacketError("truncated packet header");
    length = buf.readUIntBE(1, n);
    off = 1 + n;
  }
  if (buf.length - off < length) throw new PacketError("truncated packet");
  return { tag, body: buf.subarray(off, off + length), rest: buf.subarray(off + length) };
}

/** Cursor over a packet body. */
export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The next `n` bytes. */
  bytes(n: number): Buffer {
    if (this.remaining < n) throw new PacketError("unexpected end of packet");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.bytes(1)[0]!;
  }

  u16(): number {
    return this.bytes(2).readUInt16BE(0);
  }

  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  /** A multiprecision integer: its big-endian magnitude with leading zero bytes removed. */
  mpi(): Buffer {
    const bits = this.u16();
    return stripLeadingZeros(this.bytes((bits + 7) >> 3));
  }
}

/** `b` without leading zero bytes. */
export function stripLeadingZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

/** Encodes a non-negative big-endian magnitude as a minimal MPI (bit length, then bytes). */
export function encodeMpi(magnitude: Buffer): Buffer {
  const m = stripLeadingZeros(magnitude);
  const top = m[0];
  const bits = top === undefined ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(top));
  const header = Buffer.alloc(2);
  header.writeUInt16BE(bits, 0);
  return Buffer.concat([header, m]);
}

/** A new-format packet header for `tag` and a body of `length` bytes, minimal length encoding. */
export function newPacketHeader(tag: number, length: number): Buffer {
  const t = 0xc0 | tag;
  if (length < 192) return Buffer.from([t, length]);
  if (length < 8384) {
    const l = length - 192;
    return Buffer.from([t, (l >> 8) + 192, l & 0xff]);
  }
  const b = Buffer.alloc(6);
  b[0] = t;
  b[1] = 0xff;
  b.writeUInt32BE(length, 2);
  return b;
}
