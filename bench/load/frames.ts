// Minimal MQTT frame scanning for the load generator. It reads only the fixed header (type, flags,
// Remaining Length) and the few fields a scenario needs, so the generator spends its core on moving
// bytes and not on building packet objects. Packets are encoded with mqtt-packet, never our codec.
import { generate } from 'mqtt-packet';
import type { QoS } from 'mqtt-packet';

export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBACK = 9;

/**
 * Called once per complete frame: `firstByte` is the fixed header's first byte (type << 4 | flags),
 * the variable header and payload are `buf[bodyStart, bodyEnd)`. Valid only during the call.
 */
export type FrameHandler = (firstByte: number, buf: Buffer, bodyStart: number, bodyEnd: number) => void;

export class FrameScanner {
  private rest: Buffer | null = null;

  constructor(private readonly onFrame: FrameHandler) {}

  /** Feeds bytes; calls the handler for every frame completed. Throws on a malformed Remaining Length. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const end = buf.length;
    let pos = 0;
    while (end - pos >= 2) {
      let length = 0;
      let multiplier = 1;
      let i = pos + 1;
      let complete = false;
      while (i < end && i <= pos + 4) {
        const byte = buf[i++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (byte < 0x80) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i > pos + 4) throw new Error('malformed Remaining Length');
        break;
      }
      if (i + length > end) break;
      this.onFrame(buf[pos], buf, i, i + length);
      pos = i + length;
    }
    if (pos < end) this.rest = buf.subarray(pos);
  }
}

/** Offset of the packet identifier in a PUBLISH body (QoS > 0), just after the Topic Name. */
export function publishPacketIdOffset(buf: Buffer, bodyStart: number): number {
  return bodyStart + 2 + buf.readUInt16BE(bodyStart);
}

/** A QoS 1/2 acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) for `packetId`, written at `offset`. */
export function writeAck(target: Buffer, offset: number, type: number, packetId: number): void {
  // PUBREL carries the reserved flags 0b0010 [MQTT-3.6.1-1].
  target[offset] = (type << 4) | (type === PUBREL ? 0x02 : 0);
  target[offset + 1] = 2;
  target[offset + 2] = packetId >> 8;
  target[offset + 3] = packetId & 0xff;
}

/** Packs a list of (type, packetId) acknowledgements into one buffer, for one write per chunk read. */
export class AckBatch {
  private types: number[] = [];
  private ids: number[] = [];

  add(type: number, packetId: number): void {
    this.types.push(type);
    this.ids.push(packetId);
  }

  /** The batch as one buffer, or null when empty; the batch is empty afterwards. */
  take(): Buffer | null {
    const n = this.types.length;
    if (n === 0) return null;
    const out = Buffer.allocUnsafe(n * 4);
    for (let k = 0; k < n; k++) writeAck(out, k * 4, this.types[k], this.ids[k]);
    this.types.length = 0;
    this.ids.length = 0;
    return out;
  }
}

/**
 * A PUBLISH encoded once by mqtt-packet, copied and patched per message: the packet identifier
 * (QoS > 0) and, optionally, 8 bytes at the start of the payload (a send timestamp).
 */
export class PublishTemplate {
  readonly bytes: Buffer;
  /** Offset of the packet identifier, or -1 at QoS 0. */
  readonly packetIdOffset: number;
  readonly payloadOffset: number;

  constructor(topic: string, payload: Buffer, qos: QoS, retain = false) {
    this.bytes = generate({ cmd: 'publish', topic, payload, qos, dup: false, retain, messageId: qos > 0 ? 1 : undefined });
    let i = 1;
    while (this.bytes[i] & 0x80) i++;
    const bodyStart = i + 1;
    const afterTopic = bodyStart + 2 + this.bytes.readUInt16BE(bodyStart);
    this.packetIdOffset = qos > 0 ? afterTopic : -1;
    this.payloadOffset = qos > 0 ? afterTopic + 2 : afterTopic;
  }

  /** `count` copies back to back in one buffer (QoS 0 batches). */
  repeat(count: number): Buffer {
    const out = Buffer.allocUnsafe(this.bytes.length * count);
    for (let k = 0; k < count; k++) this.bytes.copy(out, k * this.bytes.length);
    return out;
  }

  /** Writes one copy at `offset` of `target` with the given packet identifier (QoS > 0). */
  writeTo(target: Buffer, offset: number, packetId: number): void {
    this.bytes.copy(target, offset);
    if (this.packetIdOffset >= 0) target.writeUInt16BE(packetId, offset + this.packetIdOffset);
  }
}
