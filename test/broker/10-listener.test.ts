// 10-listener: listeners on port 0, several listeners (TCP and WebSocket), a port in use, close.
import { describe, test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import { loadBrokerModule, needsBrokerObject, VERSIONS, versionName, type BrokerLike } from './helpers/broker';
import { RawClient, uniqueId } from './helpers/raw-client';
import { wrap } from './helpers/mqttjs';
import { freePort } from '../helpers/net';

const skip = needsBrokerObject;

describe('10-listener', { timeout: 30_000, skip }, () => {
  const open: BrokerLike[] = [];
  const sockets: Array<{ destroy(): void }> = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    for (const b of open) await b.close().catch(() => undefined);
  });
  function create(options: Record<string, unknown>): BrokerLike {
    const b = loadBrokerModule().createBroker({ connectTimeout: 2000, ...options });
    open.push(b);
    return b;
  }

  test('port 0 binds a free port, reported by addresses()', async () => {
    const b = create({ listeners: [{ host: '127.0.0.1', port: 0 }] });
    await b.listen();
    const [addr] = b.addresses();
    assert.ok(addr.port > 0);
    for (const version of VERSIONS) {
      const { client, connack } = await RawClient.connect(addr.port, version);
      sockets.push(client);
      assert.equal(connack.reasonCode ?? connack.returnCode, 0);
    }
  });

  for (const version of VERSIONS) {
    test(`${versionName(version)}: a TCP and a WebSocket listener share one broker`, async () => {
      const b = create({
        listeners: [
          { host: '127.0.0.1', port: 0 },
          { host: '127.0.0.1', port: 0, protocol: 'ws', path: '/mqtt' },
        ],
      });
      await b.listen();
      const addrs = b.addresses();
      assert.equal(addrs.length, 2);
      const tcpPort = addrs[0].port;
      const wsPort = addrs[1].port;
      assert.equal(addrs[1].protocol, 'ws');
      const ws = wrap(mqtt.connect(`ws://127.0.0.1:${wsPort}/mqtt`, { protocolVersion: version, reconnectPeriod: 0, clientId: uniqueId('ws') }));
      sockets.push({ destroy: () => ws.client.end(true) });
      await new Promise<void>((resolve, reject) => {
        ws.client.once('connect', () => resolve());
        ws.client.once('error', reject);
      });
      const { client: tcp } = await RawClient.connect(tcpPort, version);
      sockets.push(tcp);
      const t = `${uniqueId('l')}/x`;
      await tcp.subscribe(t, 1);
      await ws.client.subscribeAsync(t, { qos: 1 });
      await ws.client.publishAsync(t, 'over-ws', { qos: 1 });
      assert.equal((await tcp.receive()).payload.toString(), 'over-ws');
      await tcp.publish(t, 'over-tcp', 1);
      const seen = [await ws.nextMessage(), await ws.nextMessage()].map((m) => m.payload.toString()).sort();
      assert.deepEqual(seen, ['over-tcp', 'over-ws']);
    });
  }

  test('a WebSocket listener with a path refuses other paths', async () => {
    const b = create({ listeners: [{ host: '127.0.0.1', port: 0, protocol: 'ws', path: '/mqtt' }] });
    await b.listen();
    const port = b.addresses()[0].port;
    const c = mqtt.connect(`ws://127.0.0.1:${port}/elsewhere`, { reconnectPeriod: 0, connectTimeout: 2000 });
    sockets.push({ destroy: () => c.end(true) });
    const outcome = await new Promise<string>((resolve) => {
      c.once('connect', () => resolve('connected'));
      c.once('error', () => resolve('error'));
      c.once('close', () => resolve('closed'));
    });
    assert.notEqual(outcome, 'connected');
  });

  test('a port in use: listen() rejects with EADDRINUSE and releases the other listeners', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const busy = (blocker.address() as net.AddressInfo).port;
    sockets.push({ destroy: () => blocker.close() });
    const first = await freePort();
    const b = create({
      listeners: [
        { host: '127.0.0.1', port: first },
        { host: '127.0.0.1', port: busy },
      ],
    });
    await assert.rejects(b.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    // The listener that did bind is closed again: its port is free.
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(first, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => probe.close(r));
  });

  test('close() disconnects clients (5.0: DISCONNECT 0x8B) and stops accepting', async () => {
    const b = create({ listeners: [{ host: '127.0.0.1', port: 0 }] });
    await b.listen();
    const port = b.addresses()[0].port;
    const { client: v4 } = await RawClient.connect(port, 4);
    const { client: v5 } = await RawClient.connect(port, 5);
    sockets.push(v4, v5);
    await b.close();
    assert.deepEqual(await v4.closedByBroker(), []);
    const fromServer = await v5.closedByBroker();
    for (const p of fromServer) {
      assert.equal(p.cmd, 'disconnect');
      assert.equal((p as { reasonCode?: number }).reasonCode, 0x8b, 'Server shutting down');
    }
    await assert.rejects(RawClient.open(port, 4));
  });
});
