// Our codec on the wire against a real Mosquitto: every packet type a client sends is encoded by us
// and accepted by Mosquitto; every packet type Mosquitto sends a client is decoded by us.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { disposeMosquitto, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto';
import type { MosquittoInstance } from '../helpers/mosquitto';
import type { ProtocolVersion } from '../../src/codec';
import { RawPeer } from './fixtures/raw-peer';

const levels: [ProtocolVersion, string][] = [[3, 'MQIsdp'], [4, 'MQTT'], [5, 'MQTT']];

describe('codec against Mosquitto', { skip: !mosquittoAvailable() && 'mosquitto is not installed' }, () => {
  let broker: MosquittoInstance;
  const peers: RawPeer[] = [];
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    for (const p of peers) p.close();
    await disposeMosquitto(broker);
  });

  async function connected(version: ProtocolVersion, clientId: string): Promise<RawPeer> {
    const peer = await RawPeer.connect(broker.port, version);
    peers.push(peer);
    peer.send({
      type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true,
      keepalive: 30, clientId, username: 'user', password: Buffer.from('pw'),
      will: { topic: `codec/will/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false, properties: version === 5 ? { willDelayInterval: 0, contentType: 'text/plain' } : undefined },
      properties: version === 5 ? { sessionExpiryInterval: 0, receiveMaximum: 10, topicAliasMaximum: 5, userProperties: [['k', 'v']] } : undefined,
    });
    const connack = await peer.expect('connack');
    assert.equal(connack.reasonCode, 0, `CONNACK ${connack.reasonCode}\n${broker.log()}`);
    if (version === 5) assert.ok(connack.properties !== undefined, 'Mosquitto 5.0 CONNACK carries properties');
    return peer;
  }

  for (const [version, name] of levels) {
    test(`level ${version} (${name}): every client packet accepted, every answer decoded`, async () => {
      const v5 = version === 5;
      const peer = await connected(version, `codec-${version}`);

      peer.send({
        type: 'subscribe', packetId: 1,
        properties: v5 ? { subscriptionIdentifiers: [7], userProperties: [['s', '1']] } : undefined,
        subscriptions: [
          { topicFilter: `codec/${version}/#`, qos: 2, ...(v5 ? { noLocal: false, retainAsPublished: true, retainHandling: 0 as const } : {}) },
          { topicFilter: `codec/${version}/+/x`, qos: 1 },
        ],
      });
      const suback = await peer.expect('suback');
      assert.deepEqual(suback.reasonCodes, [2, 1]);

      // QoS 1 round: PUBACK for ours, then our own message back with every property kept.
      const properties = v5
        ? {
            payloadFormatIndicator: 1, messageExpiryInterval: 60, contentType: 'application/json', responseTopic: 'codec/reply',
            correlationData: Buffer.from([1, 2, 3]), userProperties: [['a', 'b'], ['a', 'c']] as [string, string][],
          }
        : undefined;
      peer.send({ type: 'publish', topic: `codec/${version}/q1`, payload: Buffer.from('{"n":1}'), qos: 1, retain: false, dup: false, packetId: 10, properties });
      const puback = await peer.expect('puback');
      assert.equal(puback.packetId, 10);
      const echo = await peer.expect('publish');
      assert.equal(echo.topic, `codec/${version}/q1`);
      assert.equal(echo.payload.toString(), '{"n":1}');
      assert.equal(echo.qos, 1);
      if (v5) {
        assert.equal(echo.properties?.contentType, 'application/json');
        assert.deepEqual(echo.properties?.correlationData, Buffer.from([1, 2, 3]));
        assert.deepEqual(echo.properties?.userProperties, [['a', 'b'], ['a', 'c']]);
        assert.deepEqual(echo.properties?.subscriptionIdentifiers, [7]);
      }
      peer.send({ type: 'puback', packetId: echo.packetId as number });

      // QoS 2 both ways: PUBREC, PUBREL, PUBCOMP.
      peer.send({ type: 'publish', topic: `codec/${version}/q2`, payload: Buffer.alloc(70_000, 7), qos: 2, retain: false, dup: false, packetId: 11 });
      assert.equal((await peer.expect('pubrec')).packetId, 11);
      peer.send({ type: 'pubrel', packetId: 11 });
      assert.equal((await peer.expect('pubcomp')).packetId, 11);
      const incoming = await peer.expect('publish');
      assert.equal(incoming.qos, 2);
      assert.equal(incoming.payload.length, 70_000);
      peer.send({ type: 'pubrec', packetId: incoming.packetId as number });
      assert.equal((await peer.expect('pubrel')).packetId, incoming.packetId);
      peer.send({ type: 'pubcomp', packetId: incoming.packetId as number });

      if (v5) {
        // Topic alias: set it with the topic, then use it alone.
        peer.send({ type: 'publish', topic: `codec/${version}/alias`, payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
        peer.send({ type: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
        for (const payload of ['1', '2']) {
          const p = await peer.expect('publish');
          assert.equal(p.topic, `codec/${version}/alias`);
          assert.equal(p.payload.toString(), payload);
        }
      }

      peer.send({ type: 'pingreq' });
      await peer.expect('pingresp');

      peer.send({ type: 'unsubscribe', packetId: 12, topicFilters: [`codec/${version}/#`, 'never/subscribed'] });
      const unsuback = await peer.expect('unsuback');
      assert.equal(unsuback.packetId, 12);
      if (v5) assert.deepEqual(unsuback.reasonCodes, [0x00, 0x11]);

      peer.send(v5 ? { type: 'disconnect', reasonCode: 0, properties: { reasonString: 'done' } } : { type: 'disconnect' });
      await peer.closedByPeer();
    });
  }

  test('a 5.0 packet Mosquitto finds malformed gets DISCONNECT 0x81, decoded', async () => {
    const peer = await connected(5, 'codec-bad');
    // PUBLISH whose property length runs past the end of the packet.
    peer.sendRaw(Buffer.from('3007' + '0003616263' + '09' + '01', 'hex'));
    const rest = await peer.closedByPeer();
    // Mosquitto answers with DISCONNECT 0x81 Malformed Packet before closing; our decoder reads it.
    assert.deepEqual(rest, [{ type: 'disconnect', reasonCode: 0x81 }]);
  });
});
