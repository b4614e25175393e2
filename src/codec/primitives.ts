// The MQTT data representations (section 1.5): readers over a bounded window of a Buffer and
// writers into a pre-sized Buffer. Readers throw ProtocolError; the decoder turns that into a value.
import { isUtf8 } from 'node:buffer';
import { malformed } from './protocol-error';

/** Largest value a Variable Byte Integer can hold in its four bytes. */
export const MAX_VARIABLE_BYTE_INTEGER = 268_435_455;
const MAX_TWO_BYTE = 0xffff;

/** Anything but U+0001..U+007F; the regex engine scans a string faster than a charCodeAt loop. */
export const NOT_PLAIN_ASCII = /[^\u0001-\u007f]/;

/**
 * Thrown by a Reader over the first bytes of a packet (`resetPartial`) when a field runs past the bytes
 * in hand but not past the packet's end: nothing is wrong yet. Not an Error: no stack to capture.
 */
export const INCOMPLETE: { readonly incomplete: true } = Object.freeze({ incomplete: true });

/**
 * Reads the fields of one packet body; `end` is where the Remaining Length says the packet ends, `limit`
 * where the bytes in hand end (the same, except for a packet checked before all of it arrived).
 */
export class Reader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  limit = 0;

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.limit = end;
    return this;
  }

  /**
   * Over the first bytes of a packet, `limit` of them in hand: a field past `end` is malformed as
   * usual, one past `limit` only throws INCOMPLETE, so a bad beginning is found before the rest comes.
   */
  resetPartial(buf: Buffer, pos: number, end: number, limit: number): this {
    this.reset(buf, pos, end);
    this.limit = limit;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.limit - this.pos < n) this.short(n, what);
  }

  private short(n: number, what: string): never {
    if (this.end - this.pos < n) throw malformed(`${what} runs past the end of the packet`);
    throw INCOMPLETE;
  }

  byte(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  twoByteInteger(what = 'two-byte integer'): number {
    this.need(2, what);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  fourByteInteger(what = 'four-byte integer'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** At most four bytes (3.1.1 section 2.2.3, 5.0 section 1.5.5). */
  variableByteInteger(what = 'variable byte integer'): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.byte(what);
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) return value;
      multiplier *= 128;
    }
    throw malformed(`${what} longer than four bytes (section 2.2.3; 5.0 section 1.5.5)`);
  }

  /** Length-prefixed UTF-8 string, well-formed and without U+0000 [MQTT-1.5.3-1], [MQTT-1.5.3-2]. */
  utf8String(what = 'UTF-8 string'): string {
    const len = this.twoByteInteger(what);
    if (this.limit - this.pos < len) {
      // only the string's beginning is in hand: it must be well-formed so far
      if (this.end - this.pos >= len) checkUtf8Prefix(this.buf, this.pos, this.limit, what);
      this.short(len, what);
    }
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    return decodeUtf8(this.buf, start, end, what);
  }

  /** Length-prefixed binary data; a view on the input, not a copy. */
  binaryData(what = 'binary data'): Buffer {
    const len = this.twoByteInteger(what);
    this.need(len, what);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }

  /** Everything up to the end of the packet (a PUBLISH payload), as a view. */
  rest(): Buffer {
    if (this.limit < this.end) throw INCOMPLETE;
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }
}

/**
 * Decodes and checks a UTF-8 string. The usual ASCII string is sliced as latin1 (bytes map 1:1 to
 * characters) and checked with one regex test; anything else goes to the strict native validator,
 * which also refuses encoded surrogates U+D800..U+DFFF [MQTT-1.5.3-1].
 */
