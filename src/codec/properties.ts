// One table of MQTT 5 properties (section 2.2.2.2): identifier, name, wire type, the packets that may
// carry it. Encoding, decoding and validation all read this table; the lookups are derived from it.
import { ProtocolError, malformed, protocolError } from './protocol-error';
import {
  MAX_VARIABLE_BYTE_INTEGER, Reader, binaryDataLength, utf8StringLength, variableByteIntegerLength,
  writeBinaryData, writeFourByteInteger, writeTwoByteInteger, writeUtf8String, writeVariableByteInteger,
} from './primitives';
import type { Properties, UserProperty } from './types';

export const WireType = {
  Byte: 0,
  TwoByteInteger: 1,
  FourByteInteger: 2,
  VariableByteInteger: 3,
  Utf8String: 4,
  BinaryData: 5,
  Utf8StringPair: 6,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** Bit per packet type code (1..15); bit 0 stands for the Will Properties of a CONNECT. */
export const WILL = 0;
const CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7, SUBSCRIBE = 8;
const SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, DISCONNECT = 14, AUTH = 15;
const on = (...codes: number[]): number => codes.reduce((m, c) => m | (1 << c), 0);

export interface PropertyDefinition {
  id: number;
  name: keyof Properties;
  type: WireType;
  /** Mask of packet type codes (and WILL) that may carry it. */
  packets: number;
  /** Mask of packets on which it may repeat; elsewhere a second one is a Protocol Error. */
  repeats?: number;
  min?: number;
  max?: number;
  /** Reason code for a value out of range, when not 0x82 Protocol Error. */
  invalid?: number;
}

const T = WireType;
const flag = { min: 0, max: 1 };
export const propertyTable: readonly PropertyDefinition[] = [
  { id: 0x01, name: 'payloadFormatIndicator', type: T.Byte, packets: on(PUBLISH, WILL), ...flag },
  { id: 0x02, name: 'messageExpiryInterval', type: T.FourByteInteger, packets: on(PUBLISH, WILL) },
  { id: 0x03, name: 'contentType', type: T.Utf8String, packets: on(PUBLISH, WILL) },
  { id: 0x08, name: 'responseTopic', type: T.Utf8String, packets: on(PUBLISH, WILL) },
  { id: 0x09, name: 'correlationData', type: T.BinaryData, packets: on(PUBLISH, WILL) },
  // One on SUBSCRIBE, one per matching subscription on PUBLISH [MQTT-3.3.4-3]; 0 is a Protocol Error.
  {
    id: 0x0b, name: 'subscriptionIdentifiers', type: T.VariableByteInteger, packets: on(PUBLISH, SUBSCRIBE),
    repeats: on(PUBLISH), min: 1, max: MAX_VARIABLE_BYTE_INTEGER,
  },
  { id: 0x11, name: 'sessionExpiryInterval', type: T.FourByteInteger, packets: on(CONNECT, CONNACK, DISCONNECT) },
  { id: 0x12, name: 'assignedClientIdentifier', type: T.Utf8String, packets: on(CONNACK) },
  { id: 0x13, name: 'serverKeepAlive', type: T.TwoByteInteger, packets: on(CONNACK) },
  { id: 0x15, name: 'authenticationMethod', type: T.Utf8String, packets: on(CONNECT, CONNACK, AUTH) },
  { id: 0x16, name: 'authenticationData', type: T.BinaryData, packets: on(CONNECT, CONNACK, AUTH) },
  { id: 0x17, name: 'requestProblemInformation', type: T.Byte, packets: on(CONNECT), ...flag },
  { id: 0x18, name: 'willDelayInterval', type: T.FourByteInteger, packets: on(WILL) },
  { id: 0x19, name: 'requestResponseInformation', type: T.Byte, packets: on(CONNECT), ...flag },
  { id: 0x1a, name: 'responseInformation', type: T.Utf8String, packets: on(CONNACK) },
  { id: 0x1c, name: 'serverReference', type: T.Utf8String, packets: on(CONNACK, DISCONNECT) },
  {
    id: 0x1f, name: 'reasonString', type: T.Utf8String,
    packets: on(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH),
  },
  { id: 0x21, name: 'receiveMaximum', type: T.TwoByteInteger, packets: on(CONNECT, CONNACK), min: 1 },
  { id: 0x22, name: 'topicAliasMaximum', type: T.TwoByteInteger, packets: on(CONNECT, CONNACK) },
  // 0 is refused with 0x94 Topic Alias Invalid [MQTT-3.3.2-8] (section 3.3.2.3.4).
  { id: 0x23, name: 'topicAlias', type: T.TwoByteInteger, packets: on(PUBLISH), min: 1, invalid: 0x94 },
  { id: 0x24, name: 'maximumQoS', type: T.Byte, packets: on(CONNACK), ...flag },
  { id: 0x25, name: 'retainAvailable', type: T.Byte, packets: on(CONNACK), ...flag },
  {
    id: 0x26, name: 'userProperties', type: T.Utf8StringPair,
    packets: on(CONNECT, CONNACK, PUBLISH, WILL, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE,
      UNSUBACK, DISCONNECT, AUTH),
    repeats: ~0, // a User Property may appear many times, also with the same name (section 3.1.2.11.8)
  },
  { id: 0x27, name: 'maximumPacketSize', type: T.FourByteInteger, packets: on(CONNECT, CONNACK), min: 1 },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: T.Byte, packets: on(CONNACK), ...flag },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', type: T.Byte, packets: on(CONNACK), ...flag },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: T.Byte, packets: on(CONNACK), ...flag },
];

