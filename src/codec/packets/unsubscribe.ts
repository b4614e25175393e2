// UNSUBSCRIBE (section 3.10): packet identifier, 5.0 properties, one or more topic filters.
import { protocolError } from '../protocol-error';
import {
  checkPacketId, utf8StringLength, variableByteIntegerLength, writeTwoByteInteger, writeUtf8String,
} from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { UnsubscribePacket } from '../types';
import { expectFlags, readPacketId } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 10;

export const unsubscribe: PacketCodec<UnsubscribePacket> = {
  code: CODE,

  firstByte: () => 0xa2,

  remainingLength(p, version) {
    checkPacketId(p.packetId);
    if (!Array.isArray(p.topicFilters) || p.topicFilters.length === 0) {
      throw new TypeError('UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]');
    }
    let len = 2;
    if (version === 5) {
      const pl = propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
    }
    for (const f of p.topicFilters) len += utf8StringLength(f, 'topic filter');
    return len;
  },

  write(p, version, buf, pos) {
    pos = writeTwoByteInteger(buf, pos, p.packetId);
    if (version === 5) pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    for (const f of p.topicFilters) pos = writeUtf8String(buf, pos, f);
    return pos;
  },

  decode(r, flags, version) {
    expectFlags(flags, 2, 'UNSUBSCRIBE', version); // [MQTT-3.10.1-1]
    const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: readPacketId(r), topicFilters: [] };
    if (version === 5) {
      const props = readProperties(r, CODE);
      if (props !== undefined) packet.properties = props;
    }
    if (r.remaining === 0) throw protocolError('UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2]');
    while (r.remaining > 0) packet.topicFilters.push(r.utf8String('topic filter'));
    return packet;
  },
};
