// Reconnecting: backoff, resubscribe when the server kept no session, resending in-flight QoS 1/2
// on a resumed session, and the bounded offline queue. A TCP proxy between client and Mosquitto
// plays the failing network.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttError } from '../../src/client';
import type { Packet, PublishPacket } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';
import { TcpProxy } from './helpers/tcp-proxy';

let mq: MosquittoInstance;
let proxy: TcpProxy;
let direct: string;
let viaProxy: string;
const pool = new ClientPool();
let idCounter = 0;

before(async () => {
  mq = await startMosquitto();
  direct = `mqtt://127.0.0.1:${mq.port}`;
});
after(() => disposeMosquitto(mq));
beforeEach(async () => {
  proxy = await TcpProxy.start(mq.port);
  viaProxy = `mqtt://127.0.0.1:${proxy.port}`;
});
afterEach(async () => {
  await pool.endAll();
  await proxy.close();
});

function sent(client: ReturnType<ClientPool['open']>): Packet[] {
  const packets: Packet[] = [];
  client.on('packetsend', (p) => packets.push(structuredClone(p)));
  return packets;
}

describe('reconnect', () => {
  test('retries with backoff while the broker is unreachable, then connects again', async () => {
    const c = await pool.connected(viaProxy, { reconnectPeriod: 20, reconnectPeriodMax: 200 });
    const errors: MqttError[] = [];
    c.on('error', (e) => errors.push(e));
    let reconnects = 0;
    c.on('reconnect', () => reconnects++);
    const offline = nextEvent(c, 'offline');
    proxy.refuse(true);
    proxy.dropConnections();
    await offline;
    await waitUntil(() => reconnects >= 4, 10000, 'several reconnect attempts');
    assert.ok(c.state === 'reconnecting' || c.state === 'connecting');
    proxy.refuse(false);
    await nextEvent(c, 'connect', 10000);
    assert.equal(c.state, 'connected');
    assert.ok(proxy.accepted >= 5);
  });

  test("end() from inside 'close', 'offline' or 'reconnect' listeners stops the client cleanly", async () => {
    for (const event of ['close', 'offline', 'reconnect'] as const) {
      const c = await pool.connected(viaProxy, { reconnectPeriod: 20 });
      const ended: Promise<void>[] = [];
      c.once(event, () => ended.push(c.end()));
      proxy.dropConnections();
      await waitUntil(() => ended.length === 1, 5000, `end() called from '${event}'`);
      await ended[0];
      assert.equal(c.state, 'closed', event);
    }
  });

  test('with reconnectPeriod 0 a lost connection closes the client and rejects what was pending', async () => {
    const c = await pool.connected(viaProxy, { reconnectPeriod: 0 });
    proxy.blackhole();
    const pending = c.publish('r/none', 'x', { qos: 1 });
    proxy.dropConnections();
    await assert.rejects(pending, (e: unknown) => e instanceof MqttError && e.code === 'SESSION_LOST');
    assert.equal(c.state, 'closed');
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`resubscribes when the server kept no session, keeping the caller's subscriptions (protocol ${protocolVersion})`, async () => {
      const c = await pool.connected(viaProxy, { protocolVersion, reconnectPeriod: 20, clean: true });
      await c.subscribe({ 'resub/a': 1, 'resub/b/#': 2 });
      await c.subscribe('resub/gone');
      await c.unsubscribe('resub/gone');
      const packets = sent(c);
      const got = collectMessages(c);
      proxy.dropConnections();
      const [connack] = await nextEvent(c, 'connect');
      assert.equal(connack.sessionPresent, false);
      const pub = await pool.connected(direct, { protocolVersion });
      await waitUntil(async () => {
        await pub.publish('resub/a', 'a', { qos: 1 });
        return got.length > 0;
      }, 5000, 'message after resubscribe');
      const subscribes = packets.filter((p) => p.type === 'subscribe');
      assert.equal(subscribes.length, 1);
      assert.deepEqual(
        subscribes[0].type === 'subscribe' && subscribes[0].subscriptions.map((s) => [s.topicFilter, s.qos]),
        [['resub/a', 1], ['resub/b/#', 2]],
      );
    });
  }

  test('resubscribe: false leaves the new session without subscriptions', async () => {
    const c = await pool.connected(viaProxy, { reconnectPeriod: 20, resubscribe: false });
    await c.subscribe('nores/a', { qos: 1 });
    const packets = sent(c);
    proxy.dropConnections();
    await nextEvent(c, 'connect');
    await c.publish('nores/a', 'x', { qos: 1 });
    assert.equal(packets.filter((p) => p.type === 'subscribe').length, 0);
  });
});

