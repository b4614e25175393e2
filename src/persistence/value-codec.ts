// A small tagged binary encoding for the plain values the store keeps (messages, properties,
// sessions, subscriptions): Buffers are written as bytes, so payloads and binary properties
// (correlation data, authentication data) come back byte for byte, and user properties keep their
// order and repeats. Keys whose value is undefined are left out, as if never set.

const enum Tag {
  Null = 0,
  False = 1,
  True = 2,
  Uint32 = 3,
  Float64 = 4,
  String = 5,
  Bytes = 6,
  Array = 7,
  Object = 8,
}

/**
 * Keys of the store's objects written as one byte (index + 1) instead of their name: most of a
 * record's bytes would otherwise be these names. Append only: a key's index is part of the format.
 */
const KNOWN_KEYS = [
  'topic',
  'payload',
  'qos',
  'retain',
  'properties',
  'expiresAt',
  'origin',
  'message',
  'subscriptionIdentifiers',
  'packetId',
  'state',
  'clientId',
  'protocolVersion',
  'sessionExpiryInterval',
  'disconnectedAt',
  'will',
  'topicFilter',
  'noLocal',
  'retainAsPublished',
  'retainHandling',
  'subscriptionIdentifier',
  'inboundQos2',
  'userProperties',
  'correlationData',
  'contentType',
  'responseTopic',
  'payloadFormatIndicator',
  'messageExpiryInterval',
  'willDelayInterval',
  'originUsername',
  'originListener',
] as const;
const KEY_INDEX = new Map<string, number>(KNOWN_KEYS.map((k, i) => [k, i + 1]));

export type StoredValue = null | boolean | number | string | Buffer | StoredValue[] | { [key: string]: StoredValue | undefined };

/** Appends to a growing buffer; `finish()` returns the bytes written. */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }

  /** Reserves 4 bytes to fill in later (a record's length and CRC); returns their offset. */
  reserve(n: number): number {
    this.room(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  value(v: StoredValue | undefined): void {
    if (v === null || v === undefined) this.u8(Tag.Null);
    else if (v === false) this.u8(Tag.False);
    else if (v === true) this.u8(Tag.True);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
        this.u8(Tag.Uint32);
        this.u32(v);
      } else {
        this.u8(Tag.Float64);
        this.f64(v);
      }
    } else if (typeof v === 'string') {
      this.u8(Tag.String);
      this.string(v);
    } else if (Buffer.isBuffer(v)) {
      this.u8(Tag.Bytes);
      this.bytes(v);
    } else if (Array.isArray(v)) {
      this.u8(Tag.Array);
      this.u32(v.length);
      for (const item of v) this.value(item);
    } else {
      this.u8(Tag.Object);
      const at = this.reserve(4);
      let count = 0;
      for (const key of Object.keys(v)) {
        const item = v[key];
        if (item === undefined) continue;
        const index = KEY_INDEX.get(key);
        if (index !== undefined) this.u8(index);
        else {
          this.u8(0);
          this.string(key);
        }
        this.value(item);
        count++;
      }
      this.patchU32(at, count);
    }
  }

  /** Drops what was written after `length` (a record that failed half way through encoding). */
  rewind(length: number): void {
    this.pos = Math.min(this.pos, length);
  }

  /** The bytes written so far (a view: copy it before writing more if it must be kept). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Thrown on bytes that are not a valid encoding: the caller treats the record as damaged. */
export class DecodeError extends Error {}

/** Reads what ByteWriter wrote. Bytes are copied out, so nothing keeps the source buffer alive. */
export class ByteReader {
  pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('value runs past the end of its record');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  value(): StoredValue {
    const tag = this.u8();
    switch (tag) {
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Uint32:
        return this.u32();
      case Tag.Float64:
        return this.f64();
      case Tag.String:
        return this.string();
      case Tag.Bytes:
        return this.bytes();
      case Tag.Array: {
        const n = this.u32();
        // each item takes at least one byte: a count beyond what is left is damage, not a huge array
        if (n > this.end - this.pos) throw new DecodeError('array longer than its record');
        const out: StoredValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value();
        return out;
      }
      case Tag.Object: {
        const n = this.u32();
        if (n > this.end - this.pos) throw new DecodeError('object longer than its record');
        const out: { [key: string]: StoredValue } = {};
        for (let i = 0; i < n; i++) {
          const index = this.u8();
          const key = index === 0 ? this.string() : KNOWN_KEYS[index - 1];
          if (key === undefined) throw new DecodeError(`unknown key ${index}`);
          const item = this.value();
          // a key named __proto__ must stay a key, not replace the prototype
          if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
          else out[key] = item;
        }
        return out;
      }
      default:
        throw new DecodeError(`unknown value tag ${tag}`);
    }
  }
}

/** A Buffer that is a small view of a large one (a payload in a socket's read chunk) is copied. */
const OVERSIZED_BY = 4096;

/**
 * A deep copy without the keys whose value is undefined: what the store keeps in memory is then
 * exactly what it reads back from its files. Buffers are shared, unless they are views of a much
 * larger buffer that the store would otherwise keep alive for as long as it keeps the message.
 */
export function plainCopy<T>(v: T): T {
  if (Buffer.isBuffer(v)) return (v.buffer.byteLength > v.length + OVERSIZED_BY ? Buffer.from(v) : v) as T;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((item: unknown) => plainCopy(item)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const item = (v as Record<string, unknown>)[key];
    if (item !== undefined) out[key] = plainCopy(item);
  }
  return out as T;
}
