// Engine: authorizeRead on every delivery (live, retained on subscribe, queued), authorizePublish on
// Wills, and maxQueuedMessages 0 meaning no limit.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, type BrokerOptions, type ClientHandle, createBroker } from '../../src/broker';
import type { BrokerMessage, DropReason } from '../../src/broker';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: 2000, ...options });
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

function collectDrops(broker: Broker): [string, string, DropReason][] {
  const dropped: [string, string, DropReason][] = [];
  const on = (m: BrokerMessage, clientId: string, reason: DropReason) => dropped.push([m.payload.toString(), clientId, reason]);
  broker.on('dropped', on);
  cleanups.push(() => broker.off('dropped', on));
  return dropped;
}

describe('engine: authorizeRead', () => {
  // "reader" may read only topics under its own name; everything else is readable by everyone else
  const base = uniqueId('ar');
  const calls: string[] = [];
  const authorizeRead = (client: ClientHandle, topic: string, message: BrokerMessage): boolean => {
    calls.push(`${client.username ?? '-'} ${topic} ${message.payload.toString()}`);
    return client.username !== 'reader' || topic.startsWith(`${base}/reader/`);
  };

  for (const version of [4, 5] as const) {
    test(`v${version}: live deliveries the client may not read are dropped for it alone, QoS 0, 1 and 2`, async () => {
      calls.length = 0;
      const { broker, port } = await start({ authorizeRead });
      const drops = collectDrops(broker);
      const reader = await raw(port, version, { clientId: uniqueId('r'), username: 'reader' });
      const other = await raw(port, version, { clientId: uniqueId('o'), username: 'other' });
      await reader.client.subscribe(`${base}/#`, 2);
      await other.client.subscribe(`${base}/#`, 2);
      const pub = await raw(port, version);
      for (const qos of [0, 1, 2] as const) {
        await pub.client.publish(`${base}/secret`, `s${qos}`, qos);
        await pub.client.publish(`${base}/reader/ok`, `k${qos}`, qos);
      }
      const got: string[] = [];
      for (let i = 0; i < 3; i++) got.push((await reader.client.receive()).payload.toString());
      assert.deepEqual(got, ['k0', 'k1', 'k2']);
      assert.equal(await reader.client.silentFor(150), true);
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) seen.push((await other.client.receive()).payload.toString());
      assert.deepEqual(seen, ['s0', 'k0', 's1', 'k1', 's2', 'k2']);
      assert.deepEqual(
        drops.filter((d) => d[2] === 'not-authorized').map((d) => d[0]),
        ['s0', 's1', 's2'],
      );
      assert.ok(calls.includes(`reader ${base}/secret s1`));
    });
  }

  test('retained messages sent on subscribe are filtered by authorizeRead', async () => {
    const { broker, port } = await start({ authorizeRead });
    await broker.publish({ topic: `${base}/secret`, payload: 'hidden', retain: true, qos: 1 });
    await broker.publish({ topic: `${base}/reader/x`, payload: 'shown', retain: true, qos: 1 });
    const reader = await raw(port, 5, { username: 'reader' });
    await reader.client.subscribe(`${base}/#`, 1);
    const m = await reader.client.receive();
    assert.equal(m.payload.toString(), 'shown');
    assert.equal(m.retain, true);
    assert.equal(await reader.client.silentFor(150), true);
    const other = await raw(port, 5, { username: 'other' });
    await other.client.subscribe(`${base}/#`, 1);
    const both = [(await other.client.receive()).payload.toString(), (await other.client.receive()).payload.toString()].sort();
    assert.deepEqual(both, ['hidden', 'shown']);
  });

  test('messages queued for an offline session are checked as they go out', async () => {
    let allowed = true;
    const { port } = await start({ authorizeRead: () => allowed });
    const id = uniqueId('q');
    const first = await raw(port, 4, { clientId: id, clean: false, username: 'u' });
    await first.client.subscribe(`${base}/q`, 1);
    first.client.disconnect();
    const pub = await raw(port, 4);
    await pub.client.publish(`${base}/q`, 'queued', 1);
    allowed = false; // the rule changed while the message waited
    const again = await raw(port, 4, { clientId: id, clean: false, username: 'u' });
    assert.equal(again.connack.sessionPresent, true);
    assert.equal(await again.client.silentFor(200), true);
  });
});

describe('engine: authorizePublish applies to Wills', () => {
  for (const version of [4, 5] as const) {
    test(`v${version}: a Will the client may not publish is dropped and logged; an allowed one goes`, async () => {
      const lines: string[] = [];
      const base = uniqueId('will');
      const { port } = await start({
        logger: { info: (m) => lines.push(m) },
        authorizePublish: (client, packet) => client.username === 'good' || !packet.topic.endsWith('/guarded'),
      });
      const watcher = await raw(port, version);
      await watcher.client.subscribe(`${base}/#`, 1);
      const bad = await raw(port, version, { clientId: uniqueId('bad'), username: 'bad', will: { topic: `${base}/guarded`, payload: Buffer.from('bad-will'), qos: 1, retain: false } });
      const good = await raw(port, version, { clientId: uniqueId('good'), username: 'good', will: { topic: `${base}/guarded`, payload: Buffer.from('good-will'), qos: 1, retain: false } });
      bad.client.destroy(); // no DISCONNECT: the Will is due [MQTT-3.1.2-8]
      await waitUntil(() => lines.some((l) => l.includes('not published')), 3000, 'log line');
      good.client.destroy();
      const m = await watcher.client.receive();
      assert.equal(m.payload.toString(), 'good-will');
      assert.equal(await watcher.client.silentFor(150), true);
      assert.ok(lines.some((l) => l.includes(`on ${base}/guarded not published: not authorized`)));
    });
  }
});

describe('engine: maxQueuedMessages 0 is no limit', () => {
  test('an offline session with maxQueuedMessages 0 keeps every message', async () => {
    const { broker, port } = await start({ maxQueuedMessages: 0 });
    const drops = collectDrops(broker);
    const id = uniqueId('nolimit');
    const topic = `${id}/t`;
    const first = await raw(port, 4, { clientId: id, clean: false });
    await first.client.subscribe(topic, 1);
    first.client.disconnect();
    await waitUntil(() => broker.clients().every((c) => c.id !== id), 2000, 'client gone');
    const pub = await raw(port, 4);
    // more than the default bound of 1000
    const total = 1500;
    for (let i = 1; i <= total; i++) pub.client.send({ cmd: 'publish', topic, payload: `m${i}`, qos: 1, messageId: i, retain: false, dup: false });
    await pub.client.awaitReply('puback', total, 10_000);
    assert.deepEqual(drops, []);
    const again = await raw(port, 4, { clientId: id, clean: false });
    for (let i = 1; i <= total; i++) assert.equal((await again.client.receive()).payload.toString(), `m${i}`);
  });
});
