// The encoder refuses what a receiver would have to reject, instead of putting it on the wire.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, encodedLength } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';

const publish = (extra: Partial<Extract<Packet, { type: 'publish' }>>): Packet => ({
  type: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, ...extra,
});
const connect = (extra: Partial<Extract<Packet, { type: 'connect' }>>, level: ProtocolVersion = 4): Packet => ({
  type: 'connect', protocolName: 'MQTT', protocolVersion: level, clean: true, keepalive: 60, clientId: 'c', ...extra,
});

const refused: [string, Packet, ProtocolVersion][] = [
  ['PUBLISH QoS 1 without packetId [MQTT-2.3.1-1]', publish({ qos: 1 }), 4],
  ['PUBLISH packetId 0 [MQTT-2.3.1-1]', publish({ qos: 2, packetId: 0 }), 4],
  ['PUBLISH packetId 65536', publish({ qos: 1, packetId: 65536 }), 5],
  ['PUBLISH QoS 3 [MQTT-3.3.1-4]', publish({ qos: 3 as 0 }), 4],
  ['PUBLISH topic with + [MQTT-3.3.2-2]', publish({ topic: 'a/+' }), 4],
  ['PUBLISH topic with # and non-ASCII [MQTT-3.3.2-2]', publish({ topic: 'é/#' }), 5],
  ['PUBLISH topic with U+0000 [MQTT-1.5.3-2]', publish({ topic: 'a\u0000b' }), 4],
  ['PUBLISH topic with a lone surrogate [MQTT-1.5.3-1]', publish({ topic: 'a\ud800' }), 4],
  ['PUBLISH topic over 65535 bytes', publish({ topic: 'é'.repeat(40_000) }), 4],
  ['PUBLISH empty topic under 3.1.1 [MQTT-4.7.3-1]', publish({ topic: '' }), 4],
  ['PUBLISH empty topic without topic alias under 5.0', publish({ topic: '' }), 5],
  ['PUBLISH payload that is not a Buffer', publish({ payload: 'x' as unknown as Buffer }), 4],
  ['PUBLISH with a property it may not carry', publish({ properties: { sessionExpiryInterval: 1 } }), 5],
  ['PUBLISH with an unknown property', publish({ properties: { nonsense: 1 } as object }), 5],
  ['PUBLISH topic alias 0 [MQTT-3.3.2-8]', publish({ properties: { topicAlias: 0 } }), 5],
  ['PUBLISH subscription identifier 0', publish({ properties: { subscriptionIdentifiers: [0] } }), 5],
  ['PUBLISH subscription identifier over 268435455', publish({ properties: { subscriptionIdentifiers: [268_435_456] } }), 5],
  ['PUBLISH message expiry over four bytes', publish({ properties: { messageExpiryInterval: 2 ** 32 } }), 5],
  ['PUBLISH payload format indicator 2', publish({ properties: { payloadFormatIndicator: 2 } }), 5],
  ['PUBLISH user property that is not a pair', publish({ properties: { userProperties: [['a'] as unknown as [string, string]] } }), 5],
  ['CONNECT receive maximum 0', connect({ properties: { receiveMaximum: 0 } }, 5), 5],
  ['CONNECT password without username under 3.1.1 [MQTT-3.1.2-22]', connect({ password: Buffer.from('p') }), 4],
  ['CONNECT will QoS 3 [MQTT-3.1.2-14]', connect({ will: { topic: 't', payload: Buffer.alloc(0), qos: 3 as 0, retain: false } }), 4],
  ['CONNECT will topic with a wildcard', connect({ will: { topic: 't/#', payload: Buffer.alloc(0), qos: 0, retain: false } }), 4],
  ['CONNECT of level 5 encoded as 4', connect({}, 5), 4],
  ['CONNECT bridge bit under 5.0', connect({ bridge: true }, 5), 5],
  ['CONNECT keep alive over 65535', connect({ keepalive: 70_000 }), 4],
  ['CONNACK return code 6 under 3.1.1', { type: 'connack', sessionPresent: false, reasonCode: 6 }, 4],
  ['CONNACK reason code 0x10 under 5.0', { type: 'connack', sessionPresent: false, reasonCode: 0x10 }, 5],
  ['PUBACK reason code 0x8f', { type: 'puback', packetId: 1, reasonCode: 0x8f }, 5],
  ['PUBREL reason code 0x10', { type: 'pubrel', packetId: 1, reasonCode: 0x10 }, 5],
  ['PUBCOMP packetId 0', { type: 'pubcomp', packetId: 0 }, 4],
  ['SUBSCRIBE without subscriptions [MQTT-3.8.3-3]', { type: 'subscribe', packetId: 1, subscriptions: [] }, 4],
  ['SUBSCRIBE retain handling 3', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0, retainHandling: 3 as 0 }] }, 5],
  ['SUBSCRIBE QoS 3', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 3 as 0 }] }, 4],
  ['SUBSCRIBE two subscription identifiers', { type: 'subscribe', packetId: 1, properties: { subscriptionIdentifiers: [1, 2] }, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 5],
  ['SUBACK return code 3 under 3.1.1 [MQTT-3.9.3-2]', { type: 'suback', packetId: 1, reasonCodes: [3] }, 4],
  ['SUBACK without reason codes', { type: 'suback', packetId: 1, reasonCodes: [] }, 5],
  ['UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]', { type: 'unsubscribe', packetId: 1, topicFilters: [] }, 4],
  ['UNSUBACK reason code 0x10', { type: 'unsuback', packetId: 1, reasonCodes: [0x10] }, 5],
  ['DISCONNECT reason code 0x01', { type: 'disconnect', reasonCode: 0x01 }, 5],
  ['DISCONNECT with a property it may not carry', { type: 'disconnect', properties: { topicAlias: 1 } }, 5],
  ['AUTH under 3.1.1', { type: 'auth' }, 4],
  ['AUTH reason code 0x87', { type: 'auth', reasonCode: 0x87 }, 5],
  ['an unknown packet type', { type: 'nonsense' } as unknown as Packet, 4],
  ['protocol version 6', { type: 'pingreq' }, 6 as 5],
];

describe('encode refuses packets a receiver would reject', () => {
  for (const [name, packet, version] of refused) {
    test(name, () => {
      assert.throws(() => encode(packet, version), TypeError);
      assert.throws(() => encodedLength(packet, version), TypeError);
    });
  }
});

test('DUP is never set at QoS 0 [MQTT-3.3.1-2]', () => {
  assert.equal(encode(publish({ dup: true }), 4)[0], 0x30);
  assert.equal(encode(publish({ dup: true, qos: 1, packetId: 1 }), 4)[0], 0x3a);
});
