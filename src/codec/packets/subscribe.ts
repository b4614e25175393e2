// SUBSCRIBE (section 3.8): packet identifier, 5.0 properties, then one or more topic filters each
// followed by its subscription options byte.
import { malformed, protocolError } from '../protocol-error';
import {
  checkPacketId, utf8StringLength, variableByteIntegerLength, writeTwoByteInteger, writeUtf8String,
} from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { QoS, SubscribePacket, Subscription } from '../types';
import { expectFlags, readPacketId } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 8;

function optionsByte(s: Subscription, version: number): number {
  let b = s.qos;
  if (version === 5) {
    if (s.noLocal) b |= 0x04;
    if (s.retainAsPublished) b |= 0x08;
    b |= (s.retainHandling ?? 0) << 4;
  }
  return b;
}

function checkSubscription(s: Subscription): void {
  if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new TypeError(`subscription qos ${String(s.qos)}`);
  const rh = s.retainHandling ?? 0;
  if (rh !== 0 && rh !== 1 && rh !== 2) throw new TypeError(`retainHandling ${String(rh)} (section 3.8.3.1)`);
}

export const subscribe: PacketCodec<SubscribePacket> = {
  code: CODE,

  firstByte: () => 0x82,

  remainingLength(p, version) {
    checkPacketId(p.packetId);
    if (!Array.isArray(p.subscriptions) || p.subscriptions.length === 0) {
      throw new TypeError('SUBSCRIBE needs at least one subscription [MQTT-3.8.3-3]');
    }
    let len = 2;
    if (version === 5) {
      const pl = propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
    }
    for (const s of p.subscriptions) {
      checkSubscription(s);
      len += utf8StringLength(s.topicFilter, 'topicFilter') + 1;
    }
    return len;
  },

  write(p, version, buf, pos) {
    pos = writeTwoByteInteger(buf, pos, p.packetId);
    if (version === 5) pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    for (const s of p.subscriptions) {
      pos = writeUtf8String(buf, pos, s.topicFilter);
      buf[pos++] = optionsByte(s, version);
    }
    return pos;
  },

  decode(r, flags, version) {
    expectFlags(flags, 2, 'SUBSCRIBE', version); // [MQTT-3.8.1-1]
    const packet: SubscribePacket = { type: 'subscribe', packetId: readPacketId(r), subscriptions: [] };
    if (version === 5) {
      const props = readProperties(r, CODE);
      if (props !== undefined) packet.properties = props;
    }
    if (r.remaining === 0) throw protocolError('SUBSCRIBE without a topic filter [MQTT-3.8.3-3]');
    while (r.remaining > 0) {
      const topicFilter = r.utf8String('topic filter');
      const options = r.byte('subscription options');
      const qos = options & 3;
      if (version === 5) {
        if (options & 0xc0) throw malformed('reserved subscription option bits are set [MQTT-3.8.3-5]');
        if (qos === 3) throw protocolError('subscription QoS 3 (section 3.8.3.1)');
        const retainHandling = (options >> 4) & 3;
        if (retainHandling === 3) throw protocolError('retain handling 3 (section 3.8.3.1)');
        packet.subscriptions.push({
          topicFilter,
          qos: qos as QoS,
          noLocal: (options & 0x04) !== 0,
          retainAsPublished: (options & 0x08) !== 0,
          retainHandling: retainHandling as 0 | 1 | 2,
        });
      } else {
        // 3.1.1: the upper six bits are reserved and QoS 3 is malformed [MQTT-3-8.3-4].
        if (options & 0xfc) throw malformed('reserved subscription option bits are set [MQTT-3-8.3-4]');
        if (qos === 3) throw malformed('subscription QoS 3 [MQTT-3-8.3-4]');
        packet.subscriptions.push({ topicFilter, qos: qos as QoS });
      }
    }
    return packet;
  },
};