export function decodeUtf8(buf: Buffer, start: number, end: number, what: string): string {
  const latin1 = buf.latin1Slice(start, end);
  if (!NOT_PLAIN_ASCII.test(latin1)) return latin1;
  // In well-formed UTF-8 a zero byte can only be U+0000 itself.
  if (latin1.includes('\u0000')) throw malformed(`${what} contains U+0000 [MQTT-1.5.3-2] (5.0: [MQTT-1.5.4-2])`);
  if (!isUtf8(buf.subarray(start, end))) throw malformed(`${what} is not well-formed UTF-8 [MQTT-1.5.3-1] (5.0: [MQTT-1.5.4-1])`);
  return buf.utf8Slice(start, end);
}

/**
 * The beginning of a UTF-8 string, its end not yet received: well-formed and without U+0000 up to a
 * multi-byte sequence cut off at the end, which is left for when the rest arrives.
 */
export function checkUtf8Prefix(buf: Buffer, start: number, end: number, what: string): void {
  let cut = end;
  for (let i = end - 1; i >= start && i >= end - 3; i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look for its lead
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (i + length > end) cut = i;
    break;
  }
  decodeUtf8(buf, start, cut, what);
}

// Node's own fast slice/write methods, present on every Buffer but left out of @types/node.
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
    utf8Write(s: string, offset: number, length?: number): number;
  }
}

// ---- sizes ----

export function variableByteIntegerLength(v: number): number {
  return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
}

/**
 * Encoded size of a UTF-8 string with its length prefix; refuses what no receiver may accept
 * (U+0000, lone surrogates, more than 65535 bytes) so the encoder never emits a malformed packet.
 */
export function utf8StringLength(s: string, what: string): number {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
  const n = s.length;
  if (n <= 0xffff && !NOT_PLAIN_ASCII.test(s)) return 2 + n;
  if (s.includes('\u0000')) throw new TypeError(`${what} contains U+0000 [MQTT-1.5.3-2] (5.0: [MQTT-1.5.4-2])`);
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new TypeError(`${what} contains a lone surrogate [MQTT-1.5.3-1]`);
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes > MAX_TWO_BYTE) throw new TypeError(`${what} is longer than 65535 bytes`);
  return 2 + bytes;
}

export function binaryDataLength(b: Buffer, what: string): number {
  if (!Buffer.isBuffer(b)) throw new TypeError(`${what} must be a Buffer`);
  if (b.length > MAX_TWO_BYTE) throw new TypeError(`${what} is longer than 65535 bytes`);
  return 2 + b.length;
}

// ---- writers: each returns the position after what it wrote ----

export function writeVariableByteInteger(buf: Buffer, pos: number, v: number): number {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    buf[pos++] = b;
  } while (v > 0);
  return pos;
}

export function writeTwoByteInteger(buf: Buffer, pos: number, v: number): number {
  buf[pos] = v >>> 8;
  buf[pos + 1] = v & 0xff;
  return pos + 2;
}

export function writeFourByteInteger(buf: Buffer, pos: number, v: number): number {
  buf.writeUInt32BE(v, pos);
  return pos + 4;
}

export function writeUtf8String(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n < 16) {
    // Short ASCII strings: a JS loop beats the native call's fixed cost; longer ones go native.
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + 2 + i] = c;
    }
    if (i === n) {
      buf[pos] = n >>> 8;
      buf[pos + 1] = n & 0xff;
      return pos + 2 + n;
    }
  }
  const written = buf.utf8Write(s, pos + 2);
  buf[pos] = written >>> 8;
  buf[pos + 1] = written & 0xff;
  return pos + 2 + written;
}

export function writeBinaryData(buf: Buffer, pos: number, b: Buffer): number {
  buf[pos] = b.length >>> 8;
  buf[pos + 1] = b.length & 0xff;
  b.copy(buf, pos + 2);
  return pos + 2 + b.length;
}

// ---- checks shared by encoders ----

export function checkTwoByteInteger(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_TWO_BYTE) {
    throw new TypeError(`${what} must be an integer ${min}..65535, got ${String(v)}`);
  }
  return v;
}

export function checkPacketId(v: unknown, what = 'packetId'): number {
  return checkTwoByteInteger(v, `${what} [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3])`, 1);
}
