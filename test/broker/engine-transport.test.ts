// Engine internals: listeners (TCP, WebSocket), addresses(), EADDRINUSE, the CONNECT timeout,
// takeover, and close() with DISCONNECT 0x8B and wills.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import { type Broker, type BrokerOptions, type ClientInfo, createBroker } from '../../src/broker';
import { PacketDecoder, encode, type Packet, type PublishPacket } from '../../src/codec';
import { freePort, waitUntil } from '../helpers/net';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';
import { connectMqttJs, wrap } from './helpers/mqttjs';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // already closed
    }
  }
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

describe('engine: listeners', () => {
  test('port 0 binds a free port, addresses() tells it', async () => {
    const { broker, port } = await start({ listeners: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, protocol: 'ws' }] });
    const addrs = broker.addresses();
    assert.equal(addrs.length, 2);
    assert.ok(port > 0);
    assert.deepEqual(addrs.map((a) => a.protocol), ['mqtt', 'ws']);
    assert.notEqual(addrs[0].port, addrs[1].port);
    assert.equal(addrs[0].address, '127.0.0.1');
  });

  test('a port in use rejects listen() with code EADDRINUSE and a clear message', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as net.AddressInfo).port;
    const broker = createBroker({ listeners: [{ host: '127.0.0.1', port }], sysInterval: 0 });
    cleanups.push(() => broker.close());
    await assert.rejects(broker.listen(), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'EADDRINUSE');
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*in use`));
      return true;
    });
  });

  test('a failing second listener closes the first again', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const busy = (blocker.address() as net.AddressInfo).port;
    const free = await freePort();
    const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: free }, { host: '127.0.0.1', port: busy }], sysInterval: 0 });
    cleanups.push(() => broker.close());
    await assert.rejects(broker.listen(), { code: 'EADDRINUSE' });
    // the first port is free again: another server can bind it
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(free, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
  });

  for (const version of [4, 5] as const) {
    test(`WebSocket listener: MQTT.js over ws:// (protocol ${version}) publishes and receives`, async () => {
      const { broker } = await start({ listeners: [{ host: '127.0.0.1', port: 0, protocol: 'ws', path: '/mqtt' }] });
      const port = broker.addresses()[0].port;
      const client = mqtt.connect(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: version, reconnectPeriod: 0, clientId: uniqueId('ws') });
      cleanups.push(() => client.end(true));
      const c = wrap(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const topic = `${uniqueId('ws')}/t`;
      await client.subscribeAsync(topic, { qos: 1 });
      await client.publishAsync(topic, 'over websocket', { qos: 1 });
      const m = await c.nextMessage();
      assert.equal(m.payload.toString(), 'over websocket');
      assert.equal(broker.clients()[0].protocolVersion, version);
    });
  }
});

describe('engine: handle()', () => {
  test('any duplex stream enters through handle(): an in-memory pair speaks MQTT with a TCP client', async () => {
    const { broker, port } = await start();
    const toBroker = new PassThrough();
    const fromBroker = new PassThrough();
    broker.handle(Duplex.from({ readable: toBroker, writable: fromBroker }), { address: 'memory' });
    const decoder = new PacketDecoder({ protocolVersion: 5 });
    const received: Packet[] = [];
    fromBroker.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== null && !(p instanceof Error); p = decoder.next()) received.push(p);
    });
    toBroker.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'in-memory' }, 5));
    toBroker.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mem/t', qos: 1 }] }, 5));
    await waitUntil(() => received.length >= 2, 2000, 'CONNACK and SUBACK');
    assert.deepEqual(received.map((p) => p.type), ['connack', 'suback']);
    assert.equal(broker.clients()[0].address, 'memory');
    const tcp = await raw(port, 4);
    await tcp.client.publish('mem/t', 'across transports', 1);
    await waitUntil(() => received.length >= 3, 2000, 'PUBLISH');
    const p = received[2] as PublishPacket;
    assert.equal(p.type, 'publish');
    assert.equal(p.payload.toString(), 'across transports');
  });
});

