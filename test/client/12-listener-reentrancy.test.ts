// What a listener may do from inside an event: end the client, publish, subscribe. The client must
// re-check its state after every emit, queue what a listener sends behind what was already on its
// way (an acknowledgement before DISCONNECT), and start writing only once listeners can be attached.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, MqttClient, MqttError } from '../../src/client';
import type { ClientEvents } from '../../src/client/client';
import type { Packet, ProtocolVersion, QoS } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';
import { ScriptedServer } from './helpers/scripted-server';
import { TcpProxy } from './helpers/tcp-proxy';

let mq: MosquittoInstance;
let url: string;
const pool = new ClientPool();
let idCounter = 0;

before(async () => {
  mq = await startMosquitto();
  url = `mqtt://127.0.0.1:${mq.port}`;
});
after(() => disposeMosquitto(mq));
afterEach(() => pool.endAll());

/** Every packet type the client writes, from the moment this is attached. */
function sentTypes(client: MqttClient): Packet['type'][] {
  const types: Packet['type'][] = [];
  client.on('packetsend', (p) => types.push(p.type));
  return types;
}

function errorsOf(client: MqttClient): MqttError[] {
  const errors: MqttError[] = [];
  client.on('error', (e) => errors.push(e));
  return errors;
}

/** Calls end() from the first `event` that `when` accepts; settles as that end() does. */
function endFrom<K extends keyof ClientEvents>(client: MqttClient, event: K, when: (...args: ClientEvents[K]) => boolean = () => true): Promise<void> {
  return new Promise((resolve) => {
    const listener = (...args: ClientEvents[K]) => {
      if (!when(...args)) return;
      client.off(event, listener as never);
      resolve(client.end());
    };
    client.on(event, listener as never);
  });
}

describe('the first CONNECT', () => {
  test("is written on the next tick: a 'packetsend' listener attached after connect() sees it", async () => {
    const c = pool.open(url, { protocolVersion: 5, clientId: `first-connect-${process.pid}` });
    const sent: Packet[] = [];
    c.on('packetsend', (p) => sent.push(p));
    await nextEvent(c, 'connect');
    assert.equal(sent[0]?.type, 'connect');
    assert.equal(sent[0].type === 'connect' && sent[0].clientId, `first-connect-${process.pid}`);
    assert.equal(sent.filter((p) => p.type === 'connect').length, 1);
  });

  test('end() right after connect() closes without writing anything', async (t) => {
    const server = await ScriptedServer.start();
    t.after(() => server.close());
    const c = connect(server.url, { reconnectPeriod: 0 });
    const sent = sentTypes(c);
    await c.end();
    assert.equal(c.state, 'closed');
    assert.deepEqual(sent, []);
    // If the TCP connection got through before it was destroyed, no byte reached the server.
    if (server.connections.length > 0) {
      await waitUntil(() => server.connections[0].closed, 5000, 'server side closed');
      assert.deepEqual(server.connections[0].received, []);
    }
  });
});