describe('session resume', () => {
  test('unacknowledged QoS 1 and 2 PUBLISH are resent with DUP and their packet ids [MQTT-4.4.0-1]', async () => {
    const clientId = `resume-${process.pid}-${idCounter++}`;
    const sub = await pool.connected(direct, { clientId: `${clientId}-sub` });
    await sub.subscribe('resume/#', { qos: 2 });
    const got = collectMessages(sub);

    const c = await pool.connected(viaProxy, { clientId, clean: false, reconnectPeriod: 20 });
    const packets = sent(c);
    proxy.blackhole(); // nothing gets through: the broker never sees these
    const p1 = c.publish('resume/1', 'one', { qos: 1 });
    const p2 = c.publish('resume/2', 'two', { qos: 2 });
    await waitUntil(() => packets.length === 2, 5000, 'two publishes written');
    proxy.resume();
    proxy.dropConnections();
    const [connack] = await nextEvent(c, 'connect');
    assert.equal(connack.sessionPresent, true);
    assert.equal((await p1)?.type, 'puback');
    assert.equal((await p2)?.type, 'pubcomp');
    const publishes = packets.filter((p): p is PublishPacket => p.type === 'publish');
    assert.deepEqual(
      publishes.map((p) => [p.topic, p.dup, p.packetId]),
      [
        ['resume/1', false, publishes[0].packetId],
        ['resume/2', false, publishes[1].packetId],
        // [MQTT-3.3.1-1]: DUP on redelivery, same packet ids.
        ['resume/1', true, publishes[0].packetId],
        ['resume/2', true, publishes[1].packetId],
      ],
    );
    await waitUntil(() => got.length === 2, 5000, 'both messages');
    assert.deepEqual(got.map((m) => m.payload).sort(), ['one', 'two']);
  });

  test('a QoS 2 flow cut after PUBREC resumes with PUBREL and the message arrives once', async () => {
    const clientId = `pubrel-${process.pid}-${idCounter++}`;
    const sub = await pool.connected(direct, { clientId: `${clientId}-sub` });
    await sub.subscribe('pubrel/#', { qos: 2 });
    const got = collectMessages(sub);
    const c = await pool.connected(viaProxy, { clientId, clean: false, reconnectPeriod: 20 });
    const packets = sent(c);
    // The PUBREL answering this PUBREC is lost on the way to the broker.
    c.on('packetreceive', (p) => {
      if (p.type === 'pubrec') proxy.blackhole('up');
    });
    const done = c.publish('pubrel/x', 'once', { qos: 2 });
    await waitUntil(() => packets.some((p) => p.type === 'pubrel'), 5000, 'first PUBREL written');
    proxy.resume();
    proxy.dropConnections();
    assert.equal((await done)?.type, 'pubcomp');
    const pubrels = packets.filter((p) => p.type === 'pubrel');
    assert.equal(pubrels.length, 2, 'PUBREL resent after reconnect');
    assert.equal(packets.filter((p) => p.type === 'publish').length, 1, 'the PUBLISH is not resent after PUBREC');
    await waitUntil(() => got.length === 1, 5000, 'message');
    await sub.publish('pubrel/barrier', 'b', { qos: 1 });
    await waitUntil(() => got.length === 2, 5000, 'barrier');
    assert.deepEqual(got.map((m) => m.payload), ['once', 'b']);
  });
});

describe('offline queue', () => {
  test('publishes made while disconnected wait, in order, up to queueLimit; beyond it they reject', async () => {
    const sub = await pool.connected(direct);
    await sub.subscribe('queue/#', { qos: 1 });
    const got = collectMessages(sub);
    const c = await pool.connected(viaProxy, { reconnectPeriod: 20, queueLimit: 3 });
    proxy.refuse(true);
    const offline = nextEvent(c, 'offline');
    proxy.dropConnections();
    await offline;
    const queued = [c.publish('queue/1', '1', { qos: 1 }), c.publish('queue/2', '2', { qos: 0 }), c.publish('queue/3', '3', { qos: 2 })];
    assert.equal(c.queueLength, 3);
    await assert.rejects(c.publish('queue/4', '4', { qos: 1 }), (e: unknown) => e instanceof MqttError && e.code === 'QUEUE_FULL');
    proxy.refuse(false);
    await Promise.all(queued);
    await waitUntil(() => got.length === 3, 5000, 'three queued messages');
    assert.deepEqual(got.map((m) => m.payload), ['1', '2', '3']);
    assert.equal(c.queueLength, 0);
  });

  test('publishes made before the first CONNACK are queued and sent once connected', async () => {
    const sub = await pool.connected(direct);
    await sub.subscribe('early/#', { qos: 1 });
    const got = collectMessages(sub);
    const c = pool.open(viaProxy);
    await c.publish('early/a', 'first', { qos: 1 });
    await waitUntil(() => got.length === 1, 5000, 'message');
    assert.equal(got[0].payload, 'first');
  });

  test('end() while reconnecting resolves and rejects what was queued with CLIENT_ENDED', async () => {
    const c = await pool.connected(viaProxy, { reconnectPeriod: 20 });
    proxy.refuse(true);
    proxy.dropConnections();
    await nextEvent(c, 'offline');
    const queued = c.publish('ended/a', 'x', { qos: 1 });
    await c.end();
    assert.equal(c.state, 'closed');
    await assert.rejects(queued, (e: unknown) => e instanceof MqttError && e.code === 'CLIENT_ENDED');
  });
});
