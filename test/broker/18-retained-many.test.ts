// 18-retained-many: thousands of retained messages to one new subscription, sent in one burst (in
// the SUBSCRIBE's own tick and written in large batches). Each message once, in the store's order,
// RETAIN set, and nothing the burst must not bypass: the in-flight window, authorizeRead and the
// outgoing buffer bound. Also the same through a store that answers only by promise.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, type BrokerMessage, type BrokerOptions, type DropReason, MemoryStore, createBroker } from '../../src/broker';
import { RawClient, connectPacket, uniqueId, type RawPacket } from './helpers/raw-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, ...options });
  await broker.listen();
  cleanups.push(() => broker.close());
  return { broker, port: broker.addresses()[0].port };
}

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}): Promise<RawClient> {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  await client.expect('connack');
  return client;
}

function collectDrops(broker: Broker): Map<DropReason, number> {
  const drops = new Map<DropReason, number>();
  const on = (_m: BrokerMessage, _clientId: string, reason: DropReason) => drops.set(reason, (drops.get(reason) ?? 0) + 1);
  broker.on('dropped', on);
  cleanups.push(() => broker.off('dropped', on));
  return drops;
}

/** Payload of message i: mostly small, every 500th past the copy limit, every 1000th past a write chunk. */
function payloadOf(i: number): Buffer {
  const size = i % 1000 === 999 ? 70_000 : i % 500 === 499 ? 5000 : 20 + (i % 50);
  const payload = Buffer.alloc(size, i % 251);
  payload.writeUInt32BE(i, 0);
  return payload;
}

async function storeRetained(broker: Broker, base: string, count: number, qos: 0 | 1 | 2 = 0): Promise<void> {
  for (let i = 0; i < count; i++) await broker.publish({ topic: `${base}/${i}`, payload: payloadOf(i), qos, retain: true });
}

/** The next `count` packets, or fewer if the broker goes quiet for `quietMs`. */
async function collect(client: RawClient, count: number, quietMs = 1000): Promise<RawPacket[]> {
  const out: RawPacket[] = [];
  while (out.length < count) {
    const p = await client.nextOrClose(quietMs).catch(() => 'quiet' as const);
    if (p === 'closed' || p === 'quiet') break;
    out.push(p);
  }
  return out;
}

const COUNT = 3000;

