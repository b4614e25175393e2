// Engine internals: hooks (sync and async), events, clients(), $SYS values, broker.publish().
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Broker, type BrokerOptions, type ClientInfo, createBroker } from '../../src/broker';
import type { Packet } from '../../src/codec';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

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

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}) {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  const connack = await client.expect('connack');
  return { client, connack };
}

const delay = <T>(value: T) => new Promise<T>((r) => setImmediate(() => r(value)));

describe('engine: hooks', () => {
  test('authenticate: false refuses (3.1.1 return code 4 / 5.0 0x86), an async true accepts, a reason code is passed on', async () => {
    const { port } = await start({
      authenticate: (_client, username, password) => {
        if (username === 'async') return delay(password?.toString() === 'ok');
        if (username === 'banned') return { reasonCode: 0x8a };
        return username === 'sync' && password?.toString() === 'ok';
      },
    });
    assert.equal((await raw(port, 4, { username: 'sync', password: Buffer.from('bad') })).connack.returnCode, 4);
    assert.equal((await raw(port, 5, { username: 'sync', password: Buffer.from('bad') })).connack.reasonCode, 0x86);
    assert.equal((await raw(port, 4, { username: 'async', password: Buffer.from('ok') })).connack.returnCode, 0);
    assert.equal((await raw(port, 5, { username: 'async', password: Buffer.from('ok') })).connack.reasonCode, 0);
    assert.equal((await raw(port, 5, { username: 'banned', password: Buffer.from('ok') })).connack.reasonCode, 0x8a);
    assert.equal((await raw(port, 4, { username: 'banned', password: Buffer.from('ok') })).connack.returnCode, 5);
  });

  test('packets sent right behind CONNECT wait for an async authenticate, in order', async () => {
    const { port } = await start({ authenticate: () => new Promise((r) => setTimeout(() => r(true), 50)) });
    const client = await RawClient.open(port, 4);
    cleanups.push(() => client.destroy());
    client.send(connectPacket(4));
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    client.send({ cmd: 'pingreq' });
    assert.deepEqual([(await client.next()).cmd, (await client.next()).cmd, (await client.next()).cmd], ['connack', 'suback', 'pingresp']);
  });

  test('authorizePublish: refused messages are not delivered; 5.0 PUBACK carries the reason code', async () => {
    const { port } = await start({ authorizePublish: (_c, packet) => (packet.topic.endsWith('/secret') ? 0x87 : delay(true)) });
    const base = uniqueId('ap');
    const { client: sub } = await raw(port, 5);
    await sub.subscribe(`${base}/#`, 1);
    const { client: pub } = await raw(port, 5);
    const refused = await pub.publish(`${base}/secret`, 'no', 1);
    assert.equal(refused?.reasonCode, 0x87);
    const ok = await pub.publish(`${base}/open`, 'yes', 1);
    assert.equal(ok?.reasonCode ?? 0, 0);
    assert.equal((await sub.receive()).payload.toString(), 'yes');
    assert.equal(await sub.silentFor(100), true);
  });

  test('authorizeSubscribe: a granted QoS, a refusal (5.0 0x87, 3.1.1 0x80), and async answers', async () => {
    const { port } = await start({
      authorizeSubscribe: (_c, s) => (s.topicFilter === 'deny' ? false : s.topicFilter === 'low' ? 0 : delay(s.qos)),
    });
    const { client: c5 } = await raw(port, 5);
    const s5 = await c5.subscribe([{ topic: 'deny', qos: 1 }, { topic: 'low', qos: 2 }, { topic: 'ok', qos: 2 }]);
    assert.deepEqual(s5.granted, [0x87, 0, 2]);
    assert.match(s5.properties?.reasonString ?? '', /deny \(NotAuthorized\)/);
    const { client: c4 } = await raw(port, 4);
    const s4 = await c4.subscribe([{ topic: 'deny', qos: 1 }, { topic: 'ok', qos: 1 }]);
    assert.deepEqual(s4.granted, [0x80, 1]);
  });

  test('an Authentication Method without an enhanced-authentication hook: CONNACK 0x8C', async () => {
    const { port } = await start();
    const { connack, client } = await raw(port, 5, { properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    assert.equal(connack.reasonCode, 0x8c);
    await client.closedByBroker();
  });

  test('enhanced authentication: AUTH continues the exchange until the hook accepts', async () => {
    const { port } = await start({
      enhancedAuthenticate: (_c, step) =>
        step.data?.toString() === 'answer' ? { reasonCode: 0 } : { reasonCode: 0x18, data: Buffer.from('challenge') },
    });
    const client = await RawClient.open(port, 5);
    cleanups.push(() => client.destroy());
    client.send(connectPacket(5, { properties: { authenticationMethod: 'demo' } }));
    const auth = await client.expect('auth');
    assert.equal(auth.reasonCode, 0x18);
    assert.equal(auth.properties?.authenticationData?.toString(), 'challenge');
    client.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'demo', authenticationData: Buffer.from('answer') } });
    const connack = await client.expect('connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'demo');
  });
});

