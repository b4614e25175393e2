// Malformed inputs, one per form the specifications name, each with the reason code the decoder must
// give and the normative statement (or section) it enforces.
import type { ProtocolVersion } from '../../../src/codec';
import { ascii, hex } from './hex';

export interface ErrorVector {
  name: string;
  statement: string;
  version: ProtocolVersion;
  hex: string;
  reasonCode: number;
}

const MALFORMED = 0x81, PROTOCOL = 0x82, UNSUPPORTED = 0x84, TOPIC_NAME_INVALID = 0x90;
const mqtt = '0004 4d515454'; // protocol name "MQTT"

export const errorVectors: ErrorVector[] = [
  // Fixed header
  { name: 'CONNECT with a reserved fixed-header flag set', statement: '[MQTT-2.2.2-1] [MQTT-2.2.2-2]', version: 4,
    hex: hex('11 // CONNECT, flags 0001', '0c', mqtt, '04 02 003c 0000'), reasonCode: MALFORMED },
  { name: 'PUBREL with flags 0000', statement: '[MQTT-3.6.1-1]', version: 4, hex: '6002000a', reasonCode: MALFORMED },
  { name: 'SUBSCRIBE with flags 0000', statement: '[MQTT-3.8.1-1]', version: 4,
    hex: hex('80 06 000a 0001 61 00'), reasonCode: MALFORMED },
  { name: 'UNSUBSCRIBE with flags 0000', statement: '[MQTT-3.10.1-1]', version: 4,
    hex: hex('a0 05 000a 0001 61'), reasonCode: MALFORMED },
  { name: 'PINGREQ with flags 0001', statement: '[MQTT-2.2.2-2]', version: 4, hex: 'c100', reasonCode: MALFORMED },
  { name: 'PUBACK with flags 0010', statement: '[MQTT-2.2.2-2]', version: 5, hex: '4202000a', reasonCode: MALFORMED },
  { name: 'packet type 0', statement: '3.1.1 section 2.2.1 (reserved)', version: 4, hex: '0000', reasonCode: MALFORMED },
  { name: 'AUTH under 3.1.1', statement: '3.1.1 section 2.2.1 (type 15 reserved)', version: 4, hex: 'f000', reasonCode: MALFORMED },
  { name: 'remaining length of five bytes', statement: '3.1.1 section 2.2.3, 5.0 section 1.5.5', version: 4,
    hex: hex('30 ff ff ff ff 01'), reasonCode: MALFORMED },
  // Remaining length against content
  { name: '3.1.1 PUBACK with one byte too many', statement: '3.1.1 section 3.4.1 (remaining length 2)', version: 4,
    hex: '4003000a00', reasonCode: MALFORMED },
  { name: 'PUBACK shorter than a packet identifier', statement: '3.1.1 section 3.4.2', version: 4,
    hex: '400100', reasonCode: MALFORMED },
  { name: 'CONNECT with bytes after its last field', statement: '3.1.1 section 3.1', version: 4,
    hex: hex('10 0f', mqtt, '04 02 003c', '0001 61', 'ff ff // two bytes nobody asked for'), reasonCode: MALFORMED },
  { name: 'SUBSCRIBE whose topic filter runs past the end', statement: '3.1.1 section 1.5.3', version: 4,
    hex: hex('82 05 000a', '0005 61 // says 5 bytes, has 1'), reasonCode: MALFORMED },
  { name: 'PINGREQ with a body', statement: '3.1.1 section 3.12', version: 4, hex: 'c00100', reasonCode: MALFORMED },
  { name: '5.0 property length past the end of the packet', statement: '5.0 section 2.2.2.1', version: 5,
    hex: hex('30 08 0003 612f62', '09 // property length 9', '01 01'), reasonCode: MALFORMED },
  // UTF-8
  { name: 'ill-formed UTF-8 in a topic name', statement: '[MQTT-1.5.3-1]', version: 4,
    hex: hex('30 05', '0003 61 ff 62'), reasonCode: MALFORMED },
  { name: 'encoded surrogate U+D800 in a topic name', statement: '[MQTT-1.5.3-1]', version: 5,
    hex: hex('30 06', '0003 eda080', '00'), reasonCode: MALFORMED },
  { name: 'U+0000 in a topic name', statement: '[MQTT-1.5.3-2]', version: 4,
    hex: hex('30 05', '0003 61 00 62'), reasonCode: MALFORMED },
  { name: 'U+0000 in a client identifier', statement: '[MQTT-1.5.3-2]', version: 4,
    hex: hex('10 0e', mqtt, '04 02 003c', '0002 6100'), reasonCode: MALFORMED },
  { name: 'ill-formed UTF-8 in a user property', statement: '5.0 [MQTT-1.5.4-1] [MQTT-1.5.7-1]', version: 5,
    hex: hex('30 0d 0003 612f62', '07 26 0001 c3 0001 76 // name is a lone lead byte', ''), reasonCode: MALFORMED },
  // PUBLISH
  { name: 'PUBLISH with QoS 3', statement: '[MQTT-3.3.1-4]', version: 4, hex: hex('36 07 0003 612f62 000a'), reasonCode: MALFORMED },
  { name: 'PUBLISH QoS 1 with packet identifier 0', statement: '[MQTT-2.3.1-1] (5.0 [MQTT-2.2.1-3])', version: 4,
    hex: hex('32 07 0003 612f62 0000'), reasonCode: PROTOCOL },
  { name: 'PUBLISH topic name with a wildcard', statement: '[MQTT-3.3.2-2]', version: 5,
    hex: hex('30 06 0003 612f2b 00'), reasonCode: TOPIC_NAME_INVALID },
  { name: 'PUBLISH topic name with #', statement: '[MQTT-3.3.2-2]', version: 4,
    hex: hex('30 03 0001 23'), reasonCode: TOPIC_NAME_INVALID },
  { name: '5.0 PUBLISH with empty topic and no topic alias', statement: '5.0 section 3.3.2.1', version: 5,
    hex: hex('30 03 0000 00'), reasonCode: PROTOCOL },
  { name: '3.1.1 PUBLISH with empty topic', statement: '[MQTT-4.7.3-1]', version: 4, hex: hex('30 02 0000'), reasonCode: PROTOCOL },
  { name: '5.0 PUBLISH with topic alias 0', statement: '[MQTT-3.3.2-8]', version: 5,
    hex: hex('30 09 0003 612f62 03 230000'), reasonCode: PROTOCOL },
  // CONNECT
  { name: 'CONNECT reserved flag set', statement: '[MQTT-3.1.2-3]', version: 4,
    hex: hex('10 0d', mqtt, '04', '03 // clean + reserved', '003c 0001 61'), reasonCode: MALFORMED },
  { name: 'CONNECT will QoS without will flag', statement: '[MQTT-3.1.2-13] (5.0 [MQTT-3.1.2-11])', version: 4,
    hex: hex('10 0d', mqtt, '04', '0a // clean + will QoS 1, no will flag', '003c 0001 61'), reasonCode: MALFORMED },
  { name: 'CONNECT will retain without will flag', statement: '[MQTT-3.1.2-15] (5.0 [MQTT-3.1.2-13])', version: 5,
    hex: hex('10 0e', mqtt, '05', '22 // clean + will retain, no will flag', '003c 00 0001 61'), reasonCode: MALFORMED },
  { name: 'CONNECT will QoS 3', statement: '[MQTT-3.1.2-14] (5.0 [MQTT-3.1.2-12])', version: 4,
    hex: hex('10 13', mqtt, '04', '1e // clean, will flag, will QoS 3', '003c 0001 61', '0001 74 0001 70'), reasonCode: MALFORMED },
  { name: '3.1.1 CONNECT password flag without user name flag', statement: '[MQTT-3.1.2-22]', version: 4,
    hex: hex('10 10', mqtt, '04', '42 // password + clean', '003c 0001 61', '0001 70'), reasonCode: MALFORMED },
  { name: 'CONNECT with protocol name "MQTX"', statement: '[MQTT-3.1.2-1]', version: 4,
    hex: hex('10 0d', '0004 4d515458', '04 02 003c 0001 61'), reasonCode: UNSUPPORTED },
  { name: 'CONNECT with level 6', statement: '[MQTT-3.1.2-2]', version: 4,
    hex: hex('10 0d', mqtt, '06 02 003c 0001 61'), reasonCode: UNSUPPORTED },
  { name: 'CONNECT "MQTT" with level 3', statement: '[MQTT-3.1.2-1]', version: 4,
    hex: hex('10 0d', mqtt, '03 02 003c 0001 61'), reasonCode: UNSUPPORTED },
  { name: 'CONNECT "MQIsdp" with level 4', statement: '[MQTT-3.1.2-1]', version: 4,
    hex: hex('10 0f', '0006' + ascii('MQIsdp'), '04 02 003c 0001 61'), reasonCode: UNSUPPORTED },
  { name: 'CONNECT level 5 with the bridge bit (0x85)', statement: '[MQTT-3.1.2-2]', version: 4,
    hex: hex('10 0e', mqtt, '85 02 003c 00 0001 61'), reasonCode: UNSUPPORTED },
  { name: 'CONNECT will topic with a wildcard', statement: '[MQTT-3.3.2-2]', version: 4,
    hex: hex('10 14', mqtt, '04', '06 // will flag, clean', '003c 0001 61', '0003 612f23 // will topic "a/#"', '0000'), reasonCode: TOPIC_NAME_INVALID },
  { name: 'CONNACK with reserved acknowledge flags', statement: '[MQTT-3.2.2-1]', version: 4, hex: '20020200', reasonCode: MALFORMED },
  // SUBSCRIBE / UNSUBSCRIBE
  { name: 'SUBSCRIBE without topic filters', statement: '[MQTT-3.8.3-3]', version: 4, hex: '8202000a', reasonCode: PROTOCOL },
  { name: '5.0 SUBSCRIBE without topic filters', statement: '[MQTT-3.8.3-2]', version: 5, hex: '8203000a00', reasonCode: PROTOCOL },
  { name: 'UNSUBSCRIBE without topic filters', statement: '[MQTT-3.10.3-2]', version: 4, hex: 'a202000a', reasonCode: PROTOCOL },
  { name: 'SUBSCRIBE packet identifier 0', statement: '[MQTT-2.3.1-1]', version: 4,
    hex: hex('82 06 0000 0001 61 00'), reasonCode: PROTOCOL },
  { name: '3.1.1 SUBSCRIBE with reserved option bits', statement: '[MQTT-3-8.3-4]', version: 4,
    hex: hex('82 06 000a 0001 61', '04 // bit 2 reserved in 3.1.1'), reasonCode: MALFORMED },
  { name: '3.1.1 SUBSCRIBE with QoS 3', statement: '[MQTT-3-8.3-4]', version: 4,
    hex: hex('82 06 000a 0001 61 03'), reasonCode: MALFORMED },
  { name: '5.0 SUBSCRIBE with reserved option bits', statement: '[MQTT-3.8.3-5]', version: 5,
    hex: hex('82 07 000a 00 0001 61', '40 // bit 6 reserved'), reasonCode: MALFORMED },
  { name: '5.0 SUBSCRIBE with retain handling 3', statement: '5.0 section 3.8.3.1', version: 5,
    hex: hex('82 07 000a 00 0001 61', '30 // retain handling 3'), reasonCode: PROTOCOL },
  { name: '5.0 SUBSCRIBE with QoS 3', statement: '5.0 section 3.8.3.1', version: 5,
    hex: hex('82 07 000a 00 0001 61 03'), reasonCode: PROTOCOL },
  // Properties
  { name: 'unknown property identifier', statement: '5.0 section 2.2.2.2', version: 5,
    hex: hex('30 08 0003 612f62', '02 7f 00 // property 0x7f does not exist'), reasonCode: MALFORMED },
  { name: 'property not allowed on the packet (session expiry on PUBLISH)', statement: '5.0 section 2.2.2.2', version: 5,
    hex: hex('30 0b 0003 612f62', '05 11 0000000a'), reasonCode: MALFORMED },
  { name: 'will delay interval on CONNECT instead of will properties', statement: '5.0 section 2.2.2.2', version: 5,
    hex: hex('10 13', mqtt, '05 02 003c', '05 18 0000000a', '0001 61'), reasonCode: MALFORMED },
  { name: 'property given twice (message expiry interval)', statement: '5.0 section 3.3.2.3.3', version: 5,
    hex: hex('30 10 0003 612f62', '0a 02 00000001 02 00000002'), reasonCode: PROTOCOL },
  { name: 'subscription identifier twice on SUBSCRIBE', statement: '5.0 section 3.8.2.1.2', version: 5,
    hex: hex('82 0b 000a', '04 0b01 0b02', '0001 61 00'), reasonCode: PROTOCOL },
  { name: 'subscription identifier 0', statement: '5.0 section 3.8.2.1.2', version: 5,
    hex: hex('82 09 000a', '02 0b00', '0001 61 00'), reasonCode: PROTOCOL },
  { name: 'receive maximum 0', statement: '5.0 section 3.1.2.11.3', version: 5,
    hex: hex('10 11', mqtt, '05 02 003c', '03 21 0000', '0001 61'), reasonCode: PROTOCOL },
  { name: 'maximum packet size 0', statement: '5.0 section 3.1.2.11.4', version: 5,
    hex: hex('10 13', mqtt, '05 02 003c', '05 27 00000000', '0001 61'), reasonCode: PROTOCOL },
  { name: 'request problem information 2', statement: '5.0 section 3.1.2.11.7', version: 5,
    hex: hex('10 10', mqtt, '05 02 003c', '02 17 02', '0001 61'), reasonCode: PROTOCOL },
  // Reason codes
  { name: 'PUBACK with a reason code PUBACK may not carry', statement: '5.0 section 3.4.2.1', version: 5,
    hex: hex('40 03 000a', '8f // topic filter invalid is for SUBACK'), reasonCode: PROTOCOL },
  { name: '3.1.1 SUBACK with return code 3', statement: '[MQTT-3.9.3-2]', version: 4, hex: '9003000a03', reasonCode: MALFORMED },
  { name: '3.1.1 CONNACK with return code 6', statement: '3.1.1 section 3.2.2.3 (reserved)', version: 4,
    hex: '20020006', reasonCode: MALFORMED },
];
