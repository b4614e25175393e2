// CONNECT (section 3.1): protocol name and level, flags, keep alive, 5.0 properties, then the payload
// in its fixed order: client identifier, will (properties, topic, payload), user name, password.
import { ProtocolError, malformed } from '../protocol-error';
import {
  Reader, binaryDataLength, checkTwoByteInteger, utf8StringLength, variableByteIntegerLength, writeBinaryData,
  writeTwoByteInteger, writeUtf8String, writeVariableByteInteger,
} from '../primitives';
import { WILL, propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { ConnectPacket, ProtocolVersion, QoS, WillMessage } from '../types';
import { expectEnd, expectFlags } from './common';
import { hasWildcard } from './publish';
import type { PacketCodec } from './packet-codec';

const CODE = 1;
const USERNAME = 0x80, PASSWORD = 0x40, WILL_RETAIN = 0x20, WILL_QOS = 0x18, WILL_FLAG = 0x04, CLEAN = 0x02;
const RESERVED = 0x01;
const BRIDGE = 0x80;

/** Protocol name each level must carry [MQTT-3.1.2-1]. */
const protocolNames: Record<ProtocolVersion, string> = { 3: 'MQIsdp', 4: 'MQTT', 5: 'MQTT' };

function checkPacket(p: ConnectPacket, version: ProtocolVersion): void {
  const level = p.protocolVersion ?? version;
  if (level !== 3 && level !== 4 && level !== 5) throw new TypeError(`protocolVersion ${String(level)} is not 3, 4 or 5`);
  if (level !== version) throw new TypeError(`CONNECT of level ${level} encoded as ${version}`);
  checkTwoByteInteger(p.keepalive, 'keepalive');
  if (p.will !== undefined && (p.will.qos < 0 || p.will.qos > 2 || !Number.isInteger(p.will.qos))) {
    throw new TypeError(`will qos ${String(p.will.qos)} [MQTT-3.1.2-14]`);
  }
  if (p.bridge && version === 5) throw new TypeError('the bridge bit exists only for levels 3 and 4');
  if (p.will !== undefined && hasWildcard(p.will.topic)) {
    throw new TypeError(`will topic "${p.will.topic}" contains a wildcard [MQTT-3.3.2-2]`);
  }
  if (version !== 5 && p.password !== undefined && p.username === undefined) {
    throw new TypeError('a password needs a username under 3.1.1 [MQTT-3.1.2-22]');
  }
}

function willLength(will: WillMessage, version: ProtocolVersion): number {
  let len = utf8StringLength(will.topic, 'will topic') + binaryDataLength(will.payload, 'will payload');
  if (version === 5) {
    const pl = propertiesLength(will.properties, WILL);
    len += variableByteIntegerLength(pl) + pl;
  }
  return len;
}

export const connect: PacketCodec<ConnectPacket> = {
  code: CODE,

  firstByte: () => 0x10,

  remainingLength(p, version) {
    checkPacket(p, version);
    let len = utf8StringLength(protocolNames[version], 'protocol name') + 1 + 1 + 2;
    if (version === 5) {
      const pl = propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
    }
    len += utf8StringLength(p.clientId, 'clientId');
    if (p.will !== undefined) len += willLength(p.will, version);
    if (p.username !== undefined) len += utf8StringLength(p.username, 'username');
    if (p.password !== undefined) len += binaryDataLength(p.password, 'password');
    return len;
  },

  write(p, version, buf, pos) {
    pos = writeUtf8String(buf, pos, protocolNames[version]);
    buf[pos++] = version | (p.bridge ? BRIDGE : 0);
    let flags = p.clean ? CLEAN : 0;
    if (p.will !== undefined) {
      flags |= WILL_FLAG | (p.will.qos << 3) | (p.will.retain ? WILL_RETAIN : 0);
    }
    if (p.username !== undefined) flags |= USERNAME;
    if (p.password !== undefined) flags |= PASSWORD;
    buf[pos++] = flags;
    pos = writeTwoByteInteger(buf, pos, p.keepalive);
    if (version === 5) pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    pos = writeUtf8String(buf, pos, p.clientId);
    if (p.will !== undefined) {
      if (version === 5) {
        pos = writePropertiesWithLength(buf, pos, p.will.properties, propertiesLength(p.will.properties, WILL));
      }
      pos = writeUtf8String(buf, pos, p.will.topic);
      pos = writeBinaryData(buf, pos, p.will.payload);
    }
    if (p.username !== undefined) pos = writeUtf8String(buf, pos, p.username);
    if (p.password !== undefined) pos = writeBinaryData(buf, pos, p.password);
    return pos;
  },

  decode(r, flags) {
    expectFlags(flags, 0, 'CONNECT');
    // "MQTT" or "MQIsdp": any other length is refused as soon as it is read [MQTT-3.1.2-1]
    const nameLength = r.twoByteInteger('protocol name');
    if (nameLength !== 4 && nameLength !== 6) {
      throw new ProtocolError(0x84, `unsupported protocol: a protocol name of ${nameLength} bytes [MQTT-3.1.2-1]`);
    }
    r.pos -= 2;
    const protocolName = r.utf8String('protocol name');
    const levelByte = r.byte('protocol level');
    const level = levelByte & 0x7f;
    // Wrong name or unknown level: 0x84, which a 3.1.1 broker answers with return code 1 [MQTT-3.1.2-2].
    // The bridge bit is Mosquitto's extension of 3.1 and 3.1.1; 0x85 is no level of 5.0.
    const bridge = (levelByte & BRIDGE) !== 0;
    if ((level !== 3 && level !== 4 && level !== 5) || protocolName !== protocolNames[level] || (bridge && level === 5)) {
      throw new ProtocolError(0x84, `unsupported protocol "${protocolName}" level ${levelByte} [MQTT-3.1.2-1], [MQTT-3.1.2-2]`);
    }
    const version = level as ProtocolVersion;
    try {
      return decodeRest(r, version, protocolName, bridge);
    } catch (e) {
      if (e instanceof ProtocolError) e.protocolVersion = version;
      throw e;
    }
  },
};

function decodeRest(r: Reader, version: ProtocolVersion, protocolName: string, bridge: boolean): ConnectPacket {
  const flags = r.byte('connect flags');
  if (flags & RESERVED) throw malformed('CONNECT reserved flag is set [MQTT-3.1.2-3]');
  const willFlag = (flags & WILL_FLAG) !== 0;
  const willQoS = (flags & WILL_QOS) >> 3;
  const willRetain = (flags & WILL_RETAIN) !== 0;
  if (!willFlag && willQoS !== 0) throw malformed('will QoS without will flag [MQTT-3.1.2-13] (5.0: [MQTT-3.1.2-11])');
  if (willQoS === 3) throw malformed('will QoS 3 [MQTT-3.1.2-14] (5.0: [MQTT-3.1.2-12])');
  if (!willFlag && willRetain) throw malformed('will retain without will flag [MQTT-3.1.2-15] (5.0: [MQTT-3.1.2-13])');
  const hasUsername = (flags & USERNAME) !== 0;
  const hasPassword = (flags & PASSWORD) !== 0;
  if (version !== 5 && hasPassword && !hasUsername) {
    throw malformed('password flag without username flag [MQTT-3.1.2-22]');
  }
  const keepalive = r.twoByteInteger('keep alive');
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName,
    protocolVersion: version,
    clean: (flags & CLEAN) !== 0,
    keepalive,
    clientId: '',
  };
  if (bridge) packet.bridge = true;
  if (version === 5) {
    const props = readProperties(r, CODE);
    if (props !== undefined) packet.properties = props;
  }
  // Levels 3 and 4 limited the identifier to 23 characters; longer ones are accepted as Mosquitto does.
  packet.clientId = r.utf8String('client identifier');
  if (willFlag) {
    let properties;
    if (version === 5) properties = readProperties(r, WILL);
    const topic = r.utf8String('will topic');
    // The will topic becomes a PUBLISH topic name: no wildcards [MQTT-3.3.2-2]; 5.0 CONNACK 0x90.
    if (hasWildcard(topic)) throw new ProtocolError(0x90, `will topic "${topic}" contains a wildcard [MQTT-3.3.2-2]`);
    const payload = r.binaryData('will payload');
    const will: WillMessage = { topic, payload, qos: willQoS as QoS, retain: willRetain };
    if (properties !== undefined) will.properties = properties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.utf8String('user name');
  if (hasPassword) packet.password = r.binaryData('password');
  expectEnd(r, 'CONNECT');
  return packet;
}
