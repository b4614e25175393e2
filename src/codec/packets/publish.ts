// PUBLISH (section 3.3): topic name, packet identifier when QoS > 0, 5.0 properties, payload.
import { ProtocolError, malformed, protocolError } from '../protocol-error';
import {
  MAX_VARIABLE_BYTE_INTEGER, checkPacketId, utf8StringLength, variableByteIntegerLength, writeUtf8String,
  writeVariableByteInteger,
} from '../primitives';
import { propertiesLength, readProperties, writeProperties } from '../properties';
import type { ProtocolVersion, PublishPacket, QoS } from '../types';
import type { PacketCodec } from './packet-codec';
import type { Reader } from '../primitives';

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

/**
 * Encoded size of a topic name with its length prefix, in one pass for the usual ASCII topic: refuses
 * wildcards [MQTT-3.3.2-2] and U+0000 [MQTT-1.5.3-2]; anything non-ASCII goes the general way.
 */
export function topicNameLength(topic: string): number {
  if (typeof topic !== 'string') throw new TypeError('topic must be a string');
  if (!NOT_PLAIN_TOPIC.test(topic) && topic.length <= 0xffff) return 2 + topic.length;
  if (hasWildcard(topic)) throw new TypeError(`topic "${topic}" contains a wildcard [MQTT-3.3.2-2]`);
  return utf8StringLength(topic, 'topic');
}

/** Anything but ASCII without U+0000, '#' and '+': such topics take the general path. */
const NOT_PLAIN_TOPIC = /[^\u0001-\u0022\u0024-\u002a\u002c-\u007f]/;
const WILDCARD = /[+#]/;

/** Validates what the fixed and variable header need; returns the Remaining Length. */
function publishRemainingLength(p: PublishPacket, version: ProtocolVersion): number {
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`qos ${String(qos)} [MQTT-3.3.1-4]`);
  if (qos > 0) checkPacketId(p.packetId);
  if (!Buffer.isBuffer(p.payload)) throw new TypeError('payload must be a Buffer');
  let len = topicNameLength(p.topic) + p.payload.length;
  if (qos > 0) len += 2;
  if (version === 5) {
    if (p.properties === undefined) len += 1;
    else {
      const pl = propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
    }
    if (p.topic.length === 0 && p.properties?.topicAlias === undefined) {
      throw new TypeError('an empty topic needs a topicAlias (section 3.3.2.1)');
    }
  } else if (p.topic.length === 0) {
    throw new TypeError('empty topic name [MQTT-4.7.3-1]');
  }
  return len;
}

function writePublish(p: PublishPacket, version: ProtocolVersion, buf: Buffer, pos: number): number {
  pos = writeUtf8String(buf, pos, p.topic);
  if (p.qos > 0) {
    const id = p.packetId as number;
    buf[pos] = id >>> 8;
    buf[pos + 1] = id & 0xff;
    pos += 2;
  }
  if (version === 5) {
    if (p.properties === undefined) buf[pos++] = 0;
    else {
      pos = writeVariableByteInteger(buf, pos, propertiesLength(p.properties, CODE));
      pos = writeProperties(buf, pos, p.properties);
    }
  }
  // TypedArray#set copies without the C++ call Buffer#copy makes; it matters for small payloads.
  buf.set(p.payload, pos);
  return pos + p.payload.length;
}

/**
 * The hot path of `encode` for PUBLISH: no table lookup, sizes and writes in one function. Same checks
 * and bytes as the table's `remainingLength` + `write`.
 */
export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const remaining = publishRemainingLength(p, version);
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) throw new TypeError(`packet of ${remaining} bytes is too large for MQTT`);
  const buf = Buffer.allocUnsafe(1 + variableByteIntegerLength(remaining) + remaining);
  buf[0] = publishFirstByte[(p.qos << 2) | (p.dup ? 2 : 0) | (p.retain ? 1 : 0)];
  const pos = remaining < 128 ? ((buf[1] = remaining), 2) : writeVariableByteInteger(buf, 1, remaining);
  writePublish(p, version, buf, pos);
  return buf;
}

/**
 * The topic name in one pass for the usual ASCII topic: U+0000 makes it malformed [MQTT-1.5.3-2], a
 * wildcard invalid [MQTT-3.3.2-2] (0x90). Non-ASCII goes through the general UTF-8 check.
 */
function readTopicName(r: Reader): string {
  const len = r.twoByteInteger('topic name');
  if (r.end - r.pos < len) throw malformed('topic name runs past the end of the packet');
  const start = r.pos;
  if (r.limit - start < len) {
    // only the topic's beginning is in hand (the packet is checked before the rest arrives)
    if (WILDCARD.test(r.buf.latin1Slice(start, r.limit))) throw new ProtocolError(0x90, 'topic name contains a wildcard [MQTT-3.3.2-2]');
    r.pos = start - 2;
    return r.utf8String('topic name'); // checks the UTF-8 so far, then throws INCOMPLETE
  }
  const latin1 = r.buf.latin1Slice(start, start + len);
  if (!NOT_PLAIN_TOPIC.test(latin1)) {
    r.pos = start + len;
    return latin1;
  }
  r.pos = start - 2;
  const topic = r.utf8String('topic name');
  if (hasWildcard(topic)) throw new ProtocolError(0x90, `topic name "${topic}" contains a wildcard [MQTT-3.3.2-2]`);
  return topic;
}

export const publish: PacketCodec<PublishPacket> = {
  code: CODE,

  firstByte: (p) => publishFirstByte[(p.qos << 2) | (p.dup ? 2 : 0) | (p.retain ? 1 : 0)],

  remainingLength: publishRemainingLength,

  write: writePublish,

  decode(r, flags, version) {
    const qos = (flags >> 1) & 3;
    if (qos === 3) throw malformed('PUBLISH with QoS 3 [MQTT-3.3.1-4]');
    const topic = readTopicName(r);
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
      if (r.pos < r.limit && r.buf[r.pos] === 0) r.pos++; // the common case: no properties
      else {
        const props = readProperties(r, CODE);
        if (props !== undefined) packet.properties = props;
      }
      if (topic.length === 0 && packet.properties?.topicAlias === undefined) {
        throw protocolError('empty topic name without topic alias (section 3.3.2.1)');
      }
    } else if (topic.length === 0) {
      throw protocolError('empty topic name [MQTT-4.7.3-1]');
    }
    packet.payload = r.rest();
    return packet;
  },
};

const EMPTY = Buffer.alloc(0);
