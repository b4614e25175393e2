// 17-limits: each limit hit over real sockets — what the client sees, the log line (one per limit
// per second at most) and the count under $SYS/broker/limits/.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, type BrokerOptions, createBroker } from '../../src/broker';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

const VERSIONS = [4, 5] as const;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  broker: Broker;
  port: number;
  warnings: string[];
  limit(kind: string): number;
}

async function start(options: BrokerOptions = {}): Promise<Started> {
  const warnings: string[] = [];
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: 2000, logger: { warn: (m) => warnings.push(m) }, ...options });
  await broker.listen();
  cleanups.push(() => broker.close());
  const limit = (kind: string): number => Number(broker.sysValues().get(`$SYS/broker/limits/${kind}`));
  return { broker, port: broker.addresses()[0].port, warnings, limit };
}

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}) {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  const connack = await client.expect('connack');
  return { client, connack };
}

const logged = (warnings: string[], kind: string): number => warnings.filter((w) => w.startsWith(`limit ${kind}:`)).length;

describe('17-limits', () => {
  for (const version of VERSIONS) {
    test(`v${version}: maxConnections: one more client is refused (5.0 0x97, 3.1.1 return code 3), logged, counted`, async () => {
      const b = await start({ maxConnections: 2 });
      await raw(b.port, version);
      await raw(b.port, version);
      const third = await raw(b.port, version);
      if (version === 5) assert.equal(third.connack.reasonCode, 0x97);
      else assert.equal(third.connack.returnCode, 3);
      await third.client.closedByBroker();
      assert.equal(b.limit('connections/refused'), 1);
      assert.equal(logged(b.warnings, 'connections/refused'), 1);
      assert.match(b.warnings.find((w) => w.startsWith('limit connections/refused'))!, /maxConnections 2/);
    });

    test(`v${version}: maxQueuedMessages: an offline session keeps the first messages, the rest dropped and counted`, async () => {
      const b = await start({ maxQueuedMessages: 3 });
      const id = uniqueId('mq');
      const first = await raw(b.port, version, { clientId: id, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
      await first.client.subscribe(`${id}/t`, 1);
      first.client.disconnect();
      await waitUntil(() => b.broker.clients().every((c) => c.id !== id), 3000, 'client gone');
      const pub = await raw(b.port, version);
      for (let i = 0; i < 6; i++) await pub.client.publish(`${id}/t`, `m${i}`, 1);
      assert.equal(b.limit('messages/dropped/queue-full'), 3);
      // one line for a burst, with the count of the lines left out
      assert.equal(logged(b.warnings, 'messages/dropped/queue-full'), 1);
      const again = await raw(b.port, version, { clientId: id, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await again.client.receive()).payload.toString());
      assert.deepEqual(got, ['m0', 'm1', 'm2']);
      assert.equal(await again.client.silentFor(150), true);
    });
  }

  test('maxQueuedBytes: payload bytes queued per session are bounded; smaller messages still fit', async () => {
    const b = await start({ maxQueuedBytes: 100 });
    const id = uniqueId('mb');
    const first = await raw(b.port, 4, { clientId: id, clean: false });
    await first.client.subscribe(`${id}/t`, 1);
    first.client.disconnect();
    await waitUntil(() => b.broker.clients().every((c) => c.id !== id), 3000, 'client gone');
    const pub = await raw(b.port, 4);
    await pub.client.publish(`${id}/t`, Buffer.alloc(40, 'a'), 1); // 40
    await pub.client.publish(`${id}/t`, Buffer.alloc(40, 'b'), 1); // 80
    await pub.client.publish(`${id}/t`, Buffer.alloc(40, 'c'), 1); // 120 > 100: dropped
    await pub.client.publish(`${id}/t`, Buffer.alloc(20, 'd'), 1); // 100: fits
    assert.equal(b.limit('messages/dropped/queue-full'), 1);
    assert.match(b.warnings.find((w) => w.startsWith('limit messages/dropped/queue-full'))!, /maxQueuedBytes 100/);
    const again = await raw(b.port, 4, { clientId: id, clean: false });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await again.client.receive()).payload.toString()[0]);
    assert.deepEqual(got, ['a', 'b', 'd']);
    // the queue drained: its bytes are free again
    again.client.disconnect();
    await waitUntil(() => b.broker.clients().every((c) => c.id !== id), 3000, 'client gone');
    await pub.client.publish(`${id}/t`, Buffer.alloc(90, 'e'), 1);
    assert.equal(b.limit('messages/dropped/queue-full'), 1);
  });

  for (const version of VERSIONS) {
    test(`v${version}: maxPublishRate: a burst beyond the rate disconnects the client${version === 5 ? ' with DISCONNECT 0x96' : ''}, logged, counted`, async () => {
      const b = await start({ maxPublishRate: 5 });
      const reasons: string[] = [];
      b.broker.on('clientDisconnected', (_info, reason) => reasons.push(reason));
      const { client } = await raw(b.port, version);
      // 50 PUBLISHes in one write: far beyond 5 a second, whatever the machine's speed
      const one = client.encode({ cmd: 'publish', topic: 'rate/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
      client.sendBytes(Buffer.concat(Array.from({ length: 50 }, () => one)));
      const before = await client.closedByBroker();
      if (version === 5) {
        const disconnect = before.find((p) => p.cmd === 'disconnect');
        assert.ok(disconnect, 'DISCONNECT before the close');
        assert.equal(disconnect.reasonCode, 0x96);
      } else {
        assert.equal(before.length, 0);
      }
      assert.ok(b.limit('messages/dropped/rate') >= 1);
      assert.equal(b.limit('clients/disconnected/rate'), 1);
      assert.equal(logged(b.warnings, 'clients/disconnected/rate'), 1);
      await waitUntil(() => reasons.includes('rate-limit'), 3000, 'clientDisconnected rate-limit');
    });
  }

  test('maxPublishRate: a client within its rate is not disconnected', async () => {
    const b = await start({ maxPublishRate: 1000 });
    const { client } = await raw(b.port, 5);
    for (let i = 0; i < 20; i++) await client.publish('rate/ok', 'x', 1);
    assert.equal(client.closed, false);
    assert.equal(b.limit('messages/dropped/rate'), 0);
  });

  for (const version of VERSIONS) {
    test(`v${version}: maxSubscriptionsPerClient: one filter more is refused (${version === 5 ? '0x97' : '0x80'}), logged, counted`, async () => {
      const b = await start({ maxSubscriptionsPerClient: 2 });
      const { client } = await raw(b.port, version);
      const suback = await client.subscribe(['a/1', 'a/2', 'a/3'].map((t) => ({ topic: t, qos: 1 })) as never);
      assert.deepEqual(suback.granted, [1, 1, version === 5 ? 0x97 : 0x80]);
      assert.equal(b.limit('subscriptions/refused'), 1);
      assert.equal(logged(b.warnings, 'subscriptions/refused'), 1);
    });

    test(`v${version}: maxSubscriptionsPerClient: refusals are logged once per connection, however many and however spread`, async () => {
      const b = await start({ maxSubscriptionsPerClient: 1 });
      const { client } = await raw(b.port, version);
      const filters = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ topic: `f/${from + i}`, qos: 1 }));
      await client.subscribe(filters(50, 0) as never);
      // past the one-line-a-second limit of the other counters: still the same connection, no new line
      await new Promise((r) => setTimeout(r, 1100));
      await client.subscribe(filters(50, 50) as never);
      assert.equal(b.limit('subscriptions/refused'), 99);
      assert.equal(logged(b.warnings, 'subscriptions/refused'), 1);
      assert.match(b.warnings.find((w) => w.startsWith('limit subscriptions/refused'))!, /maxSubscriptionsPerClient 1 /);
      const other = await raw(b.port, version);
      await other.client.subscribe(filters(3, 0) as never);
      assert.equal(logged(b.warnings, 'subscriptions/refused'), 2, 'a second client gets its own line');
    });
  }

  test('maxSubscriptionsPerClient by default: 100,000 subscriptions are granted, the 100,001st is refused and logged', { timeout: 120_000 }, async () => {
    const b = await start();
    const { client } = await raw(b.port, 5);
    const batch = 5000;
    let granted = 0;
    for (let from = 0; from < 100_000; from += batch) {
      const suback = await client.subscribe(Array.from({ length: batch }, (_, i) => ({ topic: `d/${from + i}`, qos: 0 })) as never);
      granted += (suback.granted as number[]).filter((g) => g === 0).length;
    }
    assert.equal(granted, 100_000);
    const last = await client.subscribe([{ topic: 'd/one-more', qos: 0 }] as never);
    assert.deepEqual(last.granted, [0x97]);
    assert.equal(logged(b.warnings, 'subscriptions/refused'), 1);
  });

  for (const version of VERSIONS) {
    test(`v${version}: maxPacketSize: a larger packet closes the connection${version === 5 ? ' (DISCONNECT 0x95)' : ''}, counted`, async () => {
      const b = await start({ maxPacketSize: 1024 });
      const { client } = await raw(b.port, version);
      client.send({ cmd: 'publish', topic: 'big/t', payload: Buffer.alloc(4096), qos: 0, retain: false, dup: false });
      const before = await client.closedByBroker();
      if (version === 5) assert.equal(before.find((p) => p.cmd === 'disconnect')?.reasonCode, 0x95);
      assert.equal(b.limit('packets/refused/too-large'), 1);
      assert.equal(logged(b.warnings, 'packets/refused/too-large'), 1);
    });
  }

  test('messageSizeLimit: a larger payload is dropped (5.0 PUBACK 0x97), logged, counted', async () => {
    const b = await start({ messageSizeLimit: 10 });
    const { client } = await raw(b.port, 5);
    const ack = await client.publish('size/t', Buffer.alloc(11), 1);
    assert.equal(ack?.reasonCode, 0x97);
    assert.equal(b.limit('messages/dropped/message-size'), 1);
    assert.equal(logged(b.warnings, 'messages/dropped/message-size'), 1);
  });

  /** Floods a subscriber that stopped reading with QoS 0 until `done` holds. */
  async function floodSlowReader(b: Started, done: () => boolean): Promise<RawClient> {
    const topic = `${uniqueId('slow')}/t`;
    const slow = await raw(b.port, 5);
    await slow.client.subscribe(topic, 0);
    slow.client.socket.pause();
    const pub = await raw(b.port, 5);
    const payload = Buffer.alloc(32 * 1024, 7);
    // kernel buffers take a few MB before the broker's own buffer grows: keep publishing until it shows
    await waitUntil(async () => {
      for (let i = 0; i < 20 && !done(); i++) await pub.client.publish(topic, payload, 0);
      pub.client.send({ cmd: 'pingreq' });
      await pub.client.expect('pingresp');
      return done();
    }, 15_000, 'the outgoing buffer bound');
    return slow.client;
  }

  test("maxOutgoingBufferSize, 'drop-qos0': a client that stops reading loses QoS 0 messages, stays connected, counted", async () => {
    const b = await start({ maxOutgoingBufferSize: 64 * 1024, outgoingBufferPolicy: 'drop-qos0' });
    const slow = await floodSlowReader(b, () => b.limit('messages/dropped/buffer-full') > 0);
    assert.equal(slow.closed, false);
    assert.equal(b.broker.clients().length, 2);
    assert.equal(b.limit('clients/disconnected/slow'), 0);
    assert.ok(logged(b.warnings, 'messages/dropped/buffer-full') >= 1);
  });

  test("maxOutgoingBufferSize, 'disconnect': a client that stops reading is disconnected, logged, counted", async () => {
    const b = await start({ maxOutgoingBufferSize: 64 * 1024, outgoingBufferPolicy: 'disconnect' });
    const reasons: string[] = [];
    b.broker.on('clientDisconnected', (_info, reason) => reasons.push(reason));
    await floodSlowReader(b, () => b.limit('clients/disconnected/slow') > 0);
    await waitUntil(() => reasons.includes('slow-client'), 5000, 'clientDisconnected slow-client');
    assert.equal(b.broker.clients().length, 1);
    assert.equal(b.limit('clients/disconnected/slow'), 1);
    assert.equal(logged(b.warnings, 'clients/disconnected/slow'), 1);
  });

  test('the counts are published retained under $SYS/broker/limits/ at sysInterval', async () => {
    const b = await start({ maxConnections: 1, sysInterval: 1 });
    const watcher = await raw(b.port, 5);
    const refused = await raw(b.port, 5);
    assert.equal(refused.connack.reasonCode, 0x97);
    await watcher.client.subscribe('$SYS/broker/limits/#', 0);
    await waitUntil(
      async () => {
        const p = await watcher.client.awaitReply('publish', undefined, 3000);
        return p.topic === '$SYS/broker/limits/connections/refused' && p.payload.toString() === '1';
      },
      10_000,
      '$SYS/broker/limits/connections/refused = 1',
    );
  });
});