describe('engine: connection lifecycle', () => {
  test('a socket that never sends CONNECT is closed after connectTimeout', async () => {
    const { port } = await start({ connectTimeout: 200 });
    const client = await RawClient.open(port, 4);
    cleanups.push(() => client.destroy());
    const before = await client.closedByBroker(3000);
    assert.deepEqual(before, []);
  });

  test('[MQTT-3.1.4-3] takeover: 5.0 gets DISCONNECT 0x8E, the new connection gets the session; events tell why', async () => {
    const { broker, port } = await start();
    const reasons: [string, string][] = [];
    broker.on('clientDisconnected', (info: ClientInfo, reason: string) => reasons.push([info.id, reason]));
    const id = uniqueId('take');
    const first = await raw(port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribe(`${id}/t`, 1);
    const second = await raw(port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(second.connack.reasonCode, 0);
    assert.equal(second.connack.sessionPresent, true);
    const before = await first.client.closedByBroker();
    assert.equal(before.length, 1);
    assert.equal(before[0].cmd, 'disconnect');
    assert.equal((before[0] as { reasonCode?: number }).reasonCode, 0x8e);
    assert.deepEqual(reasons, [[id, 'takeover']]);
    assert.equal(broker.clients().length, 1);
    // the subscription survived into the new connection
    const pub = await raw(port, 5);
    await pub.client.publish(`${id}/t`, 'still subscribed', 1);
    assert.equal((await second.client.receive()).payload.toString(), 'still subscribed');
  });

  test('[MQTT-3.1.4-2] takeover under 3.1.1 closes the old connection; its will is published [MQTT-3.1.2-8]', async () => {
    const { port } = await start();
    const id = uniqueId('take4');
    const watcher = await raw(port, 4);
    await watcher.client.subscribe(`${id}/will`, 0);
    const first = await raw(port, 4, { clientId: id, will: { topic: `${id}/will`, payload: Buffer.from('gone'), qos: 0, retain: false } });
    await raw(port, 4, { clientId: id });
    assert.deepEqual(await first.client.closedByBroker(), []);
    assert.equal((await watcher.client.expect('publish')).payload.toString(), 'gone');
  });

  test('close(): stops listening, publishes wills, sends 5.0 clients DISCONNECT 0x8B and resolves when sockets are closed', async () => {
    const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0 });
    await broker.listen();
    const port = broker.addresses()[0].port;
    const id = uniqueId('cl');
    const watcher = await raw(port, 5);
    await watcher.client.subscribe(`${id}/will`, 1);
    const v4 = await raw(port, 4, { will: { topic: `${id}/will`, payload: Buffer.from('server went away'), qos: 1, retain: false } });
    await broker.close();
    const seen = await watcher.client.closedByBroker();
    const will = seen.find((p) => p.cmd === 'publish') as { payload: Buffer } | undefined;
    assert.equal(will?.payload.toString(), 'server went away');
    const last = seen[seen.length - 1] as { cmd: string; reasonCode?: number };
    assert.equal(last.cmd, 'disconnect');
    assert.equal(last.reasonCode, 0x8b);
    assert.deepEqual(await v4.client.closedByBroker(), []);
    assert.equal(broker.clients().length, 0);
    await assert.rejects(RawClient.open(port, 4));
  });

  test('MQTT.js clients see the broker close (3.1.1 and 5.0)', async () => {
    const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0 });
    await broker.listen();
    const port = broker.addresses()[0].port;
    const a = await connectMqttJs(port, 4);
    const b = await connectMqttJs(port, 5);
    cleanups.push(() => a.client.end(true), () => b.client.end(true));
    const disconnect = new Promise<number | undefined>((r) => b.client.once('disconnect', (p) => r(p.reasonCode)));
    await broker.close();
    assert.equal(await disconnect, 0x8b);
    await waitUntil(() => !a.client.connected && !b.client.connected, 2000, 'clients closed');
  });
});
