// The core of the client suite against the project's own broker (src/broker): QoS 0/1/2 for 3.1,
// 3.1.1 and 5.0, WebSocket, 5.0 Receive Maximum, topic aliases and user properties, session resume
// with resend, and resubscribe when the session is gone.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, Broker } from '../../src/broker';
import type { PublishPacket, UserProperty } from '../../src/codec/types';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';
import { TcpProxy } from './helpers/tcp-proxy';

let broker: Broker;
let url: string;
let wsUrl: string;
let proxy: TcpProxy;
const pool = new ClientPool();

before(async () => {
  broker = createBroker({
    listeners: [
      { port: 0, host: '127.0.0.1' },
      { port: 0, host: '127.0.0.1', protocol: 'ws', path: '/mqtt' },
    ],
    receiveMaximum: 3,
    topicAliasMaximum: 4,
  });
  await broker.listen();
  const tcp = broker.addresses().find((a) => a.protocol === 'mqtt');
  const ws = broker.addresses().find((a) => a.protocol === 'ws');
  assert.ok(tcp && ws);
  url = `mqtt://127.0.0.1:${tcp.port}`;
  wsUrl = `ws://127.0.0.1:${ws.port}/mqtt`;
  proxy = await TcpProxy.start(tcp.port);
});
after(async () => {
  await pool.endAll();
  await proxy.close();
  await broker.close();
});
afterEach(() => pool.endAll());

for (const protocolVersion of [3, 4, 5] as const) {
  test(`QoS 0, 1 and 2 through our broker (protocol ${protocolVersion})`, async () => {
    const sub = await pool.connected(url, { protocolVersion });
    assert.deepEqual(await sub.subscribe('own/#', { qos: 2 }), [{ topicFilter: 'own/#', qos: 2, reasonCode: 2 }]);
    const got = collectMessages(sub);
    const pub = await pool.connected(url, { protocolVersion });
    assert.equal(await pub.publish('own/0', 'zero'), undefined);
    assert.equal((await pub.publish('own/1', 'one', { qos: 1 }))?.type, 'puback');
    assert.equal((await pub.publish('own/2', 'two', { qos: 2 }))?.type, 'pubcomp');
    await waitUntil(() => got.length === 3, 5000, 'three messages');
    assert.deepEqual(got.map((m) => [m.topic, m.payload, m.qos]), [['own/0', 'zero', 0], ['own/1', 'one', 1], ['own/2', 'two', 2]]);
  });
}

test('WebSocket to our broker', async () => {
  const c = await pool.connected(wsUrl, { protocolVersion: 5 });
  const got = collectMessages(c);
  await c.subscribe('ownws/#', { qos: 1 });
  await c.publish('ownws/a', 'over ws', { qos: 1 });
  await waitUntil(() => got.length === 1, 5000, 'message over WebSocket');
  assert.equal(got[0].payload, 'over ws');
});

describe('MQTT 5.0 with our broker', () => {
  test("the broker's Receive Maximum bounds our in-flight publishes [MQTT-4.9.0-2]", async () => {
    const c = await pool.connected(url, { protocolVersion: 5 });
    assert.equal(c.connack?.properties?.receiveMaximum, 3);
    let unacked = 0;
    let most = 0;
    c.on('packetsend', (p) => p.type === 'publish' && p.qos > 0 && (most = Math.max(most, ++unacked)));
    c.on('packetreceive', (p) => (p.type === 'puback' || p.type === 'pubcomp') && unacked--);
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.publish(`ownra/${i}`, String(i), { qos: (1 + (i % 2)) as 1 | 2 })));
    assert.equal(most, 3);
  });

  test('topic aliases outbound and user properties arrive intact', async () => {
    const sub = await pool.connected(url, { protocolVersion: 5 });
    await sub.subscribe('ownalias/#', { qos: 1 });
    const got: PublishPacket[] = [];
    sub.on('message', (_t, _p, packet) => got.push(packet));
    const c = await pool.connected(url, { protocolVersion: 5, autoAssignTopicAlias: true });
    const sent: PublishPacket[] = [];
    c.on('packetsend', (p) => p.type === 'publish' && sent.push(p));
    const userProperties: UserProperty[] = [['k', '1'], ['k', '2']];
    for (let i = 0; i < 3; i++) await c.publish('ownalias/x', String(i), { qos: 1, properties: { userProperties } });
    assert.deepEqual(sent.map((p) => p.topic), ['ownalias/x', '', '']);
    await waitUntil(() => got.length === 3, 5000, 'three messages');
    assert.deepEqual(got.map((p) => p.topic), ['ownalias/x', 'ownalias/x', 'ownalias/x']);
    assert.deepEqual(got[2].properties?.userProperties, userProperties);
  });
});

describe('sessions with our broker', () => {
  test('unacknowledged publishes are resent with DUP on a resumed session [MQTT-4.4.0-1]', async () => {
    const sub = await pool.connected(url);
    await sub.subscribe('ownresume/#', { qos: 2 });
    const got = collectMessages(sub);
    const c = await pool.connected(`mqtt://127.0.0.1:${proxy.port}`, { clientId: `own-resume-${process.pid}`, clean: false, reconnectPeriod: 20 });
    const dups: boolean[] = [];
    c.on('packetsend', (p) => p.type === 'publish' && dups.push(p.dup));
    proxy.blackhole();
    const done = [c.publish('ownresume/1', 'a', { qos: 1 }), c.publish('ownresume/2', 'b', { qos: 2 })];
    await waitUntil(() => dups.length === 2, 5000, 'written');
    proxy.resume();
    proxy.dropConnections();
    const [connack] = await nextEvent(c, 'connect');
    assert.equal(connack.sessionPresent, true);
    await Promise.all(done);
    assert.deepEqual(dups, [false, false, true, true]);
    await waitUntil(() => got.length === 2, 5000, 'both messages');
  });

  test('resubscribes when the broker kept no session', async () => {
    const c = await pool.connected(`mqtt://127.0.0.1:${proxy.port}`, { reconnectPeriod: 20 });
    await c.subscribe('ownresub/a', { qos: 1 });
    const got = collectMessages(c);
    proxy.dropConnections();
    const [connack] = await nextEvent(c, 'connect');
    assert.equal(connack.sessionPresent, false);
    const pub = await pool.connected(url);
    await waitUntil(async () => {
      await pub.publish('ownresub/a', 'back', { qos: 1 });
      return got.length > 0;
    }, 5000, 'message after resubscribe');
  });
});
