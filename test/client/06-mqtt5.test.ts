// MQTT 5.0 features against Mosquitto: Receive Maximum, topic aliases, user properties,
// subscription identifiers, reason codes in rejections, session expiry, Maximum Packet Size.
// (Mosquitto 2.0.11 closes without DISCONNECT on takeover and shutdown, so server DISCONNECT and
// refused subscriptions are tested against a scripted server in 07-scripted-server.)
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { MqttError } from '../../src/client';
import type { Packet, PublishPacket, UserProperty } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages } from './helpers/events';

let mq: MosquittoInstance;
let url: string;
const pool = new ClientPool();
const protocolVersion = 5;

before(async () => {
  mq = await startMosquitto({
    extraConfig: ['max_inflight_messages 3', 'max_topic_alias 4', 'max_packet_size 2000'],
  });
  // Anonymous clients may use everything but closed/#.
  const acl = `${mq.dir}/acl`;
  fs.writeFileSync(acl, 'topic readwrite open/#\ntopic readwrite ra/#\ntopic readwrite alias/#\ntopic readwrite up/#\ntopic readwrite sid/#\ntopic readwrite big/#\n');
  fs.chmodSync(mq.dir, 0o755);
  fs.chmodSync(acl, 0o644);
  await mq.stop();
  fs.appendFileSync(`${mq.dir}/mosquitto.conf`, `acl_file ${acl}\n`);
  await mq.restart();
  url = `mqtt://127.0.0.1:${mq.port}`;
});
after(() => disposeMosquitto(mq));
afterEach(() => pool.endAll());

