// The streaming decoder: bytes in, whole packets out, in order, from chunks of any size.
import { codecByCode } from './packet-table';
import type { PacketCodec } from './packets/packet-codec';
import { ProtocolError, malformed, protocolError } from './protocol-error';
import { INCOMPLETE, MAX_VARIABLE_BYTE_INTEGER, Reader } from './primitives';
import type { Packet, ProtocolVersion } from './types';

export interface PacketDecoderOptions {
  /** Until a CONNECT says otherwise; 4 (3.1.1) by default. */
  protocolVersion?: ProtocolVersion;
  /** Largest whole packet (fixed header included) accepted; larger ones fail with 0x95 before buffering. */
  maximumPacketSize?: number;
  /**
   * Decodes what a client sends a server: the first packet must be CONNECT [MQTT-3.1.0-1], a second
   * one is a Protocol Error [MQTT-3.1.0-2], and so are the packets only servers send; each is refused
   * at its first byte.
   */
  server?: boolean;
}

/** The largest packet MQTT can express: one type byte, four length bytes, 268435455 bytes of body. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_VARIABLE_BYTE_INTEGER;
const EMPTY = Buffer.alloc(0);

/**
 * Of a packet that has not fully arrived, the first bytes (at most this many) are decoded as far as they
 * go, so garbage is refused at once rather than after waiting for the rest [MQTT-4.8.0-1]; a packet
 * arriving in many reads is checked again only while these first bytes grow.
 */
export const PREFIX_CHECK_BYTES = 256;
/** Where a prefix that spans chunks is gathered to be checked; decoding copies nothing out of it. */
const prefixScratch = Buffer.allocUnsafeSlow(PREFIX_CHECK_BYTES);

/** The codecs by type code a decoder accepts; a missing one is reserved or refused (see `refusal`). */
type CodecTable = readonly (PacketCodec | undefined)[];
const keep = (accept: (code: number) => boolean): CodecTable => codecByCode.map((c, code) => (accept(code) ? c : undefined));
/** A server before CONNECT: CONNECT alone [MQTT-3.1.0-1]. */
const BEFORE_CONNECT = keep((code) => code === 1);
/** A server after CONNECT: neither a second CONNECT [MQTT-3.1.0-2] nor CONNACK, SUBACK, UNSUBACK, PINGRESP. */
const SERVER = keep((code) => code !== 1 && code !== 2 && code !== 9 && code !== 11 && code !== 13);

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
  /** Bytes of the unfinished packet at the front that were checked already (see PREFIX_CHECK_BYTES). */
  private checked = 0;
  private codecs: CodecTable;
  private readonly server: boolean;

  constructor(options: PacketDecoderOptions = {}) {
    this.protocolVersion = options.protocolVersion ?? 4;
    this.maximumPacketSize = options.maximumPacketSize ?? MAX_PACKET_SIZE;
    this.server = options.server === true;
    this.codecs = this.server ? BEFORE_CONNECT : codecByCode;
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
    const codec = this.codecs[first >> 4];
    if (codec === undefined) return this.fail(this.refusal(first >> 4));
    if (codec.code === 15 && this.protocolVersion !== 5) return this.fail(malformed('reserved packet type 15 (AUTH exists from 5.0 on)'));
    let remaining = 0;
    let multiplier = 1;
    let i = 1;
    for (;;) {
      if (i === 5) return this.fail(malformed('remaining length longer than four bytes (section 2.2.3)'));
      if (i >= this.buffered) {
        // the length so far (and a further byte, at least) already exceeds the maximum: refuse it now
        if (i > 1 && i + 1 + remaining > this.maximumPacketSize) return this.fail(tooLarge(i + 1 + remaining, this.maximumPacketSize, 'at least '));
        return null;
      }
      const b = i < contiguous ? c0[head + i] : this.byteAt(i);
      i++;
      remaining += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) break;
      multiplier *= 128;
    }
    const total = i + remaining;
    // refused at the fixed header, before any of it is buffered
    if (total > this.maximumPacketSize) return this.fail(tooLarge(total, this.maximumPacketSize));
    if (this.buffered < total) return this.checked < PREFIX_CHECK_BYTES ? this.checkPrefix(codec, first, i, total) : null;

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
    this.checked = 0;
    if (packet.type === 'connect') {
      this.protocolVersion = packet.protocolVersion;
      if (this.server) this.codecs = SERVER;
    }
    return packet;
  }

  /**
   * The packet at the front has not fully arrived: its first bytes are decoded as far as they go, and
   * what is already wrong there (reserved flags, a bad protocol name or level, a topic that is not
   * well-formed...) fails the decoder now [MQTT-4.8.0-1]. Returns null: more bytes are needed.
   */
  private checkPrefix(codec: PacketCodec, first: number, headerLength: number, total: number): ProtocolError | null {
    const inHand = this.buffered < PREFIX_CHECK_BYTES ? this.buffered : PREFIX_CHECK_BYTES;
    if (inHand <= this.checked) return null;
    this.checked = inHand;
    let buf = this.chunks[0];
    let start = this.head;
    if (buf.length - start < inHand) {
      // spread over chunks: gathered into the scratch buffer, without consuming anything
      let filled = 0;
      let offset = this.head;
      for (const c of this.chunks) {
        const take = Math.min(c.length - offset, inHand - filled);
        c.copy(prefixScratch, filled, offset, offset + take);
        filled += take;
        offset = 0;
        if (filled === inHand) break;
      }
      buf = prefixScratch;
      start = 0;
    }
    try {
      codec.decode(reader.resetPartial(buf, start + headerLength, start + total, start + inHand), first & 0x0f, this.protocolVersion);
    } catch (e) {
      if (e === INCOMPLETE) return null;
      const error = e instanceof ProtocolError ? e : malformed(`undecodable packet: ${(e as Error).message}`);
      if (error.protocolVersion !== undefined) this.protocolVersion = error.protocolVersion;
      return this.fail(error);
    } finally {
      reader.buf = EMPTY;
    }
    return null;
  }

  /** Why a packet type has no codec here: reserved (0) [MQTT-2.1.3-1], or refused by a server decoder. */
  private refusal(type: number): ProtocolError {
    if (codecByCode[type] === undefined) return malformed(`reserved packet type ${type}`);
    if (type === 1) return protocolError('a second CONNECT [MQTT-3.1.0-2]');
    if (this.codecs === BEFORE_CONNECT) return protocolError(`packet type ${type} before CONNECT [MQTT-3.1.0-1]`);
    return protocolError(`packet type ${type} is sent by servers only`);
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
    this.checked = 0;
    this.chunks.length = 0;
    this.head = 0;
    this.buffered = 0;
    return error;
  }
}

function tooLarge(size: number, maximum: number, atLeast = ''): ProtocolError {
  return new ProtocolError(0x95, `packet of ${atLeast}${size} bytes exceeds the maximum packet size ${maximum}`);
}
