// Encoding: size the packet first (which validates it), then write it into one Buffer.
import { codecByType } from './packet-table';
import { MAX_VARIABLE_BYTE_INTEGER, variableByteIntegerLength, writeVariableByteInteger } from './primitives';
import type { PacketCodec } from './packets/packet-codec';
import { encodePublish } from './packets/publish';
import type { Packet, ProtocolVersion } from './types';

function codecOf(packet: Packet): PacketCodec {
  const codec = codecByType[packet.type];
  if (codec === undefined) throw new TypeError(`unknown packet type ${String(packet.type)}`);
  return codec;
}

function checkVersion(v: ProtocolVersion): void {
  if (v !== 3 && v !== 4 && v !== 5) throw new TypeError(`protocol version ${String(v)} is not 3, 4 or 5`);
}

/** Whole encoded size, fixed header included. Throws TypeError for a packet it would not encode. */
export function encodedLength(packet: Packet, protocolVersion: ProtocolVersion): number {
  checkVersion(protocolVersion);
  const remaining = codecOf(packet).remainingLength(packet, protocolVersion);
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) throw new TypeError(`packet of ${remaining} bytes is too large for MQTT`);
  return 1 + variableByteIntegerLength(remaining) + remaining;
}

/**
 * Encodes one packet into a Buffer of exactly its size. Throws TypeError rather than emitting a packet
 * a peer would have to reject (missing packet identifier at QoS > 0, property on the wrong packet, ...).
 */
export function encode(packet: Packet, protocolVersion: ProtocolVersion): Buffer {
  checkVersion(protocolVersion);
  if (packet.type === 'publish') return encodePublish(packet, protocolVersion);
  const codec = codecOf(packet);
  const remaining = codec.remainingLength(packet, protocolVersion);
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) throw new TypeError(`packet of ${remaining} bytes is too large for MQTT`);
  const buf = Buffer.allocUnsafe(1 + variableByteIntegerLength(remaining) + remaining);
  buf[0] = codec.firstByte(packet);
  const pos = remaining < 128 ? ((buf[1] = remaining), 2) : writeVariableByteInteger(buf, 1, remaining);
  const end = codec.write(packet, protocolVersion, buf, pos);
  if (end !== buf.length) throw new Error(`internal: ${packet.type} wrote ${end} of ${buf.length} bytes`);
  return buf;
}