describe('MQTT 5.0 against Mosquitto', () => {
  test("never more unacknowledged QoS 1/2 publishes than the server's Receive Maximum [MQTT-4.9.0-2]", async () => {
    const sub = await pool.connected(url, { protocolVersion });
    await sub.subscribe('ra/#', { qos: 2 });
    const got = collectMessages(sub);
    const c = await pool.connected(url, { protocolVersion });
    assert.equal(c.connack?.properties?.receiveMaximum, 3);
    let unacked = 0;
    let most = 0;
    const sentOrder: string[] = [];
    c.on('packetsend', (p) => {
      if (p.type === 'publish' && p.qos > 0) {
        most = Math.max(most, ++unacked);
        sentOrder.push(p.payload.toString());
      }
    });
    c.on('packetreceive', (p) => {
      if (p.type === 'puback' || p.type === 'pubcomp') unacked--;
    });
    const all = Array.from({ length: 24 }, (_, i) => c.publish(`ra/${i}`, String(i), { qos: i % 2 === 0 ? 1 : 2 }));
    assert.ok(c.queueLength > 0, 'the rest wait');
    await Promise.all(all);
    assert.equal(most, 3);
    const expected = Array.from({ length: 24 }, (_, i) => String(i));
    assert.deepEqual(sentOrder, expected, 'the waiting ones go out in order');
    await waitUntil(() => got.length === 24, 5000, 'all 24 messages');
    // Mosquitto forwards QoS 2 on PUBREL, so arrival order mixes the two levels; the set is whole.
    assert.deepEqual(got.map((m) => m.payload).sort(), [...expected].sort());
  });

  test('topic aliases are used outbound up to the Topic Alias Maximum; the subscriber sees whole topics', async () => {
    const sub = await pool.connected(url, { protocolVersion: 4 });
    await sub.subscribe('alias/#', { qos: 1 });
    const got = collectMessages(sub);
    const c = await pool.connected(url, { protocolVersion, autoAssignTopicAlias: true });
    assert.equal(c.connack?.properties?.topicAliasMaximum, 4);
    const sent: PublishPacket[] = [];
    c.on('packetsend', (p) => p.type === 'publish' && sent.push(p));
    const topics = ['alias/a', 'alias/a', 'alias/b', 'alias/a', 'alias/c', 'alias/d', 'alias/e', 'alias/e', 'alias/b'];
    for (const [i, t] of topics.entries()) await c.publish(t, String(i), { qos: 1 });
    assert.deepEqual(
      sent.map((p) => [p.topic, p.properties?.topicAlias]),
      [
        ['alias/a', 1],
        ['', 1],
        ['alias/b', 2],
        ['', 1],
        ['alias/c', 3],
        ['alias/d', 4],
        ['alias/e', undefined], // all four aliases taken [MQTT-3.3.2-8]
        ['alias/e', undefined],
        ['', 2],
      ],
    );
    await waitUntil(() => got.length === topics.length, 5000, 'all messages');
    assert.deepEqual(got.map((m) => m.topic), topics);
  });

  test('user properties keep their order and repeats; subscription identifiers come back [MQTT-3.3.2-18]', async () => {
    const sub = await pool.connected(url, { protocolVersion });
    await sub.subscribe('up/#', { qos: 1, subscriptionIdentifier: 42, userProperties: [['via', 'subscribe']] });
    const got: Packet[] = [];
    sub.on('message', (_t, _p, packet) => got.push(packet));
    const c = await pool.connected(url, { protocolVersion });
    const userProperties: UserProperty[] = [['a', '1'], ['b', '2'], ['a', '3']];
    await c.publish('up/x', 'p', { qos: 1, properties: { userProperties, contentType: 'text/plain', messageExpiryInterval: 60 } });
    await waitUntil(() => got.length === 1, 5000, 'message');
    const props = (got[0] as PublishPacket).properties;
    assert.deepEqual(props?.userProperties, userProperties);
    assert.equal(props?.contentType, 'text/plain');
    assert.deepEqual(props?.subscriptionIdentifiers, [42]);
  });

  test('a publish the server refuses rejects with its reason code (QoS 1 PUBACK and QoS 2 PUBREC)', async () => {
    const c = await pool.connected(url, { protocolVersion });
    for (const qos of [1, 2] as const) {
      await assert.rejects(c.publish('closed/x', 'no', { qos }), (e: unknown) => {
        assert.ok(e instanceof MqttError);
        assert.equal(e.code, 'PUBLISH_REJECTED');
        assert.equal(e.reasonCode, 0x87);
        return true;
      });
    }
    assert.equal(c.inFlightCount, 0);
    assert.equal(c.state, 'connected');
    assert.equal((await c.publish('open/x', 'yes', { qos: 1 }))?.reasonCode ?? 0, 0x10, 'no matching subscribers');
  });

  test('UNSUBACK reason codes come back per filter', async () => {
    const c = await pool.connected(url, { protocolVersion });
    assert.deepEqual(await c.subscribe({ 'open/#': 1 }), [{ topicFilter: 'open/#', qos: 1, reasonCode: 1 }]);
    const unsub = await c.unsubscribe(['open/#', 'never/subscribed'], { userProperties: [['why', 'test']] });
    assert.deepEqual(unsub, [
      { topicFilter: 'open/#', reasonCode: 0 },
      { topicFilter: 'never/subscribed', reasonCode: 0x11 }, // No subscription existed
    ]);
  });

  test('session expiry keeps the session across connections; DISCONNECT with sessionExpiry 0 ends it', async () => {
    const clientId = `expiry-${process.pid}`;
    const options = { protocolVersion, clientId, clean: false, properties: { sessionExpiryInterval: 60 } } as const;
    const a = await pool.connected(url, options);
    assert.equal(a.connack?.sessionPresent, false);
    await a.end();
    const b = await pool.connected(url, options);
    assert.equal(b.connack?.sessionPresent, true);
    await b.end({ sessionExpiry: 0 });
    const c = await pool.connected(url, options);
    assert.equal(c.connack?.sessionPresent, false);
  });

  test("a packet over the server's Maximum Packet Size is refused locally and the connection stays [MQTT-3.1.2-24]", async () => {
    const c = await pool.connected(url, { protocolVersion });
    assert.equal(c.connack?.properties?.maximumPacketSize, 2000);
    await assert.rejects(c.publish('big/x', Buffer.alloc(3000), { qos: 1 }), (e: unknown) => e instanceof MqttError && e.code === 'PACKET_TOO_LARGE' && e.reasonCode === 0x95);
    assert.equal(c.inFlightCount, 0);
    assert.equal((await c.publish('big/x', Buffer.alloc(100), { qos: 1 }))?.type, 'puback');
    assert.equal(c.state, 'connected');
  });
});