describe('engine: more options', () => {
  test('re-authentication (5.0 AUTH 0x19) goes through the enhanced-authentication hook', async () => {
    const { port } = await start({
      enhancedAuthenticate: (_c, step) => (step.data?.toString() === 'bad' ? { reasonCode: 0x87, reasonString: 'no' } : { reasonCode: 0 }),
    });
    const { client, connack } = await raw(port, 5, { properties: { authenticationMethod: 'demo', authenticationData: Buffer.from('good') } });
    assert.equal(connack.reasonCode, 0);
    client.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'demo', authenticationData: Buffer.from('good') } });
    assert.equal((await client.expect('auth')).reasonCode, 0);
    client.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'demo', authenticationData: Buffer.from('bad') } });
    const seen = await client.closedByBroker();
    assert.equal((seen[0] as { reasonCode?: number }).reasonCode, 0x87);
  });

  test('Request Response Information: Response Information only for clients that ask', async () => {
    const { port } = await start({ responseInformation: 'replies/' });
    const asked = await raw(port, 5, { properties: { requestResponseInformation: true } });
    assert.equal(asked.connack.properties?.responseInformation, 'replies/');
    const silent = await raw(port, 5);
    assert.equal(silent.connack.properties?.responseInformation, undefined);
  });

  test('messageSizeLimit: a larger payload is not delivered (5.0 PUBACK 0x97)', async () => {
    const { port } = await start({ messageSizeLimit: 10 });
    const { client: sub } = await raw(port, 5);
    await sub.subscribe('size/t', 1);
    const { client: pub } = await raw(port, 5);
    assert.equal((await pub.publish('size/t', 'this is too long', 1))?.reasonCode, 0x97);
    await pub.publish('size/t', 'short', 1);
    assert.equal((await sub.receive()).payload.toString(), 'short');
  });

  test('protocol violations are logged through the logger at protocolErrorLogLevel; the process and other clients carry on', async () => {
    const lines: string[] = [];
    const { port } = await start({ logger: { warn: (m) => lines.push(m) }, protocolErrorLogLevel: 'warn' });
    const other = await raw(port, 4);
    const { client } = await raw(port, 5, { clientId: 'bad-one' });
    client.sendBytes([0x30, 0x03, 0x00, 0x05, 0x61]); // topic length 5, one byte of it
    const seen = await client.closedByBroker();
    assert.equal((seen[0] as { reasonCode?: number }).reasonCode, 0x81);
    assert.ok(lines.some((l) => l.includes('bad-one') && l.includes('0x81')), lines.join('\n'));
    other.client.send({ cmd: 'pingreq' });
    await other.client.expect('pingresp');
  });
});

describe('engine: subscription bound', () => {
  test('maxSubscriptionsPerClient: further filters are refused (5.0 0x97 Quota exceeded, 3.1.1 0x80); replacing one is fine', async () => {
    const { port } = await start({ maxSubscriptionsPerClient: 2 });
    const { client: c5 } = await raw(port, 5);
    const s5 = await c5.subscribe([{ topic: 'a', qos: 0 }, { topic: 'b', qos: 1 }, { topic: 'c', qos: 1 }]);
    assert.deepEqual(s5.granted, [0, 1, 0x97]);
    assert.deepEqual((await c5.subscribe('a', 2)).granted, [2]);
    const { client: c4 } = await raw(port, 4);
    const s4 = await c4.subscribe([{ topic: 'a', qos: 0 }, { topic: 'b', qos: 1 }, { topic: 'c', qos: 1 }]);
    assert.deepEqual(s4.granted, [0, 1, 0x80]);
  });
});

