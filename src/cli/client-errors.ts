// Errors and the wording of failures for `mqtt-hub pub` and `mqtt-hub sub`, worded as
// mosquitto_pub and mosquitto_sub word them so scripts and users recognise them.

/** A bad command line: printed as "Error: <message>", then a hint or the usage; exit code 1. */
export class ArgsError extends Error {
  override readonly name = 'ArgsError';
  constructor(
    message: string,
    /** Print the whole usage after the message (mosquitto does for a missing topic or message). */
    readonly showUsage = false,
  ) {
    super(message);
  }
}

/** Exit code of mosquitto_sub when -W runs out. */
export const EXIT_TIMED_OUT = 27;

/** 3.1 / 3.1.1 CONNACK return codes, as libmosquitto's mosquitto_connack_string() words them. */
const connackText: Record<number, string> = {
  1: 'Connection Refused: unacceptable protocol version.',
  2: 'Connection Refused: identifier rejected.',
  3: 'Connection Refused: broker unavailable.',
  4: 'Connection Refused: bad user name or password.',
  5: 'Connection Refused: not authorised.',
};

/** MQTT 5 reason codes (section 2.4), as libmosquitto's mosquitto_reason_string() words them. */
const reasonText: Record<number, string> = {
  0x00: 'Success',
  0x01: 'Granted QoS 1',
  0x02: 'Granted QoS 2',
  0x04: 'Disconnect with Will Message',
  0x10: 'No matching subscribers',
  0x11: 'No subscription existed',
  0x18: 'Continue authentication',
  0x19: 'Re-authenticate',
  0x80: 'Unspecified error',
  0x81: 'Malformed packet',
  0x82: 'Protocol error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported protocol version',
  0x85: 'Client ID not valid',
  0x86: 'Bad username or password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic filter invalid',
  0x90: 'Topic name invalid',
  0x91: 'Packet ID in use',
  0x92: 'Packet ID not found',
  0x93: 'Receive maximum exceeded',
  0x94: 'Topic alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription identifiers not supported',
  0xa2: 'Wildcard subscriptions not supported',
};

export function reasonString(code: number): string {
  return reasonText[code] ?? `Unknown reason code ${code}`;
}

/** The text after "Connection error: " for a refused CONNACK. */
export function connackString(code: number, protocolVersion: number): string {
  if (protocolVersion < 5) return connackText[code] ?? `Connection Refused: unknown reason (${code}).`;
  return reasonString(code);
}

/** strerror()-like text for the socket errors a user meets, as mosquitto prints them. */
export function transportErrorText(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'Connection refused',
    ECONNRESET: 'Connection reset by peer',
    ETIMEDOUT: 'Connection timed out',
    EHOSTUNREACH: 'No route to host',
    ENETUNREACH: 'Network is unreachable',
    EADDRNOTAVAIL: 'Cannot assign requested address',
    EPIPE: 'Broken pipe',
  };
  return (code && known[code]) || err.message;
}
