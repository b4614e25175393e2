import type { ProtocolVersion } from './types';

/**
 * A packet the codec refuses, with the MQTT 5 reason code to answer it with (0x81 Malformed Packet,
 * 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x90 Topic Name Invalid, 0x95 Packet Too Large,
 * 0x99 Payload Format Invalid). Under 3.1.1 the reason code tells the broker which CONNACK return code
 * fits (0x84 → 1) or simply that the connection must close.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /**
   * Set when a CONNECT failed after its protocol level was read, so the receiver can answer in the
   * client's own protocol version (e.g. CONNACK 0x81 in the 5.0 format).
   */
  protocolVersion?: ProtocolVersion;

  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** 0x81 Malformed Packet. */
export function malformed(message: string): ProtocolError {
  return new ProtocolError(0x81, message);
}

/** 0x82 Protocol Error. */
export function protocolError(message: string): ProtocolError {
  return new ProtocolError(0x82, message);
}
