// Engine internals: bounded queues and the 'dropped' event, the outbound in-flight window, resend on
// resume, message expiry in queues.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, createBroker } from '../../src/broker';
import type { BrokerMessage, DropReason } from '../../src/broker';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

function useEngine(options: Parameters<typeof createBroker>[0] = {}) {
  const state: { broker: Broker; port: number; cleanups: (() => unknown)[] } = { broker: undefined as unknown as Broker, port: 0, cleanups: [] };
  before(async () => {
    state.broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: 2000, ...options });
    await state.broker.listen();
    state.port = state.broker.addresses()[0].port;
  });
  afterEach(async () => {
    for (const c of state.cleanups.splice(0).reverse()) await c();
  });
  after(() => state.broker.close());
  return state;
}

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1], cleanups: (() => unknown)[]) {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  const connack = await client.expect('connack');
  return { client, connack };
}

describe('engine: queue bound and dropped messages', () => {
  const e = useEngine({ maxQueuedMessages: 3 });

  test('an offline persistent session queues at most maxQueuedMessages; the rest is counted and emitted as dropped', async () => {
    const id = uniqueId('q');
    const topic = `${id}/t`;
    const first = await raw(e.port, 4, { clientId: id, clean: false }, e.cleanups);
    await first.client.subscribe(topic, 1);
    first.client.disconnect();
    await waitUntil(() => e.broker.clients().every((c) => c.id !== id), 2000, 'client gone');

    const dropped: [string, string, DropReason][] = [];
    const onDropped = (m: BrokerMessage, clientId: string, reason: DropReason) => dropped.push([m.payload.toString(), clientId, reason]);
    e.broker.on('dropped', onDropped);
    e.cleanups.push(() => e.broker.off('dropped', onDropped));
    const pub = await raw(e.port, 4, {}, e.cleanups);
    for (let i = 0; i < 5; i++) await pub.client.publish(topic, `m${i}`, 1);
    assert.deepEqual(dropped, [
      ['m3', id, 'queue-full'],
      ['m4', id, 'queue-full'],
    ]);

    const again = await raw(e.port, 4, { clientId: id, clean: false }, e.cleanups);
    assert.equal(again.connack.sessionPresent, true); // [MQTT-3.2.2-2]
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await again.client.receive()).payload.toString());
    assert.deepEqual(got, ['m0', 'm1', 'm2']); // order kept [MQTT-4.6.0-2]
    assert.equal(await again.client.silentFor(200), true);
  });
});

describe('engine: outbound in-flight window', () => {
  const e = useEngine({ maxInflightMessages: 2 });

  test('no more than maxInflightMessages unacknowledged; the rest waits and follows each PUBACK', async () => {
    const topic = `${uniqueId('w')}/t`;
    const sub = await raw(e.port, 4, {}, e.cleanups);
    await sub.client.subscribe(topic, 1);
    const pub = await raw(e.port, 4, {}, e.cleanups);
    for (let i = 0; i < 5; i++) await pub.client.publish(topic, `m${i}`, 1);
    const p0 = await sub.client.expect('publish');
    const p1 = await sub.client.expect('publish');
    assert.deepEqual([p0.payload.toString(), p1.payload.toString()], ['m0', 'm1']);
    assert.equal(await sub.client.silentFor(150), true);
    const info = e.broker.clients().find((c) => c.inflight === 2);
    assert.ok(info, 'a client with two in flight');
    assert.equal(info.queued, 3);
    sub.client.send({ cmd: 'puback', messageId: p0.messageId! });
    const p2 = await sub.client.expect('publish');
    assert.equal(p2.payload.toString(), 'm2');
    assert.equal(await sub.client.silentFor(100), true);
  });

  test('5.0: the window is the smaller of the client Receive Maximum and maxInflightMessages', async () => {
    const topic = `${uniqueId('rm')}/t`;
    const sub = await raw(e.port, 5, { properties: { receiveMaximum: 1 } }, e.cleanups);
    await sub.client.subscribe(topic, 2);
    const pub = await raw(e.port, 5, {}, e.cleanups);
    for (let i = 0; i < 3; i++) await pub.client.publish(topic, `m${i}`, 2);
    const p0 = await sub.client.expect('publish');
    assert.equal(await sub.client.silentFor(150), true);
    sub.client.send({ cmd: 'pubrec', messageId: p0.messageId! });
    await sub.client.expect('pubrel');
    assert.equal(await sub.client.silentFor(100), true); // still in flight until PUBCOMP
    sub.client.send({ cmd: 'pubcomp', messageId: p0.messageId! });
    assert.equal((await sub.client.expect('publish')).payload.toString(), 'm1');
  });
});

