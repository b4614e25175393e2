// Engine internals under MQTT 5.0: size limits both ways, topic aliases both ways, our Receive
// Maximum, overlapping and shared subscriptions across real sockets.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, type BrokerMessage, type BrokerOptions, type DropReason, createBroker } from '../../src/broker';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

function useEngine(options: BrokerOptions = {}) {
  const state = { broker: undefined as unknown as Broker, port: 0, cleanups: [] as (() => unknown)[] };
  before(async () => {
    state.broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, ...options });
    await state.broker.listen();
    state.port = state.broker.addresses()[0].port;
  });
  afterEach(async () => {
    for (const c of state.cleanups.splice(0).reverse()) await c();
  });
  after(() => state.broker.close());
  return {
    ...state,
    get broker() {
      return state.broker;
    },
    raw: async (version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}) => {
      const client = await RawClient.open(state.port, version);
      state.cleanups.push(() => client.destroy());
      client.send(connectPacket(version, connect));
      const connack = await client.expect('connack');
      return { client, connack };
    },
    defer: (f: () => unknown) => state.cleanups.push(f),
  };
}

describe('engine 5.0: limits', () => {
  // maxQueuedMessages 1: one PUBLISH of room past the Receive Maximum, as Mosquitto queues one
  const e = useEngine({ maxPacketSize: 1024, receiveMaximum: 2, maxQueuedMessages: 1, topicAliasMaximum: 4 });

  test('CONNACK advertises what the broker supports', async () => {
    const { connack } = await e.raw(5);
    const p = connack.properties ?? {};
    assert.equal(p.maximumPacketSize, 1024);
    assert.equal(p.receiveMaximum, 2);
    assert.equal(p.topicAliasMaximum, 4);
    // supported, so left out: absent means available (3.2.2.3.5, 3.2.2.3.12-14), as Mosquitto sends it
    assert.equal(p.retainAvailable, undefined);
    assert.equal(p.wildcardSubscriptionAvailable, undefined);
    assert.equal(p.sharedSubscriptionAvailable, undefined);
    assert.equal(p.subscriptionIdentifiersAvailable, undefined);
    assert.equal(p.maximumQoS, undefined); // QoS 2 supported: not sent
  });

  test('a packet above maxPacketSize: DISCONNECT 0x95, and only that connection closes', async () => {
    const other = await e.raw(5);
    const { client } = await e.raw(5);
    client.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false });
    const before = await client.closedByBroker();
    assert.equal((before[0] as { reasonCode?: number }).reasonCode, 0x95);
    client.destroy();
    other.client.send({ cmd: 'pingreq' });
    await other.client.expect('pingresp');
  });

  test('[MQTT-3.1.2-25] a message larger than the client Maximum Packet Size is not sent to it; the drop is reported', async () => {
    const topic = `${uniqueId('mps')}/t`;
    const { client: sub } = await e.raw(5, { properties: { maximumPacketSize: 100 } });
    await sub.subscribe(topic, 0);
    const reasons: DropReason[] = [];
    const onDropped = (_m: BrokerMessage, _id: string, reason: DropReason) => reasons.push(reason);
    e.broker.on('dropped', onDropped);
    e.defer(() => e.broker.off('dropped', onDropped));
    const { client: pub } = await e.raw(5);
    await pub.publish(topic, Buffer.alloc(300, 1), 0);
    await pub.publish(topic, 'small', 0);
    const p = await sub.expect('publish');
    assert.equal(p.payload.toString(), 'small');
    assert.deepEqual(reasons, ['too-large']);
  });

  test('[MQTT-3.3.4-9] more unacknowledged QoS 2 PUBLISHes than our Receive Maximum and the room past it: DISCONNECT 0x93', async () => {
    const { client } = await e.raw(5);
    for (let id = 1; id <= 4; id++) client.send({ cmd: 'publish', topic: 'rm/t', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    const seen = await client.closedByBroker();
    assert.deepEqual(seen.map((p) => p.cmd), ['pubrec', 'pubrec', 'pubrec', 'disconnect']);
    assert.equal((seen[3] as { reasonCode?: number }).reasonCode, 0x93);
  });

  test('[MQTT-4.3.3-10] a QoS 2 PUBLISH sent again before PUBREL is not delivered again', async () => {
    const topic = `${uniqueId('q2')}/t`;
    const { client: sub } = await e.raw(5);
    await sub.subscribe(topic, 2);
    const { client: pub } = await e.raw(5);
    const packet = { cmd: 'publish' as const, topic, payload: Buffer.from('once'), qos: 2 as const, messageId: 7, retain: false, dup: false };
    pub.send(packet);
    await pub.expect('pubrec');
    pub.send({ ...packet, dup: true });
    await pub.expect('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 7 });
    await pub.expect('pubcomp');
    assert.equal((await sub.receive()).payload.toString(), 'once');
    assert.equal(await sub.silentFor(200), true);
  });

  test('inbound topic aliases: set, used with an empty topic; above the maximum: DISCONNECT 0x94', async () => {
    const topic = `${uniqueId('ta')}/t`;
    const { client: sub } = await e.raw(5);
    await sub.subscribe(topic, 0);
    const { client: pub } = await e.raw(5);
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    pub.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    assert.equal((await sub.expect('publish')).payload.toString(), '1');
    const second = await sub.expect('publish');
    assert.equal(second.topic, topic);
    assert.equal(second.payload.toString(), '2');
    pub.send({ cmd: 'publish', topic, payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 5 } });
    const seen = await pub.closedByBroker();
    assert.equal((seen[0] as { reasonCode?: number }).reasonCode, 0x94);
  });

  test('outbound topic aliases within the client Topic Alias Maximum: the topic is sent once', async () => {
    const base = uniqueId('oa');
    const { client: sub } = await e.raw(5, { properties: { topicAliasMaximum: 1 } });
    await sub.subscribe(`${base}/+`, 0);
    const { client: pub } = await e.raw(5);
    await pub.publish(`${base}/a`, 'a1', 0);
    await pub.publish(`${base}/a`, 'a2', 0);
    await pub.publish(`${base}/b`, 'b1', 0); // no alias left: full topic, no alias
    const [a1, a2, b1] = [await sub.expect('publish'), await sub.expect('publish'), await sub.expect('publish')];
    assert.equal(a1.topic, `${base}/a`);
    assert.equal(a1.properties?.topicAlias, 1);
    assert.equal(a2.topic, ''); // mqtt-packet leaves the alias to the application
    assert.equal(a2.properties?.topicAlias, 1);
    assert.equal(b1.topic, `${base}/b`);
    assert.equal(b1.properties?.topicAlias, undefined);
  });
});

