// Byte-exact packet vectors, most from the examples in the MQTT 3.1.1 and 5.0 specifications,
// annotated by field. Each drives a decode, an encode and a round trip.
import type { Packet, ProtocolVersion } from '../../../src/codec';
import { ascii, hex } from './hex';

export interface PacketVector {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  hex: string;
  /** A form we read but do not write. */
  decodeOnly?: boolean;
}

const b = (s: string): Buffer => Buffer.from(s);

export const packetVectors: PacketVector[] = [
  {
    // 3.1.1 section 3.1.2.10, Figure 3.6: the variable header example (flags 0xCE, keep alive 10).
    name: '3.1.1 CONNECT as in the specification example, with will, user name and password',
    version: 4,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 10, clientId: 'client',
      will: { topic: 'w/t', payload: b('bye'), qos: 1, retain: false }, username: 'user', password: b('pass'),
    },
    hex: hex(
      '10', // CONNECT, flags 0
      '28', // remaining length 40
      '0004 4d515454', // protocol name "MQTT"
      '04', // protocol level 4
      'ce', // user name, password, will QoS 1, will flag, clean session
      '000a', // keep alive 10 s
      '0006' + ascii('client'), // client identifier
      '0003' + ascii('w/t'), // will topic
      '0003' + ascii('bye'), // will payload
      '0004' + ascii('user'), // user name
      '0004' + ascii('pass'), // password
    ),
  },
  {
    // 5.0 section 3.1.2.12, Figure 3-7: the same flags, with Session Expiry Interval 10 as property.
    name: '5.0 CONNECT as in the specification example, with session expiry 10',
    version: 5,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 10, clientId: 'client',
      properties: { sessionExpiryInterval: 10 },
      will: { topic: 'w/t', payload: b('bye'), qos: 1, retain: false }, username: 'user', password: b('pass'),
    },
    hex: hex(
      '10 2f', // CONNECT, remaining length 47
      '0004 4d515454 05', // "MQTT", level 5
      'ce 000a', // flags, keep alive 10
      '05 11 0000000a', // property length 5: session expiry interval 10
      '0006' + ascii('client'),
      '00', // will property length 0
      '0003' + ascii('w/t'),
      '0003' + ascii('bye'),
      '0004' + ascii('user'),
      '0004' + ascii('pass'),
    ),
  },
  {
    name: '3.1 CONNECT: protocol name MQIsdp, level 3',
    version: 3,
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 60, clientId: 'mosq-1' },
    hex: hex('10 14', '0006' + ascii('MQIsdp'), '03', '02', '003c', '0006' + ascii('mosq-1')),
  },
  {
    name: '3.1.1 CONNECT from a bridge: level byte 0x84',
    version: 4,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, bridge: true, clean: true, keepalive: 60, clientId: 'b',
    },
    hex: hex('10 0d', '0004 4d515454', '84 // level 4 | bridge bit 0x80', '02', '003c', '0001 62'),
  },
  {
    name: '3.1.1 CONNACK: session present, accepted',
    version: 4,
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
    hex: hex('20 02', '01 // session present', '00 // connection accepted'),
  },
  {
    name: '3.1.1 CONNACK: bad user name or password',
    version: 4,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 4 },
    hex: hex('20 02 00', '04 // bad user name or password'),
  },
  {
    name: '5.0 CONNACK with topic alias maximum and a user property',
    version: 5,
    packet: {
      type: 'connack', sessionPresent: false, reasonCode: 0,
      properties: { topicAliasMaximum: 10, userProperties: [['k', 'v']] },
    },
    hex: hex('20 0d', '00 00', '0a // property length 10', '22 000a // topic alias maximum 10', '26 0001 6b 0001 76 // user property k=v'),
  },
  {
    // 3.1.1 section 3.3.2.3, Figure 3.11: topic "a/b", packet identifier 10.
    name: '3.1.1 PUBLISH QoS 1 as in the specification example',
    version: 4,
    packet: { type: 'publish', topic: 'a/b', payload: b('hi'), qos: 1, retain: false, dup: false, packetId: 10 },
    hex: hex('32 // PUBLISH QoS 1', '09', '0003 612f62 // "a/b"', '000a // packet identifier 10', '6869 // payload'),
  },
  {
    // 3.1.1 section 1.5.3, Figure 1.3: "A" followed by U+2A6D4 (a four-byte UTF-8 sequence).
    name: '3.1.1 PUBLISH with the UTF-8 example string of the specification as topic',
    version: 4,
    packet: { type: 'publish', topic: 'A\u{2A6D4}', payload: Buffer.alloc(0), qos: 0, retain: true, dup: false },
    hex: hex('31 // PUBLISH QoS 0 retain', '07', '0005 41 f0aa9b94'),
  },
  {
    name: '5.0 PUBLISH QoS 0 without properties',
    version: 5,
    packet: { type: 'publish', topic: 'a/b', payload: b('hi'), qos: 0, retain: false, dup: false },
    hex: hex('30 08', '0003 612f62', '00 // property length 0', '6869'),
  },
  {
    name: '5.0 PUBLISH QoS 1 dup retain with topic alias and subscription identifier 128',
    version: 5,
    packet: {
      type: 'publish', topic: 'a/b', payload: b('x'), qos: 1, retain: true, dup: true, packetId: 2,
      properties: { topicAlias: 1, subscriptionIdentifiers: [128] },
    },
    hex: hex('3b // PUBLISH dup QoS 1 retain', '0f', '0003 612f62', '0002', '06', '23 0001 // topic alias 1', '0b 8001 // subscription identifier 128', '78'),
  },
  {
    name: '3.1.1 PUBACK',
    version: 4,
    packet: { type: 'puback', packetId: 10 },
    hex: hex('40 02 000a'),
  },
  {
    name: '5.0 PUBACK with reason code and no properties',
    version: 5,
    packet: { type: 'puback', packetId: 10, reasonCode: 0x10 },
    hex: hex('40 03 000a', '10 // no matching subscribers'),
  },
  {
    name: '5.0 PUBREC with reason string',
    version: 5,
    packet: { type: 'pubrec', packetId: 10, reasonCode: 0x80, properties: { reasonString: 'no' } },
    hex: hex('50 09 000a', '80 // unspecified error', '05 1f 0002 6e6f // reason string "no"'),
  },
  {
    name: '3.1.1 PUBREL: flags 0b0010',
    version: 4,
    packet: { type: 'pubrel', packetId: 10 },
    hex: hex('62 02 000a'),
  },
  {
    name: '5.0 PUBCOMP, success left out',
    version: 5,
    packet: { type: 'pubcomp', packetId: 10 },
    hex: hex('70 02 000a'),
  },
  {
    // 3.1.1 section 3.8.3, Figure 3.22: "a/b" QoS 1, "c/d" QoS 2.
    name: '3.1.1 SUBSCRIBE as in the specification example',
    version: 4,
    packet: {
      type: 'subscribe', packetId: 10,
      subscriptions: [{ topicFilter: 'a/b', qos: 1 }, { topicFilter: 'c/d', qos: 2 }],
    },
    hex: hex('82 0e', '000a', '0003 612f62 01', '0003 632f64 02'),
  },
  {
    name: '5.0 SUBSCRIBE with subscription identifier and every option',
    version: 5,
    packet: {
      type: 'subscribe', packetId: 10, properties: { subscriptionIdentifiers: [5] },
      subscriptions: [{ topicFilter: 'a/b', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    },
    hex: hex('82 0b', '000a', '02 0b05 // subscription identifier 5', '0003 612f62', '2d // retain handling 2, RAP, no local, QoS 1'),
  },
  {
    // 3.1.1 section 3.9.3, Figure 3.26: granted QoS 0, granted QoS 2, failure.
    name: '3.1.1 SUBACK as in the specification example',
    version: 4,
    packet: { type: 'suback', packetId: 10, reasonCodes: [0, 2, 0x80] },
    hex: hex('90 05 000a', '00 02 80'),
  },
  {
    name: '5.0 SUBACK',
    version: 5,
    packet: { type: 'suback', packetId: 10, reasonCodes: [1, 0xa2] },
    hex: hex('90 05 000a', '00', '01 a2 // granted QoS 1, wildcard subscriptions not supported'),
  },
  {
    // 3.1.1 section 3.10.3, Figure 3.30: "a/b", "c/d".
    name: '3.1.1 UNSUBSCRIBE as in the specification example',
    version: 4,
    packet: { type: 'unsubscribe', packetId: 10, topicFilters: ['a/b', 'c/d'] },
    hex: hex('a2 0c 000a', '0003 612f62', '0003 632f64'),
  },
  {
    name: '3.1.1 UNSUBACK',
    version: 4,
    packet: { type: 'unsuback', packetId: 10 },
    hex: hex('b0 02 000a'),
  },
  {
    name: '5.0 UNSUBACK',
    version: 5,
    packet: { type: 'unsuback', packetId: 10, reasonCodes: [0x11] },
    hex: hex('b0 04 000a 00', '11 // no subscription existed'),
  },
  { name: 'PINGREQ', version: 4, packet: { type: 'pingreq' }, hex: 'c000' },
  { name: 'PINGRESP', version: 5, packet: { type: 'pingresp' }, hex: 'd000' },
  { name: '3.1.1 DISCONNECT', version: 4, packet: { type: 'disconnect' }, hex: 'e000' },
  {
    name: '5.0 DISCONNECT with reason code only',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0x8e },
    hex: hex('e0 01', '8e // session taken over'),
  },
  {
    name: '5.0 DISCONNECT with session expiry 0',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } },
    hex: hex('e0 07 00', '05 11 00000000'),
  },
  { name: '5.0 AUTH success, all left out (decoded; never encoded so)', version: 5, packet: { type: 'auth' }, hex: 'f000', decodeOnly: true },
  {
    name: '5.0 AUTH success, written in full for peers that need it',
    version: 5,
    packet: { type: 'auth', reasonCode: 0 },
    hex: hex('f0 02', '00 // success', '00 // property length'),
  },
  {
    name: '5.0 AUTH continue authentication',
    version: 5,
    packet: { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } },
    hex: hex('f0 06', '18 // continue authentication', '04 15 0001 6d // authentication method "m"'),
  },
];

/**
 * Variable Byte Integer examples of the specifications (3.1.1 Table 2.4, 5.0 Table 1-1): the smallest
 * and largest value of each length.
 */
export const variableByteIntegerVectors: { value: number; hex: string }[] = [
  { value: 0, hex: '00' },
  { value: 127, hex: '7f' },
  { value: 128, hex: '8001' },
  { value: 16_383, hex: 'ff7f' },
  { value: 16_384, hex: '808001' },
  { value: 2_097_151, hex: 'ffff7f' },
  { value: 2_097_152, hex: '80808001' },
  { value: 268_435_455, hex: 'ffffff7f' },
];
