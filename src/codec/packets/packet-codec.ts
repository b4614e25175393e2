import type { Reader } from '../primitives';
import type { Packet, ProtocolVersion } from '../types';

/**
 * What each packet module knows about its own packet type. `remainingLength` validates the packet
 * completely, so `write` (into a Buffer sized from it) cannot fail halfway. `decode` reads the body
 * the fixed header announced and throws ProtocolError for anything malformed; the decoder turns
 * that into a returned value.
 */
export interface PacketCodec<P extends Packet = Packet> {
  readonly code: number;
  firstByte(packet: P): number;
  remainingLength(packet: P, version: ProtocolVersion): number;
  write(packet: P, version: ProtocolVersion, buf: Buffer, pos: number): number;
  decode(r: Reader, flags: number, version: ProtocolVersion): P;
}
