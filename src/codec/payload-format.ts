// Payload Format Indicator 1 promises UTF-8; the receiver MAY check it and answer 0x99 (section 3.3.2.3.2).
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from './protocol-error';
import type { ConnectPacket, PublishPacket } from './types';

/**
 * Checks a PUBLISH payload (or a CONNECT's will payload) against its Payload Format Indicator.
 * Returns a ProtocolError with 0x99 Payload Format Invalid when the indicator says UTF-8 and the
 * payload is not well-formed UTF-8, else null. The decoder does not call it: whether to check is the
 * receiver's choice, and the answer differs (PUBACK/PUBREC 0x99 at QoS > 0, DISCONNECT at QoS 0).
 */
export function validatePayloadFormat(packet: PublishPacket | ConnectPacket): ProtocolError | null {
  const target = packet.type === 'publish' ? packet : packet.will;
  if (target === undefined || target.properties?.payloadFormatIndicator !== 1) return null;
  if (isUtf8(target.payload)) return null;
  return new ProtocolError(0x99, 'payload is not UTF-8 although its payload format indicator says so (section 3.3.2.3.2)');
}
