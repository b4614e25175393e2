// The streaming decoder: bytes in, whole packets out, in order, from chunks of any size.
import { codecByCode } from './packet-table';
import { ProtocolError, malformed } from './protocol-error';
import { MAX_VARIABLE_BYTE_INTEGER, Reader } from './primitives';
import type { Packet, ProtocolVersion } from './types';

export interface PacketDecoderOptions {
  /** Until a CONNECT says otherwise; 4 (3.1.1) by default. */
  protocolVersion?: ProtocolVersion;
  /** Largest whole packet (fixed header included) accepted; larger ones fail with 0x95 before buffering. */
  maximumPacketSize?: number;
}

/** The largest packet MQTT can express: one type byte, four length bytes, 268435455 bytes of body. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_VARIABLE_BYTE_INTEGER;
const EMPTY = Buffer.alloc(0);

/** One Reader for every decoder: a decode runs to its end before another starts, and keeps no state. */
const reader = new Reader();

/**
 * One decoder per connection. `push` the bytes as they arrive, then call `next()` until it returns
 * null (more bytes needed). `next()` never throws: a malformed packet comes back as a ProtocolError,
 * and from then on the decoder stays failed and drops whatever it is given.
 *
 * Payloads and binary fields are views (subarray) of the pushed chunks when a packet lies within one
 * chunk, else of a fresh Buffer joined for that packet alone; the decoder never writes into either.
 */
export class PacketDecoder {
  protocolVersion: ProtocolVersion;
  maximumPacketSize: number;
  private chunks: Buffer[] = [];
  /** Offset of the first unread byte in chunks[0]. */
  private head = 0;
  private buffered = 0;
  private failure: ProtocolError | null = null;

  constructor(options: PacketDecoderOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.maximumPacketSize = options.maximumPacketSize ?? MAX_PACKET_SIZE;
  }

  /** Bytes received but not yet returned as packets. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The error the decoder failed with, if it did. */
  get error(): ProtocolError | null {
    return this.failure;
  }

  push(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): Packet | null | ProtocolError {
    if (this.failure !== null) return this.failure;
    if (this.buffered === 0) return null;
    const c0 = this.chunks[0];
    const head = this.head;
    const contiguous = c0.length - head; // bytes readable without crossing a chunk

    // Fixed header: type and flags, then the Remaining Length in at most four bytes (3.1.1 section 2.2.3).
    const first = c0[head];
    const codec = codecByCode[first >> 4];
    if (codec === undefined || (codec.code === 15 && this.protocolVersion !== 5)) {
      return this.fail(malformed(`reserved packet type ${first >> 4}`));
    }
    let remaining = 0;
    let multiplier = 1;
    let i = 1;
    for (;;) {
      if (i === 5) return this.fail(malformed('remaining length longer than four bytes (section 2.2.3)'));
      if (i >= this.buffered) return null;
      const b = i < contiguous ? c0[head + i] : this.byteAt(i);
      i++;
      remaining += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
    }
    const total = i + remaining;
    if (total > this.maximumPacketSize) {
      return this.fail(
        new ProtocolError(0x95, `packet of ${total} bytes exceeds the maximum packet size ${this.maximumPacketSize}`),
      );
    }
    if (this.buffered < total) return null;

    let buf: Buffer;
    let start: number;
    if (contiguous >= total) {
      buf = c0;
      start = head;
    } else {
      buf = this.join(total);
      start = 0;
    }
    let packet: Packet;
    try {
      packet = codec.decode(reader.reset(buf, start + i, start + total), first & 0x0f, this.protocolVersion);
    } catch (e) {
      const error = e instanceof ProtocolError ? e : malformed(`undecodable packet: ${(e as Error).message}`);
      if (error.protocolVersion !== undefined) this.protocolVersion = error.protocolVersion;
      return this.fail(error);
    } finally {
      reader.buf = EMPTY; // keep no reference to the input
    }
    if (buf === c0) this.consumeFromFirst(total);
    if (packet.type === 'connect') this.protocolVersion = packet.protocolVersion;
    return packet;
  }

  /** The byte `index` bytes after the first unread one; the caller made sure it was received. */
  private byteAt(index: number): number {
    let i = index + this.head;
    for (const c of this.chunks) {
      if (i < c.length) return c[i];
      i -= c.length;
    }
    throw new Error(`internal: byte ${index} of ${this.buffered} requested`);
  }

  /** Moves the next `total` bytes out of the queue into one new Buffer. */
  private join(total: number): Buffer {
    const out = Buffer.allocUnsafeSlow(total);
    let filled = 0;
    while (filled < total) {
      const c = this.chunks[0];
      const take = Math.min(c.length - this.head, total - filled);
      c.copy(out, filled, this.head, this.head + take);
      filled += take;
      this.consumeFromFirst(take);
    }
    return out;
  }

  /** Drops `n` bytes from the first chunk (never more than it holds). */
  private consumeFromFirst(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[0].length) {
      // the last chunk read: a fresh empty array, so an idle connection keeps no grown backing store
      if (this.chunks.length === 1) this.chunks = [];
      else this.chunks.shift();
      this.head = 0;
    }
  }

  private fail(error: ProtocolError): ProtocolError {
    this.failure = error;
    this.chunks.length = 0;
    this.head = 0;
    this.buffered = 0;
    return error;
  }
}
