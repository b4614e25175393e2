// Checks that several packet modules share.
import { malformed, protocolError } from '../protocol-error';
import type { Reader } from '../primitives';
import { allowedReasonCodes } from '../reason-codes';

/**
 * Fixed-header flags other than PUBLISH's are fixed values [MQTT-2.2.2-1], [MQTT-2.2.2-2]. MQTT 3.1
 * (level 3) set DUP on a PUBREL, SUBSCRIBE or UNSUBSCRIBE sent again (its section 2.1: QoS 1 packets):
 * 0b1010 where the later versions have 0b0010.
 */
export function expectFlags(flags: number, expected: number, name: string, version?: number): void {
  if (flags !== expected && !(version === 3 && expected === 0b0010 && flags === 0b1010)) {
    throw malformed(`${name} fixed header flags must be 0b${expected.toString(2).padStart(4, '0')} [MQTT-2.2.2-2]`);
  }
}

/** A Packet Identifier where one is required is non-zero [MQTT-2.3.1-1], 5.0 [MQTT-2.2.1-3]. */
export function readPacketId(r: Reader): number {
  const id = r.twoByteInteger('packet identifier');
  if (id === 0) throw protocolError('packet identifier 0 [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3])');
  return id;
}

/** The body must end exactly where the Remaining Length says. */
export function expectEnd(r: Reader, name: string): void {
  if (r.pos !== r.end) throw malformed(`${name} has ${r.end - r.pos} bytes more than its fields`);
}

/** 5.0 reason codes outside the packet's table are a Protocol Error. */
export function readReasonCode(r: Reader, type: string): number {
  const code = r.byte('reason code');
  if (!allowedReasonCodes[type].has(code)) {
    throw protocolError(`reason code 0x${code.toString(16)} is not valid on ${type.toUpperCase()}`);
  }
  return code;
}

export function checkReasonCode(code: unknown, type: string): number {
  if (typeof code !== 'number' || !allowedReasonCodes[type].has(code)) {
    throw new TypeError(`reason code ${String(code)} is not valid on ${type.toUpperCase()}`);
  }
  return code;
}
