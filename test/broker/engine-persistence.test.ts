// Engine internals: with a store given in the options, persistent sessions (subscriptions, queued and
// in-flight messages) and retained messages outlive the broker and come back with the next listen().
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, MemoryStore, createBroker } from '../../src/broker';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(store: MemoryStore): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, store });
  await broker.listen();
  cleanups.push(() => broker.close());
  return { broker, port: broker.addresses()[0].port };
}

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}) {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  const connack = await client.expect('connack');
  return { client, connack };
}

describe('engine: sessions through the store', () => {
  test('a persistent session, its queue, its in-flight message and retained messages survive a broker restart', async () => {
    const store = new MemoryStore();
    const first = await start(store);
    const offlineId = uniqueId('p4');
    const inflightId = uniqueId('p5');
    const base = uniqueId('pt');
    const a = await raw(first.port, 4, { clientId: offlineId, clean: false });
    await a.client.subscribe(`${base}/#`, 1);
    a.client.disconnect();
    const b = await raw(first.port, 5, { clientId: inflightId, clean: false, properties: { sessionExpiryInterval: 600 } });
    await b.client.subscribe([{ topic: `${base}/b`, qos: 2 }], 0, { subscriptionIdentifier: 9 });
    const ephemeral = await raw(first.port, 4, { clean: true });
    await ephemeral.client.subscribe(`${base}/#`, 1);
    await waitUntil(() => first.broker.clients().length === 2, 2000, 'first client gone');
    const pub = await raw(first.port, 4);
    await pub.client.publish(`${base}/a`, 'queued', 1);
    await pub.client.publish(`${base}/b`, 'in flight', 2, { retain: true });
    const unacked = await b.client.expect('publish'); // not acknowledged
    assert.equal(unacked.payload.toString(), 'in flight');
    await first.broker.close();

    const second = await start(store);
    assert.equal(second.broker.sysValues().get('$SYS/broker/clients/disconnected'), '2');
    const a2 = await raw(second.port, 4, { clientId: offlineId, clean: false });
    assert.equal(a2.connack.sessionPresent, true);
    const got = [(await a2.client.receive()).payload.toString(), (await a2.client.receive()).payload.toString()];
    assert.deepEqual(got, ['queued', 'in flight']);
    const b2 = await raw(second.port, 5, { clientId: inflightId, clean: false, properties: { sessionExpiryInterval: 600 } });
    assert.equal(b2.connack.sessionPresent, true);
    const resent = await b2.client.expect('publish');
    assert.equal(resent.payload.toString(), 'in flight');
    assert.equal(resent.dup, true); // [MQTT-4.4.0-1]
    assert.equal(resent.messageId, unacked.messageId);
    assert.equal(resent.properties?.subscriptionIdentifier, 9);
    // retained message kept too, and the subscription still routes
    const late = await raw(second.port, 4);
    await late.client.subscribe(`${base}/b`, 0);
    assert.equal((await late.client.expect('publish')).payload.toString(), 'in flight');
    const pub2 = await raw(second.port, 4);
    await pub2.client.publish(`${base}/a`, 'after restart', 1);
    assert.equal((await a2.client.receive()).payload.toString(), 'after restart');
  });

  test('[MQTT-4.3.3-10] a QoS 2 PUBLISH re-sent after a restart, before PUBREL, is not delivered again', async () => {
    const store = new MemoryStore();
    const first = await start(store);
    const id = uniqueId('q2p');
    const topic = `${id}/t`;
    const sub = await raw(first.port, 4, { clientId: `${id}-sub`, clean: false });
    await sub.client.subscribe(topic, 2);
    const pub = await raw(first.port, 4, { clientId: id, clean: false });
    const packet = { cmd: 'publish' as const, topic, payload: Buffer.from('exactly once'), qos: 2 as const, messageId: 7, retain: false, dup: false };
    pub.client.send(packet);
    await pub.client.expect('pubrec');
    assert.equal((await sub.client.receive()).payload.toString(), 'exactly once');
    await waitUntil(() => first.broker.clients().find((c) => c.id === `${id}-sub`)?.inflight === 0, 2000, 'the delivery complete');
    await first.broker.close();

    const second = await start(store);
    const sub2 = await raw(second.port, 4, { clientId: `${id}-sub`, clean: false });
    const pub2 = await raw(second.port, 4, { clientId: id, clean: false });
    assert.equal(pub2.connack.sessionPresent, true);
    pub2.client.send({ ...packet, dup: true });
    await pub2.client.expect('pubrec');
    pub2.client.send({ cmd: 'pubrel', messageId: 7 });
    await pub2.client.expect('pubcomp');
    assert.equal(await sub2.client.silentFor(200), true);
  });

  test('clean sessions and sessions that expired while the broker was down are not restored', async () => {
    const store = new MemoryStore();
    const first = await start(store);
    const shortId = uniqueId('short');
    const cleanId = uniqueId('clean');
    const s = await raw(first.port, 5, { clientId: shortId, properties: { sessionExpiryInterval: 1 } });
    await s.client.subscribe('x/#', 1);
    const c = await raw(first.port, 4, { clientId: cleanId, clean: true });
    await c.client.subscribe('x/#', 1);
    await first.broker.close();
    assert.deepEqual((await store.listSessions()).map((x) => x.clientId), [shortId]);
    const savedAt = Date.now();
    await waitUntil(() => Date.now() - savedAt > 1100, 3000, 'the short session to expire');
    const second = await start(store);
    const again = await raw(second.port, 5, { clientId: shortId, clean: false, properties: { sessionExpiryInterval: 1 } });
    assert.equal(again.connack.sessionPresent, false);
    const again4 = await raw(second.port, 4, { clientId: cleanId, clean: false });
    assert.equal(again4.connack.sessionPresent, false);
  });
});
