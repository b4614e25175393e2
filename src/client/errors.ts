// One error type for everything the client reports: callers branch on `code` (and `reasonCode`),
// never on message text.

/** What went wrong, in a word the caller can switch on. */
export type MqttErrorCode =
  /** CONNACK with a failure code (3.1.1 return code 1..5, 5.0 reason code >= 0x80). */
  | 'CONNACK_REFUSED'
  /** No CONNACK within `connectTimeout`. */
  | 'CONNECT_TIMEOUT'
  /** No PINGRESP within `pingTimeout`: the link is taken for dead. */
  | 'KEEPALIVE_TIMEOUT'
  /** The transport failed (refused, reset, TLS verification, WebSocket upgrade). */
  | 'TRANSPORT_ERROR'
  /** The server closed the connection (with or without DISCONNECT). */
  | 'CONNECTION_LOST'
  /** The server sent DISCONNECT with a reason code >= 0x80. */
  | 'SERVER_DISCONNECT'
  /** PUBACK/PUBREC/PUBCOMP with a reason code >= 0x80. */
  | 'PUBLISH_REJECTED'
  /** UNSUBACK with a reason code >= 0x80 for some filter (SUBACK failures are per filter in the result). */
  | 'UNSUBSCRIBE_REJECTED'
  /** An acknowledgement for a packet id that is not in flight. */
  | 'UNKNOWN_ACK'
  /** The server broke the protocol (malformed packet, bad topic alias, receive maximum exceeded). */
  | 'PROTOCOL_ERROR'
  /** A packet larger than the server's Maximum Packet Size. */
  | 'PACKET_TOO_LARGE'
  /** The offline queue is full (`queueLimit`). */
  | 'QUEUE_FULL'
  /** Bad arguments: topic, filter, QoS, options. */
  | 'INVALID_ARGUMENT'
  /** The client was ended before the operation completed. */
  | 'CLIENT_ENDED'
  /** The session the operation belonged to was lost (no reconnect, or the server dropped the session). */
  | 'SESSION_LOST'
  /** The enhanced-authentication hook failed or the server sent AUTH without a hook. */
  | 'AUTH_FAILED';

export class MqttError extends Error {
  override readonly name = 'MqttError';
  readonly code: MqttErrorCode;
  /** MQTT 5 reason code or 3.1.1 CONNACK return code, when the error comes from the server. */
  readonly reasonCode?: number;

  constructor(code: MqttErrorCode, message: string, reasonCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    if (reasonCode !== undefined) this.reasonCode = reasonCode;
  }
}

/** Readable text for the reason codes the client reports (MQTT 5.0 section 2.4, table 2-6). */
const reasonText: Record<number, string> = {
  0x04: 'Disconnect with Will Message',
  0x10: 'No matching subscribers',
  0x11: 'No subscription existed',
  0x18: 'Continue authentication',
  0x19: 'Re-authenticate',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep Alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x91: 'Packet Identifier in use',
  0x92: 'Packet Identifier not found',
  0x93: 'Receive Maximum exceeded',
  0x94: 'Topic Alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared Subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
};

/** 3.1.1 CONNACK return codes 1..5 (section 3.2.2.3). */
const connackReturnText: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export function describeReason(code: number, protocolVersion: number, isConnack = false): string {
  const text = isConnack && protocolVersion < 5 ? connackReturnText[code] : reasonText[code];
  return `${text ?? 'reason'} (0x${code.toString(16).padStart(2, '0')})`;
}