/** Derived lookups: by identifier (dense array) and by name. */
export const propertyById: readonly (PropertyDefinition | undefined)[] = (() => {
  const a: (PropertyDefinition | undefined)[] = new Array(0x80).fill(undefined);
  for (const d of propertyTable) a[d.id] = d;
  return a;
})();
export const propertyByName: ReadonlyMap<string, PropertyDefinition> = new Map(propertyTable.map((d) => [d.name, d]));

const typeNames = ['', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK',
  'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];
const packetName = (code: number): string => (code === WILL ? 'Will Properties' : typeNames[code]);

function checkNumber(d: PropertyDefinition, v: unknown, limit: number): number {
  const min = d.min ?? 0;
  const max = d.max ?? limit;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`property ${d.name} must be an integer ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function valueLength(d: PropertyDefinition, v: unknown): number {
  switch (d.type) {
    case T.Byte:
      checkNumber(d, v, 0xff);
      return 1;
    case T.TwoByteInteger:
      checkNumber(d, v, 0xffff);
      return 2;
    case T.FourByteInteger:
      checkNumber(d, v, 0xffff_ffff);
      return 4;
    case T.VariableByteInteger:
      return variableByteIntegerLength(checkNumber(d, v, MAX_VARIABLE_BYTE_INTEGER));
    case T.Utf8String:
      return utf8StringLength(v as string, `property ${d.name}`);
    case T.BinaryData:
      return binaryDataLength(v as Buffer, `property ${d.name}`);
    default: {
      const pair = v as UserProperty;
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`property ${d.name}: [name, value] pairs`);
      return utf8StringLength(pair[0], 'user property name') + utf8StringLength(pair[1], 'user property value');
    }
  }
}

/**
 * Size of the encoded property block without its length prefix. Validates every value so that
 * `writeProperties` cannot fail halfway; a property that the packet may not carry is a TypeError.
 */
export function propertiesLength(props: Properties | undefined, packetCode: number): number {
  if (props === undefined) return 0;
  let len = 0;
  for (const name in props) {
    const value = props[name as keyof Properties];
    if (value === undefined) continue;
    const d = propertyByName.get(name);
    if (d === undefined) throw new TypeError(`unknown property ${name}`);
    if ((d.packets & (1 << packetCode)) === 0) throw new TypeError(`property ${name} is not allowed on ${packetName(packetCode)}`);
    if (Array.isArray(value) && d.type !== T.Utf8StringPair && d.type !== T.VariableByteInteger) {
      throw new TypeError(`property ${name} takes one value`);
    }
    if (d.type === T.Utf8StringPair || d.type === T.VariableByteInteger) {
      if (!Array.isArray(value)) throw new TypeError(`property ${name} must be an array`);
      if (value.length > 1 && (d.repeats === undefined || (d.repeats & (1 << packetCode)) === 0)) {
        throw new TypeError(`property ${name} may appear only once on ${packetName(packetCode)}`);
      }
      for (const item of value) len += 1 + valueLength(d, item);
    } else {
      len += 1 + valueLength(d, value);
    }
  }
  return len;
}

function writeValue(buf: Buffer, pos: number, d: PropertyDefinition, v: unknown): number {
  buf[pos++] = d.id;
  switch (d.type) {
    case T.Byte:
      buf[pos] = v as number;
      return pos + 1;
    case T.TwoByteInteger:
      return writeTwoByteInteger(buf, pos, v as number);
    case T.FourByteInteger:
      return writeFourByteInteger(buf, pos, v as number);
    case T.VariableByteInteger:
      return writeVariableByteInteger(buf, pos, v as number);
    case T.Utf8String:
      return writeUtf8String(buf, pos, v as string);
    case T.BinaryData:
      return writeBinaryData(buf, pos, v as Buffer);
    default: {
      const pair = v as UserProperty;
      return writeUtf8String(buf, writeUtf8String(buf, pos, pair[0]), pair[1]);
    }
  }
}

/** Writes the property block (without length prefix); `propertiesLength` must have validated it. */
export function writeProperties(buf: Buffer, pos: number, props: Properties | undefined): number {
  if (props === undefined) return pos;
  for (const name in props) {
    const value = props[name as keyof Properties];
    if (value === undefined) continue;
    const d = propertyByName.get(name) as PropertyDefinition;
    if (d.type === T.Utf8StringPair || d.type === T.VariableByteInteger) {
      for (const item of value as unknown[]) pos = writeValue(buf, pos, d, item);
    } else {
      pos = writeValue(buf, pos, d, value);
    }
  }
  return pos;
}

/** Property Length prefix plus block. */
export function writePropertiesWithLength(buf: Buffer, pos: number, props: Properties | undefined, len: number): number {
  pos = writeVariableByteInteger(buf, pos, len);
  return writeProperties(buf, pos, props);
}

/**
 * Reads a Property Length and the properties after it. An unknown identifier or one the packet may not
 * carry makes the packet malformed (section 2.2.2.2); a second copy of a single-valued property or a value
 * out of its range is a Protocol Error. Returns undefined for an empty block.
 */
export function readProperties(r: Reader, packetCode: number): Properties | undefined {
  const len = r.variableByteInteger('property length');
  if (len === 0) return undefined;
  if (len > r.remaining) throw malformed(`property length ${len} runs past the end of the packet`);
  const end = r.pos + len;
  const outerEnd = r.end;
  const outerLimit = r.limit;
  r.end = end; // a property value may not run past the block
  if (outerLimit > end) r.limit = end;
  const props: Record<string, unknown> = {};
  let seenLow = 0; // identifiers 0..31
  let seenHigh = 0; // identifiers 32..63
  try {
    while (r.pos < end) {
      const id = r.variableByteInteger('property identifier');
      const d = id < 0x80 ? propertyById[id] : undefined;
      if (d === undefined) throw malformed(`unknown property identifier 0x${id.toString(16)}`);
      if ((d.packets & (1 << packetCode)) === 0) {
        throw malformed(`property ${d.name} (0x${id.toString(16)}) is not allowed on ${packetName(packetCode)}`);
      }
      const bit = 1 << (id & 31);
      const repeated = id < 32 ? (seenLow & bit) !== 0 : (seenHigh & bit) !== 0;
      if (repeated && (d.repeats === undefined || (d.repeats & (1 << packetCode)) === 0)) {
        throw protocolError(`property ${d.name} appears more than once on ${packetName(packetCode)}`);
      }
      if (id < 32) seenLow |= bit;
      else seenHigh |= bit;
      let value: number | string | Buffer | UserProperty;
      switch (d.type) {
        case T.Byte:
          value = r.byte(d.name);
          break;
        case T.TwoByteInteger:
          value = r.twoByteInteger(d.name);
          break;
        case T.FourByteInteger:
          value = r.fourByteInteger(d.name);
          break;
        case T.VariableByteInteger:
          value = r.variableByteInteger(d.name);
          break;
        case T.Utf8String:
          value = r.utf8String(d.name);
          break;
        case T.BinaryData:
          value = r.binaryData(d.name);
          break;
        default:
          value = [r.utf8String('user property name'), r.utf8String('user property value')];
      }
      if (typeof value === 'number' && ((d.min !== undefined && value < d.min) || (d.max !== undefined && value > d.max))) {
        const message = `property ${d.name} has the invalid value ${value}`;
        throw d.invalid === undefined ? protocolError(message) : new ProtocolError(d.invalid, message);
      }
      if (d.type === T.Utf8StringPair || d.type === T.VariableByteInteger) {
        const list = props[d.name] as unknown[] | undefined;
        if (list === undefined) props[d.name] = [value];
        else list.push(value);
      } else {
        props[d.name] = value;
      }
    }
  } finally {
    r.end = outerEnd;
    r.limit = outerLimit;
  }
  return props as Properties;
}
