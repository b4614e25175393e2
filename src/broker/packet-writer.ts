// The write side of a connection. What a tick writes is gathered and goes out at its end as a few
// large buffers: small packets copied together, a large payload as it is, the first ones as soon as
// WRITE_CHUNK bytes wait. Small PUBLISHes are encoded straight into a slab shared by all connections.
// A stream that sends each write as one message (a WebSocket: one binary frame per write) gets one
// write per packet instead, still once per tick.
import type { Duplex } from 'node:stream';
import { writePublishAt } from '../codec/publish-encoding';
import type { ProtocolVersion, PublishPacket } from '../codec/types';
import type { BrokerStats } from './stats';
import { WebSocketStream } from './websocket-stream';

/** Payloads up to this size are copied into one Buffer with their header; larger ones are written apart. */
export const COPY_PAYLOAD_LIMIT = 4096;

/**
 * The packets of one tick are copied into buffers of up to this size, one socket write each: a
 * writev entry per small packet costs more than copying it (fan-out, 10,000 retained messages).
 */
const WRITE_CHUNK = 64 * 1024;

/**
 * Small PUBLISHes are encoded straight into this buffer, shared by all connections; the ones a
 * connection writes one after another form one slice of it, so a burst costs no Buffer per packet.
 * A slice handed to the socket is never written again: a full slab is replaced, not reused.
 */
const SLAB_SIZE = 16 * 1024;
/** The largest packet that goes into the slab. */
export const SLAB_PACKET_LIMIT = 2048;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

export class PacketWriter {
  bytesOut = 0;
  /** Encoded packets written in this tick, sent together by flush() at its end. */
  private outgoing: Buffer[] | null = null;
  /** Bytes of this tick's batch, the open slab slice included. */
  private outgoingBytes = 0;
  /** This tick's latest PUBLISHes encoded into the slab: slab[sliceStart, sliceEnd), not yet in `outgoing`. */
  private sliceSlab: Buffer | null = null;
  private sliceStart = 0;
  private sliceEnd = 0;
  /**
   * One packet per write, never two packets joined: each write of a WebSocket stream is one frame, and
   * clients that take a frame for a packet (Eclipse Paho C and JavaScript) misread a frame holding
   * several, which [MQTT-6.0.0-2] allows. TCP and TLS keep the gathering.
   */
  private readonly framed: boolean;

  constructor(
    readonly stream: Duplex,
    private readonly stats: BrokerStats,
  ) {
    this.framed = stream instanceof WebSocketStream;
  }

  /** Bytes written and not yet taken by the peer: in the socket's buffer or still in this tick's batch. */
  unsentBytes(): number {
    return this.stream.writableLength + this.outgoingBytes;
  }

  /** One whole encoded packet. */
  protected write(buf: Buffer): void {
    this.stats.messagesSent++;
    this.queue(buf);
  }

  /** One whole packet in two parts: a header and the large payload behind it, which is not copied on TCP. */
  protected writeInParts(head: Buffer, payload: Buffer): void {
    if (this.framed) {
      this.write(Buffer.concat([head, payload], head.length + payload.length));
      return;
    }
    this.write(head);
    this.queue(payload);
  }

  /** Bytes queued for writing: a whole packet, or more bytes of the packet written last. */
  private queue(buf: Buffer): void {
    if (this.outgoingBytes === 0) process.nextTick(flushWriter, this);
    this.closeSlice();
    this.append(buf);
    this.counted(buf.length);
  }

  /** A PUBLISH of `length` bytes (at most SLAB_PACKET_LIMIT), encoded into the slab. */
  protected writeSmallPublish(packet: PublishPacket, protocolVersion: ProtocolVersion, remaining: number, length: number): void {
    const at = this.slabRoom(length);
    writePublishAt(packet, protocolVersion, remaining, slab, at);
    this.counted(length);
  }

  /** An encoded packet of at most SLAB_PACKET_LIMIT bytes, copied into the slab. */
  protected writeSmallCopy(packet: Buffer): void {
    const at = this.slabRoom(packet.length);
    slab.set(packet, at);
    this.counted(packet.length);
  }

  /**
   * Sends what this tick wrote: small packets copied together into buffers of up to WRITE_CHUNK bytes,
   * a large payload as it is, in order.
   */
  flush(): void {
    this.closeSlice();
    const out = this.outgoing;
    if (out === null) return;
    this.outgoing = null; // an idle connection holds no batch
    this.outgoingBytes = 0;
    const stream = this.stream;
    if (out.length === 1) {
      stream.write(out[0]);
      return;
    }
    stream.cork();
    if (this.framed) {
      for (const packet of out) stream.write(packet);
      stream.uncork();
      return;
    }
    let start = 0;
    let size = 0;
    for (let i = 0; i < out.length; i++) {
      const length = out[i].length;
      if (length > COPY_PAYLOAD_LIMIT) {
        if (i > start) stream.write(joined(out, start, i, size));
        stream.write(out[i]);
        start = i + 1;
        size = 0;
        continue;
      }
      if (size + length > WRITE_CHUNK && i > start) {
        stream.write(joined(out, start, i, size));
        start = i;
        size = 0;
      }
      size += length;
    }
    if (start < out.length) stream.write(joined(out, start, out.length, size));
    stream.uncork();
  }

  private append(buf: Buffer): void {
    if (this.outgoing === null) this.outgoing = [buf];
    else this.outgoing.push(buf);
  }

  private counted(length: number): void {
    this.outgoingBytes += length;
    this.bytesOut += length;
    this.stats.bytesSent += length;
    // a long burst (retained messages, a queue drained) starts going out while the rest is encoded
    if (this.outgoingBytes >= WRITE_CHUNK) this.flush();
  }

  /**
   * Room for a small packet of `length` bytes in the slab, at the end of this writer's open slice when
   * it can be; returns where it goes in `slab`.
   */
  private slabRoom(length: number): number {
    if (this.outgoingBytes === 0) process.nextTick(flushWriter, this);
    if (SLAB_SIZE - slabUsed < length) {
      slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      slabUsed = 0;
    }
    // framed: every packet is a slice of its own, so every packet is a write of its own
    if (this.framed || this.sliceSlab !== slab || this.sliceEnd !== slabUsed) {
      this.closeSlice();
      this.sliceSlab = slab;
      this.sliceStart = slabUsed;
    }
    const at = slabUsed;
    slabUsed += length;
    this.sliceEnd = slabUsed;
    this.stats.messagesSent++;
    return at;
  }

  private closeSlice(): void {
    const s = this.sliceSlab;
    if (s === null) return;
    this.sliceSlab = null;
    this.append(s.subarray(this.sliceStart, this.sliceEnd));
  }
}

function flushWriter(writer: PacketWriter): void {
  writer.flush();
}

/** out[start..end) in one Buffer of `size` bytes. */
function joined(out: Buffer[], start: number, end: number, size: number): Buffer {
  if (end - start === 1) return out[start];
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = start; i < end; i++) pos += out[i].copy(buf, pos);
  return buf;
}
