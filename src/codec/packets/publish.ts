// PUBLISH (section 3.3): topic name, packet identifier when QoS > 0, 5.0 properties, payload.
import { ProtocolError, malformed, protocolError } from '../protocol-error';
import {
  checkPacketId, utf8StringLength, variableByteIntegerLength, writeTwoByteInteger, writeUtf8String,
  writeVariableByteInteger,
} from '../primitives';
import { propertiesLength, readProperties, writeProperties } from '../properties';
import type { PublishPacket, QoS } from '../types';
import type { PacketCodec } from './packet-codec';

const CODE = 3;

/**
 * First byte of every PUBLISH, indexed by qos << 2 | dup << 1 | retain. DUP is always 0 at QoS 0
 * [MQTT-3.3.1-2], so those slots repeat the dup-less byte.
 */
export const publishFirstByte: readonly number[] = (() => {
  const t: number[] = [];
  for (let qos = 0; qos < 3; qos++) {
    for (let dup = 0; dup < 2; dup++) {
      for (let retain = 0; retain < 2; retain++) {
        t[(qos << 2) | (dup << 1) | retain] = 0x30 | (qos > 0 && dup ? 0x08 : 0) | (qos << 1) | retain;
      }
    }
  }
  return t;
})();

/** A topic name holds no wildcard [MQTT-3.3.2-2]; answered with 0x90 Topic Name Invalid. */
export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

function checkPublish(p: PublishPacket): void {
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`qos ${String(qos)} [MQTT-3.3.1-4]`);
  if (qos > 0) checkPacketId(p.packetId);
  if (!Buffer.isBuffer(p.payload)) throw new TypeError('payload must be a Buffer');
  if (hasWildcard(p.topic)) throw new TypeError(`topic "${p.topic}" contains a wildcard [MQTT-3.3.2-2]`);
}

export const publish: PacketCodec<PublishPacket> = {
  code: CODE,

  firstByte: (p) => publishFirstByte[(p.qos << 2) | (p.dup ? 2 : 0) | (p.retain ? 1 : 0)],

  remainingLength(p, version) {
    checkPublish(p);
    let len = utf8StringLength(p.topic, 'topic') + p.payload.length;
    if (p.qos > 0) len += 2;
    if (version === 5) {
      const pl = p.properties === undefined ? 0 : propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
      if (p.topic.length === 0 && p.properties?.topicAlias === undefined) {
        throw new TypeError('an empty topic needs a topicAlias [MQTT-3.3.2-1]');
      }
    } else if (p.topic.length === 0) {
      throw new TypeError('empty topic name [MQTT-4.7.3-1]');
    }
    return len;
  },

  write(p, version, buf, pos) {
    pos = writeUtf8String(buf, pos, p.topic);
    if (p.qos > 0) pos = writeTwoByteInteger(buf, pos, p.packetId as number);
    if (version === 5) {
      if (p.properties === undefined) buf[pos++] = 0;
      else {
        pos = writeVariableByteInteger(buf, pos, propertiesLength(p.properties, CODE));
        pos = writeProperties(buf, pos, p.properties);
      }
    }
    p.payload.copy(buf, pos);
    return pos + p.payload.length;
  },

  decode(r, flags, version) {
    const qos = (flags >> 1) & 3;
    if (qos === 3) throw malformed('PUBLISH with QoS 3 [MQTT-3.3.1-4]');
    const topic = r.utf8String('topic name');
    if (hasWildcard(topic)) throw new ProtocolError(0x90, `topic name "${topic}" contains a wildcard [MQTT-3.3.2-2]`);
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      payload: EMPTY,
      qos: qos as QoS,
      retain: (flags & 1) !== 0,
      dup: (flags & 8) !== 0,
    };
    if (qos > 0) {
      const id = r.twoByteInteger('packet identifier');
      if (id === 0) throw protocolError('PUBLISH packet identifier 0 [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3])');
      packet.packetId = id;
    }
    if (version === 5) {
      if (r.pos < r.end && r.buf[r.pos] === 0) r.pos++; // the common case: no properties
      else {
        const props = readProperties(r, CODE);
        if (props !== undefined) packet.properties = props;
      }
      if (topic.length === 0 && packet.properties?.topicAlias === undefined) {
        throw protocolError('empty topic name without topic alias [MQTT-3.3.2-1]');
      }
    } else if (topic.length === 0) {
      throw protocolError('empty topic name [MQTT-4.7.3-1]');
    }
    packet.payload = r.rest();
    return packet;
  },
};

const EMPTY = Buffer.alloc(0);