describe('engine: events, clients() and broker.publish()', () => {
  test('clientConnected, subscribed, published, unsubscribed, clientDisconnected with reasons; clients() info', async () => {
    const { broker, port } = await start();
    const events: string[] = [];
    broker.on('clientConnected', (c: ClientInfo) => events.push(`connected ${c.id}`));
    broker.on('subscribed', (id, subs) => events.push(`subscribed ${id} ${subs.map((s) => `${s.topicFilter}@${s.qos}`).join(',')}`));
    broker.on('unsubscribed', (id, filters) => events.push(`unsubscribed ${id} ${filters.join(',')}`));
    broker.on('published', (m, id) => events.push(`published ${id} ${m.topic}`));
    broker.on('clientDisconnected', (c: ClientInfo, reason) => events.push(`disconnected ${c.id} ${reason}`));
    const { client } = await raw(port, 5, { clientId: 'ev1', keepalive: 30 });
    await client.subscribe('ev/t', 1);
    await client.publish('ev/t', 'hello', 1);
    await client.receive();
    const info = broker.clients();
    assert.equal(info.length, 1);
    assert.equal(info[0].id, 'ev1');
    assert.equal(info[0].protocolVersion, 5);
    assert.equal(info[0].keepalive, 30);
    assert.equal(info[0].subscriptions, 1);
    assert.match(info[0].address, /^127\.0\.0\.1:\d+$/);
    assert.ok(info[0].bytesIn > 0 && info[0].bytesOut > 0);
    assert.ok(info[0].connectedSince <= Date.now());
    await client.unsubscribe(['ev/t']);
    const { client: b } = await raw(port, 4, { clientId: 'ev2' });
    b.destroy();
    client.disconnect();
    await waitUntil(() => events.length >= 7, 2000, 'events');
    assert.deepEqual(events.slice(0, 5), ['connected ev1', 'subscribed ev1 ev/t@1', 'published ev1 ev/t', 'unsubscribed ev1 ev/t', 'connected ev2']);
    assert.deepEqual(events.slice(5).sort(), ['disconnected ev1 disconnect', 'disconnected ev2 closed']);
  });

  test('packetIn / packetOut are emitted while something listens', async () => {
    const { broker, port } = await start();
    const seen: string[] = [];
    const onIn = (p: Packet, id: string | undefined) => seen.push(`in ${p.type} ${id ?? '-'}`);
    const onOut = (p: Packet, id: string | undefined) => seen.push(`out ${p.type} ${id ?? '-'}`);
    broker.on('packetIn', onIn);
    broker.on('packetOut', onOut);
    const { client } = await raw(port, 4, { clientId: 'pk' });
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
    assert.deepEqual(seen, ['in connect -', 'out connack pk', 'in pingreq pk', 'out pingresp pk']);
    broker.off('packetIn', onIn);
    broker.off('packetOut', onOut);
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
    assert.equal(seen.length, 4);
  });

  test('broker.publish() injects messages (retained too, $SYS allowed) and rejects invalid topics', async () => {
    const { broker, port } = await start();
    const { client } = await raw(port, 4);
    await client.subscribe('inj/#', 2);
    await broker.publish({ topic: 'inj/a', payload: 'from the broker', qos: 1 });
    const p = await client.receive();
    assert.equal(p.payload.toString(), 'from the broker');
    assert.equal(p.qos, 1);
    await broker.publish({ topic: 'inj/kept', payload: Buffer.from('r'), retain: true });
    await client.receive();
    const { client: late } = await raw(port, 4);
    await late.subscribe('inj/kept', 0);
    const r = await late.expect('publish');
    assert.equal(r.retain, true); // [MQTT-3.3.1-8]
    await assert.rejects(broker.publish({ topic: 'inj/+', payload: 'x' }), TypeError);
  });
});

describe('engine: $SYS', () => {
  test('values follow the broker state, published retained at sysInterval; # does not match them [MQTT-4.7.2-1]', async () => {
    const { broker, port } = await start({ sysInterval: 1 });
    const { client: a } = await raw(port, 4);
    await a.subscribe('sys/x', 1);
    await broker.publish({ topic: 'sys/kept', payload: 'r', retain: true });
    await raw(port, 5);
    const values = broker.sysValues();
    assert.match(values.get('$SYS/broker/version')!, /^mqtt-hub /);
    assert.equal(values.get('$SYS/broker/clients/connected'), '2');
    assert.equal(values.get('$SYS/broker/clients/maximum'), '2');
    assert.equal(values.get('$SYS/broker/subscriptions/count'), '1');
    assert.ok(Number(values.get('$SYS/broker/messages/received')) >= 3);
    assert.ok(Number(values.get('$SYS/broker/bytes/received')) > 0);
    assert.ok(values.has('$SYS/broker/load/messages/received/1min'));
    const { client: watcher } = await raw(port, 4);
    await watcher.subscribe('$SYS/broker/clients/connected', 0);
    const deadline = Date.now() + 3000;
    let connected = '';
    while (connected !== '3' && Date.now() < deadline) connected = (await watcher.expect('publish', 3000)).payload.toString();
    assert.equal(connected, '3');
    // the retained count is asked from the store each round: $SYS values themselves are retained too
    assert.ok(Number(broker.sysValues().get('$SYS/broker/retained messages/count')) > 1);
    const { client: all } = await raw(port, 4);
    await all.subscribe('#', 0);
    assert.equal((await all.expect('publish')).topic, 'sys/kept'); // retained, not a $SYS one
    assert.equal(await all.silentFor(1200), true);
  });

  test('clients cannot publish to $SYS: 5.0 PUBACK 0x87, nothing delivered', async () => {
    const { port } = await start();
    const { client: watcher } = await raw(port, 5);
    await watcher.subscribe('$SYS/forged', 1);
    const { client } = await raw(port, 5);
    const ack = await client.publish('$SYS/forged', 'x', 1);
    assert.equal(ack?.reasonCode, 0x87);
    const { client: v4 } = await raw(port, 4);
    await v4.publish('$SYS/forged', 'y', 0);
    assert.equal(await watcher.silentFor(200), true);
  });
});