for (const version of [4, 5] as const) {
  describe(`18-retained-many v${version}`, { timeout: 60_000 }, () => {
    test(`${COUNT} retained messages reach a new '#' subscription once each, in order, RETAIN 1 (3.1.1 [MQTT-3.3.1-8] / 5.0 [MQTT-3.3.1-9]), after the SUBACK`, async () => {
      const { broker, port } = await start();
      const base = uniqueId('many');
      await storeRetained(broker, base, COUNT);
      const sub = await raw(port, version);
      sub.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: `${base}/#`, qos: 0 }] });
      const packets = await collect(sub, COUNT + 1);
      assert.equal(packets[0].cmd, 'suback');
      const publishes = packets.slice(1);
      assert.equal(publishes.length, COUNT);
      publishes.forEach((p, i) => {
        assert.equal(p.cmd, 'publish');
        if (p.cmd !== 'publish') return;
        assert.equal(p.topic, `${base}/${i}`);
        assert.equal(p.retain, true);
        assert.deepEqual(p.payload, payloadOf(i));
      });
      assert.ok(await sub.silentFor(200), 'nothing beyond the retained messages');
    });

    test('retained messages on non-ASCII topics, empty, small and large payloads arrive intact at QoS 0 and 1 (3.1.1 [MQTT-3.3.5-1] / 5.0 [MQTT-3.3.4-1] minimum QoS)', async () => {
      const { broker, port } = await start();
      const base = `${uniqueId('utf')}/zürich/€`;
      const payloads = [Buffer.from('ä'), Buffer.alloc(200, 7), Buffer.alloc(20_000, 9)];
      for (let i = 0; i < payloads.length; i++) await broker.publish({ topic: `${base}/${i}`, payload: payloads[i], qos: 1, retain: true });
      await broker.publish({ topic: `${base}/gone`, payload: 'x', retain: true });
      await broker.publish({ topic: `${base}/gone`, payload: Buffer.alloc(0), retain: true });
      for (const qos of [0, 1] as const) {
        const sub = await raw(port, version);
        await sub.subscribe(`${base}/#`, qos);
        for (let i = 0; i < payloads.length; i++) {
          const p = await sub.receive();
          assert.equal(p.topic, `${base}/${i}`);
          assert.deepEqual(p.payload, payloads[i]);
          assert.equal(p.retain, true);
          assert.equal(p.qos, qos);
        }
        assert.ok(await sub.silentFor(200), 'the removed retained message is not sent');
      }
    });

    test('QoS 1 retained messages keep to the in-flight window: the rest wait for PUBACKs (5.0 Receive Maximum [MQTT-3.3.4-9])', async () => {
      const window = 10;
      const { broker, port } = await start({ maxInflightMessages: window });
      const base = uniqueId('win');
      const total = 200;
      await storeRetained(broker, base, total, 1);
      const sub = await raw(port, version, version === 5 ? { properties: { receiveMaximum: window } } : {});
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${base}/#`, qos: 1 }] });
      const first = (await collect(sub, window + 2, 500)).filter((p) => p.cmd === 'publish');
      assert.equal(first.length, window, 'no more than the window before any PUBACK');
      const seen = first.map((p) => (p.cmd === 'publish' ? p.topic : ''));
      for (const p of first) if (p.cmd === 'publish') sub.send({ cmd: 'puback', messageId: p.messageId! });
      while (seen.length < total) {
        const p = await sub.receive(); // acknowledges it
        seen.push(p.topic);
      }
      assert.deepEqual(seen, Array.from({ length: total }, (_, i) => `${base}/${i}`));
      assert.ok(await sub.silentFor(200));
    });

    test('authorizeRead is asked for each retained message of the burst; the refused ones are dropped for this client alone', async () => {
      const base = uniqueId('acl');
      const { broker, port } = await start({
        authorizeRead: (client, topic) => client.username !== 'reader' || Number(topic.slice(base.length + 1)) % 3 !== 0,
      });
      const drops = collectDrops(broker);
      await storeRetained(broker, base, COUNT);
      const reader = await raw(port, version, { username: 'reader' });
      await reader.subscribe(`${base}/#`, 0);
      const got = (await collect(reader, COUNT)).map((p) => (p.cmd === 'publish' ? p.topic : p.cmd));
      const allowed = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 3 !== 0);
      assert.deepEqual(got, allowed.map((i) => `${base}/${i}`));
      assert.equal(drops.get('not-authorized'), COUNT - allowed.length);
      const other = await raw(port, version, { username: 'other' });
      await other.subscribe(`${base}/#`, 0);
      assert.equal((await collect(other, COUNT)).length, COUNT);
    });

    test('past maxOutgoingBufferSize the rest of a QoS 0 burst is dropped (drop-qos0) and the client stays connected', async () => {
      const { broker, port } = await start({ maxOutgoingBufferSize: 16 * 1024 });
      const drops = collectDrops(broker);
      const base = uniqueId('buf');
      await storeRetained(broker, base, COUNT);
      const sub = await raw(port, version);
      await sub.subscribe(`${base}/#`, 0);
      const got = await collect(sub, COUNT);
      const dropped = drops.get('buffer-full') ?? 0;
      assert.ok(dropped > 0, 'a 200 KB burst does not fit a 16 KB bound');
      assert.equal(got.length + dropped, COUNT, 'each message either sent or dropped');
      got.forEach((p, i) => assert.equal(p.cmd === 'publish' && p.topic, `${base}/${i}`, 'what is sent is the start of the burst, in order'));
      await sub.publish(`${base}/after`, 'x', 1); // still connected, and answered
      assert.equal(sub.closed, false);
    });

    for (const promiseOnly of [false, true]) {
      test(`a store given in the options${promiseOnly ? ', answering only by promise' : ''}: the retained messages follow the SUBACK that waited for its write`, async () => {
        const store = new MemoryStore();
        if (promiseOnly) (store as { matchRetainedNow?: unknown }).matchRetainedNow = undefined;
        const { broker, port } = await start({ store });
        const base = uniqueId('async');
        await storeRetained(broker, base, 500);
        const sub = await raw(port, version);
        sub.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${base}/#`, qos: 0 }] });
        const packets = await collect(sub, 501);
        assert.equal(packets[0].cmd, 'suback');
        assert.deepEqual(
          packets.slice(1).map((p) => (p.cmd === 'publish' && p.retain ? p.topic : p.cmd)),
          Array.from({ length: 500 }, (_, i) => `${base}/${i}`),
        );
      });
    }
  });
}