describe('engine 5.0: routing', () => {
  const e = useEngine();

  test('[MQTT-3.3.4-2] [MQTT-3.3.4-3] overlapping subscriptions: one copy, highest QoS, every Subscription Identifier', async () => {
    const base = uniqueId('ov');
    const { client: sub } = await e.raw(5);
    await sub.subscribe([{ topic: `${base}/+`, qos: 0 }], 0, { subscriptionIdentifier: 11 });
    await sub.subscribe([{ topic: `${base}/#`, qos: 2 }], 0, { subscriptionIdentifier: 22 });
    const { client: pub } = await e.raw(5);
    await pub.publish(`${base}/x`, 'one', 2);
    const p = await sub.receive();
    assert.equal(p.qos, 2);
    const ids = p.properties?.subscriptionIdentifier;
    assert.deepEqual((Array.isArray(ids) ? ids : [ids]).sort(), [11, 22]);
    assert.equal(await sub.silentFor(150), true);
  });

  test('[MQTT-3.8.3-3] No Local: not sent back to the publisher, still to others', async () => {
    const topic = `${uniqueId('nl')}/t`;
    const { client: self } = await e.raw(5);
    await self.subscribe([{ topic, qos: 1, nl: true }]);
    const { client: other } = await e.raw(5);
    await other.subscribe(topic, 1);
    await self.publish(topic, 'mine', 1);
    assert.equal((await other.receive()).payload.toString(), 'mine');
    assert.equal(await self.silentFor(150), true);
  });

  test('shared subscriptions: round-robin among online members; an offline member is skipped (3.1.1 and 5.0 members)', async () => {
    const group = `$share/g${uniqueId('sh')}/${uniqueId('sh')}/t`;
    const topic = group.split('/').slice(2).join('/');
    const m1 = await e.raw(5);
    const m2 = await e.raw(4);
    const offlineId = uniqueId('off');
    const m3 = await e.raw(4, { clientId: offlineId, clean: false });
    for (const m of [m1, m2, m3]) await m.client.subscribe(group, 1);
    m3.client.disconnect();
    await waitUntil(() => e.broker.clients().every((c) => c.id !== offlineId), 2000, 'offline member gone');
    const { client: pub } = await e.raw(5);
    for (let i = 0; i < 6; i++) await pub.publish(topic, `m${i}`, 1);
    const got1: string[] = [];
    const got2: string[] = [];
    for (let i = 0; i < 3; i++) got1.push((await m1.client.receive()).payload.toString());
    for (let i = 0; i < 3; i++) got2.push((await m2.client.receive()).payload.toString());
    assert.deepEqual([...got1, ...got2].sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    assert.equal(await m1.client.silentFor(100), true);
    const back = await e.raw(4, { clientId: offlineId, clean: false });
    assert.equal(await back.client.silentFor(150), true, 'nothing was queued for the offline member');
  });
});