describe("end() from a listener", () => {
  test("'close' of an attempt that never connected, with reconnecting on: the client ends, nothing throws", async () => {
    const port = await freePort(); // nothing listens: the attempt is refused
    const c = connect({ host: '127.0.0.1', port, reconnectPeriod: 1000 });
    c.on('error', () => undefined);
    await endFrom(c, 'close');
    assert.equal(c.state, 'closed');
  });

  test("'error' of a refused attempt, with reconnecting on", async () => {
    const port = await freePort();
    const c = connect({ host: '127.0.0.1', port, reconnectPeriod: 20 });
    await endFrom(c, 'error');
    assert.equal(c.state, 'closed');
  });

  test("'error' when a reconnect's transport refuses its options at once: no state change after the client ended", async (t) => {
    const server = await ScriptedServer.start();
    t.after(() => server.close());
    const c = pool.open(server.url, { reconnectPeriod: 20 });
    const conn = await server.connection();
    await conn.accept();
    await nextEvent(c, 'connect');
    // The next attempt goes over TLS with a key that is no key: tls.connect throws before any I/O.
    c.options.protocol = 'mqtts';
    c.options.key = 'not a key';
    c.options.cert = 'not a certificate';
    const ended = endFrom(c, 'error', (err) => err.code === 'TRANSPORT_ERROR' && /PEM|key|certificate/i.test(err.message));
    conn.close();
    await ended;
    assert.equal(c.state, 'closed');
  });

  for (const event of ['connect', 'packetreceive'] as const) {
    test(`'${event}' of the CONNACK`, async () => {
      const c = pool.open(url);
      const errors = errorsOf(c);
      await endFrom(c, event);
      assert.equal(c.state, 'closed');
      assert.deepEqual(errors, []);
    });
  }

  test("'disconnect' from a 5.0 server", async (t) => {
    const server = await ScriptedServer.start();
    t.after(() => server.close());
    const c = pool.open(server.url, { protocolVersion: 5, reconnectPeriod: 20 });
    const errors = errorsOf(c);
    const conn = await server.connection();
    await conn.accept();
    await nextEvent(c, 'connect');
    const ended = endFrom(c, 'disconnect');
    conn.send({ type: 'disconnect', reasonCode: 0x98 });
    await ended;
    assert.equal(c.state, 'closed');
    assert.deepEqual(errors.map((e) => [e.code, e.reasonCode]), [['SERVER_DISCONNECT', 0x98]]);
  });

  test("'packetsend' of a QoS 0 PUBLISH: the PUBLISH still reaches the broker, ahead of DISCONNECT", async () => {
    const watcher = await pool.connected(url);
    await watcher.subscribe('reentry/last-words');
    const got = collectMessages(watcher);
    const c = await pool.connected(url);
    const errors = errorsOf(c);
    const sent = sentTypes(c);
    const ended = endFrom(c, 'packetsend', (p) => p.type === 'publish');
    await c.publish('reentry/last-words', 'said before leaving');
    await ended;
    await waitUntil(() => got.length === 1, 5000, 'the message');
    assert.equal(got[0].payload, 'said before leaving');
    assert.deepEqual(sent, ['publish', 'disconnect']);
    assert.deepEqual(errors, [], 'no write after end');
  });

  for (const protocolVersion of [4, 5] as ProtocolVersion[]) {
    for (const qos of [1, 2] as QoS[]) {
      test(`'message' at QoS ${qos}: the ${qos === 1 ? 'PUBACK' : 'PUBREC'} goes out before DISCONNECT, so the broker does not deliver it again [MQTT-4.3.${qos === 1 ? '2-2' : '3-2'}] (protocol ${protocolVersion})`, async () => {
        const clientId = `ack-then-end-${process.pid}-${idCounter++}`;
        const topic = `reentry/ack/${clientId}`;
        // A session the broker keeps, so an unacknowledged message would come back on resume [MQTT-4.4.0-1].
        const session = { protocolVersion, clientId, clean: false, properties: protocolVersion === 5 ? { sessionExpiryInterval: 60 } : undefined };
        const first = await pool.connected(url, session);
        await first.subscribe(topic, { qos });
        const errors = errorsOf(first);
        const sent = sentTypes(first);
        const ended = endFrom(first, 'message');
        const publisher = await pool.connected(url, { protocolVersion });
        await publisher.publish(topic, 'once', { qos });
        await ended;
        assert.deepEqual(sent, [qos === 1 ? 'puback' : 'pubrec', 'disconnect']);
        assert.deepEqual(errors, [], 'no write after end');

        const second = pool.open(url, session);
        const got = collectMessages(second);
        const [connack] = await nextEvent(second, 'connect');
        assert.equal(connack.sessionPresent, true);
        // Mosquitto resends what is unacknowledged before anything new: the barrier comes alone.
        await publisher.publish(topic, 'barrier', { qos });
        await waitUntil(() => got.some((m) => m.payload === 'barrier'), 5000, 'the barrier message');
        assert.deepEqual(got.map((m) => m.payload), ['barrier']);
        await second.end({ sessionExpiry: protocolVersion === 5 ? 0 : undefined });
      });
    }
  }

  test("'message', after publishing a reply from the same listener: acknowledgement, reply, DISCONNECT in that order", async () => {
    const watcher = await pool.connected(url);
    await watcher.subscribe('reentry/reply');
    const replies = collectMessages(watcher);
    const c = await pool.connected(url);
    await c.subscribe('reentry/request', { qos: 1 });
    const errors = errorsOf(c);
    const sent = sentTypes(c);
    const ended = new Promise<void>((resolve) => {
      c.once('message', (_topic, payload) => {
        void c.publish('reentry/reply', `re: ${payload.toString()}`);
        resolve(c.end());
      });
    });
    const publisher = await pool.connected(url);
    await publisher.publish('reentry/request', 'ping', { qos: 1 });
    await ended;
    assert.deepEqual(sent, ['puback', 'publish', 'disconnect']);
    await waitUntil(() => replies.length === 1, 5000, 'the reply');
    assert.equal(replies[0].payload, 're: ping');
    assert.deepEqual(errors, []);
  });
});

describe("publish() and subscribe() from a listener", () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.start(mq.port);
  });
  afterEach(() => proxy.close());

  test("from 'close' and 'offline' while reconnecting: queued, then sent on the next connection", async () => {
    const c = await pool.connected(`mqtt://127.0.0.1:${proxy.port}`, { reconnectPeriod: 20 });
    const watcher = await pool.connected(url);
    await watcher.subscribe('reentry/queued/#', { qos: 1 });
    const got = collectMessages(watcher);
    const results: Promise<unknown>[] = [];
    let stateInClose: string | undefined;
    c.once('close', () => {
      stateInClose = c.state;
      results.push(c.subscribe('reentry/queued/echo', { qos: 1 }));
      results.push(c.publish('reentry/queued/from-close', 'c', { qos: 1 }));
    });
    c.once('offline', () => results.push(c.publish('reentry/queued/from-offline', 'o', { qos: 1 })));
    proxy.dropConnections();
    await nextEvent(c, 'connect');
    assert.equal(stateInClose, 'reconnecting');
    const [granted, puback1, puback2] = await Promise.all(results);
    assert.deepEqual(granted, [{ topicFilter: 'reentry/queued/echo', qos: 1, reasonCode: 1 }]);
    assert.equal((puback1 as Packet).type, 'puback');
    assert.equal((puback2 as Packet).type, 'puback');
    await waitUntil(() => got.length === 2, 5000, 'both messages');
    assert.deepEqual(got.map((m) => m.payload), ['c', 'o']);
  });

  test("from 'close' after end(): rejected with CLIENT_ENDED, nothing thrown", async () => {
    const c = await pool.connected(url, { reconnectPeriod: 20 });
    const attempts: Promise<unknown>[] = [];
    c.once('close', () => {
      attempts.push(c.publish('reentry/too-late', 'x', { qos: 1 }), c.subscribe('reentry/too-late'));
    });
    await c.end();
    assert.equal(attempts.length, 2);
    for (const attempt of attempts) {
      await assert.rejects(attempt, (e: unknown) => e instanceof MqttError && e.code === 'CLIENT_ENDED');
    }
  });
});