describe('engine: resume', () => {
  const e = useEngine();

  test('[MQTT-4.4.0-1] unacknowledged PUBLISH and PUBREL are sent again on resume, PUBLISH with DUP', async () => {
    const id = uniqueId('r');
    const topic = `${id}/t`;
    const first = await raw(e.port, 4, { clientId: id, clean: false }, e.cleanups);
    await first.client.subscribe(topic, 2);
    const pub = await raw(e.port, 4, {}, e.cleanups);
    await pub.client.publish(topic, 'a', 1);
    await pub.client.publish(topic, 'b', 2);
    const a = await first.client.expect('publish');
    const b = await first.client.expect('publish');
    first.client.send({ cmd: 'pubrec', messageId: b.messageId! }); // b now awaits PUBCOMP
    await first.client.expect('pubrel');
    first.client.destroy();
    await waitUntil(() => e.broker.clients().every((c) => c.id !== id), 2000, 'client gone');

    const again = await raw(e.port, 4, { clientId: id, clean: false }, e.cleanups);
    assert.equal(again.connack.sessionPresent, true);
    const ra = await again.client.expect('publish');
    assert.equal(ra.payload.toString(), 'a');
    assert.equal(ra.dup, true);
    assert.equal(ra.messageId, a.messageId);
    const rel = await again.client.expect('pubrel');
    assert.equal(rel.messageId, b.messageId);
  });

  test('5.0: a queued message past its Message Expiry Interval is dropped; another gets its remaining interval [MQTT-3.3.2-6]', async () => {
    const id = uniqueId('x');
    const topic = `${id}/t`;
    const first = await raw(e.port, 5, { clientId: id, clean: true, properties: { sessionExpiryInterval: 60 } }, e.cleanups);
    await first.client.subscribe(topic, 1);
    first.client.disconnect();
    await waitUntil(() => e.broker.clients().every((c) => c.id !== id), 2000, 'client gone');
    const reasons: DropReason[] = [];
    const onDropped = (_m: BrokerMessage, clientId: string, reason: DropReason) => clientId === id && reasons.push(reason);
    e.broker.on('dropped', onDropped);
    e.cleanups.push(() => e.broker.off('dropped', onDropped));
    const pub = await raw(e.port, 5, {}, e.cleanups);
    await pub.client.publish(topic, 'short', 1, { properties: { messageExpiryInterval: 1 } });
    await pub.client.publish(topic, 'long', 1, { properties: { messageExpiryInterval: 100 } });
    const sentAt = Date.now();
    await waitUntil(() => Date.now() - sentAt > 1100, 3000, 'the first message to expire');
    const again = await raw(e.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } }, e.cleanups);
    assert.equal(again.connack.sessionPresent, true);
    const p = await again.client.receive();
    assert.equal(p.payload.toString(), 'long');
    const remaining = p.properties?.messageExpiryInterval ?? 0;
    assert.ok(remaining >= 97 && remaining <= 99, `remaining ${remaining}`);
    assert.deepEqual(reasons, ['expired']);
  });
});

describe('engine: outgoing buffer bound', () => {
  const e = useEngine({ maxOutgoingBufferSize: 64 * 1024 });

  test('QoS 0 to a client that does not read is dropped once its socket holds more than maxOutgoingBufferSize', async () => {
    const topic = `${uniqueId('slow')}/t`;
    const slow = await raw(e.port, 4, {}, e.cleanups);
    await slow.client.subscribe(topic, 0);
    slow.client.socket.pause();
    let dropped = 0;
    const onDropped = (_m: BrokerMessage, _id: string, reason: DropReason) => reason === 'buffer-full' && dropped++;
    e.broker.on('dropped', onDropped);
    e.cleanups.push(() => e.broker.off('dropped', onDropped));
    const pub = await raw(e.port, 4, {}, e.cleanups);
    const payload = Buffer.alloc(32 * 1024, 7);
    // kernel buffers take a few MB before the broker's own buffer grows: keep publishing until drops show
    await waitUntil(async () => {
      for (let i = 0; i < 20; i++) await pub.client.publish(topic, payload, 0);
      pub.client.send({ cmd: 'pingreq' });
      await pub.client.expect('pingresp');
      return dropped > 0;
    }, 8000, 'buffer-full drops');
    assert.ok(dropped > 0);
  });
});
