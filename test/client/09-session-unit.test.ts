// The client's protocol logic without a network: session, keepalive on a fake clock, backoff,
// state transitions, packet ids and topic aliases.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttError } from '../../src/client';
import { reconnectDelay } from '../../src/client/backoff';
import { KeepaliveMonitor } from '../../src/client/keepalive';
import { PacketIdAllocator } from '../../src/client/packet-ids';
import { ClientSession, SessionOptions } from '../../src/client/session';
import { assertTransition, canTransition } from '../../src/client/state';
import { InboundTopicAliases, OutboundTopicAliases } from '../../src/client/topic-alias';
import { encodedLength } from '../../src/codec';
import type { Packet, PublishPacket } from '../../src/codec/types';
import { FakeClock } from './helpers/fake-clock';

describe('keepalive on a fake clock', () => {
  function monitor() {
    const clock = new FakeClock();
    const events: string[] = [];
    const k = new KeepaliveMonitor(clock, () => events.push(`ping@${clock.now()}`), (waited) => events.push(`dead@${clock.now()}/${waited}`));
    return { clock, events, k };
  }

  test('PINGREQ after one quiet keepalive period; the link is dead when nothing answers within the timeout', () => {
    const { clock, events, k } = monitor();
    k.start(10, 5000);
    clock.advance(9999);
    assert.deepEqual(events, []);
    clock.advance(1);
    assert.deepEqual(events, ['ping@10000']);
    k.packetReceived(); // PINGRESP
    clock.advance(10000);
    assert.deepEqual(events, ['ping@10000', 'ping@20000']);
    clock.advance(5000);
    assert.deepEqual(events, ['ping@10000', 'ping@20000', 'dead@25000/5000']);
  });

  test('outbound traffic alone does not hide a silent server', () => {
    const { clock, events, k } = monitor();
    k.start(10, 5000);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      k.packetSent();
    }
    assert.deepEqual(events, ['ping@10000']);
  });

  test('traffic both ways defers the ping; keepalive 0 turns it off; stop clears every timer', () => {
    const { clock, events, k } = monitor();
    k.start(10, 5000);
    for (let i = 0; i < 30; i++) {
      clock.advance(1000);
      k.packetSent();
      k.packetReceived();
    }
    assert.deepEqual(events, []);
    k.stop();
    assert.equal(clock.pending, 0);
    k.start(0, 5000);
    clock.advance(1e6);
    assert.deepEqual(events, []);
    assert.equal(clock.pending, 0);
  });
});

describe('reconnect backoff', () => {
  test('exponential from the base, capped at the maximum, jitter in the upper half', () => {
    assert.equal(reconnectDelay(0, 1000, 30000, () => 0), 500);
    assert.equal(reconnectDelay(0, 1000, 30000, () => 0.999999), 1000);
    assert.equal(reconnectDelay(3, 1000, 30000, () => 0.999999), 8000);
    assert.equal(reconnectDelay(10, 1000, 30000, () => 0.999999), 30000);
    assert.equal(reconnectDelay(100, 1000, 30000, () => 0), 15000);
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = reconnectDelay(attempt, 1000, 30000);
      assert.ok(d >= 500 && d <= 30000, `attempt ${attempt}: ${d}`);
    }
  });
});

describe('state transitions', () => {
  test('allowed and refused changes are decided in one table', () => {
    assert.ok(canTransition('connecting', 'connected'));
    assert.ok(canTransition('connected', 'reconnecting'));
    assert.ok(canTransition('reconnecting', 'connecting'));
    assert.ok(canTransition('disconnecting', 'closed'));
    assert.ok(!canTransition('closed', 'connecting'));
    assert.ok(!canTransition('reconnecting', 'connected'));
    assert.throws(() => assertTransition('closed', 'connected'), /cannot change from 'closed' to 'connected'/);
  });
});

describe('packet ids and topic aliases', () => {
  test('ids skip those in flight, wrap from 65535 to 1, and run out only when all are taken', () => {
    const ids = new PacketIdAllocator();
    const inUse = new Set<number>([1, 2, 4]);
    assert.equal(ids.allocate(inUse), 3);
    assert.equal(ids.allocate(inUse), 5);
    const all = new Set<number>();
    for (let i = 1; i <= 65535; i++) all.add(i);
    assert.equal(ids.allocate(all), undefined);
    all.delete(2);
    assert.equal(ids.allocate(all), 2);
  });

  test('outbound aliases up to the maximum; inbound aliases checked', () => {
    const out = new OutboundTopicAliases();
    out.reset(1);
    assert.deepEqual(out.lookupOrAssign('a'), { alias: 1, known: false });
    assert.deepEqual(out.lookupOrAssign('a'), { alias: 1, known: true });
    assert.equal(out.lookupOrAssign('b'), undefined);
    out.reset(0);
    assert.equal(out.lookupOrAssign('a'), undefined);
    const inbound = new InboundTopicAliases(2);
    assert.equal(inbound.resolve('t', 1), 't');
    assert.equal(inbound.resolve('', 1), 't');
    assert.equal(inbound.resolve('', 2), 0x82);
    assert.equal(inbound.resolve('x', 3), 0x94);
    assert.equal(inbound.resolve('x', 0), 0x94);
  });
});

describe('session without a network', () => {
  function session(options: Partial<SessionOptions> = {}) {
    const sent: Packet[] = [];
    const errors: MqttError[] = [];
    const delivered: PublishPacket[] = [];
    const s = new ClientSession(
      { protocolVersion: 5, queueLimit: 10, resubscribe: true, autoAssignTopicAlias: false, receiveMaximum: 65535, topicAliasMaximum: 0, ...options },
      {
        send: (p) => sent.push(p),
        message: (p) => delivered.push(p),
        error: (e) => errors.push(e),
        protocolError: (e) => errors.push(e),
        encodedLength: (p) => encodedLength(p, 5),
        canWrite: () => true,
      },
    );
    const publish = (topic: string, qos: 0 | 1 | 2) =>
      new Promise<unknown>((resolve, reject) => s.publish({ type: 'publish', topic, payload: Buffer.from(topic), qos, retain: false, dup: false }, resolve, reject));
    return { s, sent, errors, delivered, publish };
  }

  test("publishes wait for the connection, then go out no faster than the server's Receive Maximum", async () => {
    const { s, sent, publish } = session();
    const done = [publish('a', 1), publish('b', 2), publish('c', 1), publish('d', 0)];
    assert.equal(sent.length, 0);
    assert.equal(s.queuedCount, 4);
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 2 } });
    assert.deepEqual(sent.map((p) => p.type === 'publish' && p.topic), ['a', 'b']);
    const [a, b] = sent as PublishPacket[];
    s.handle({ type: 'pubrec', packetId: b.packetId as number });
    assert.equal(sent.length, 3, 'PUBREL only: the QoS 2 flow still holds its slot');
    assert.equal(sent[2].type, 'pubrel');
    s.handle({ type: 'puback', packetId: a.packetId as number });
    assert.deepEqual(sent.slice(3).map((p) => p.type === 'publish' && p.topic), ['c', 'd'], 'c takes the free slot, d (QoS 0) follows in order');
    s.handle({ type: 'pubcomp', packetId: b.packetId as number });
    s.handle({ type: 'puback', packetId: (sent[3] as PublishPacket).packetId as number });
    await Promise.all(done);
    assert.equal(s.inFlightCount, 0);
    assert.notEqual(a.packetId, b.packetId);
  });

  test('the offline queue is bounded: beyond queueLimit the promise rejects with QUEUE_FULL', async () => {
    const { publish } = session({ queueLimit: 2 });
    void publish('a', 1);
    void publish('b', 0);
    await assert.rejects(publish('c', 1), (e: unknown) => e instanceof MqttError && e.code === 'QUEUE_FULL');
  });

  test('on a lost session, QoS 1 starts over as new and a QoS 2 past PUBREC counts as delivered', async () => {
    const { s, sent, publish } = session();
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    const q1 = publish('q1', 1);
    const q2 = publish('q2', 2);
    s.handle({ type: 'pubrec', packetId: (sent[1] as PublishPacket).packetId as number });
    s.disconnected();
    sent.length = 0;
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    await q2;
    assert.deepEqual(sent.map((p) => [p.type, p.type === 'publish' && p.dup]), [['publish', false]]);
    s.handle({ type: 'puback', packetId: (sent[0] as PublishPacket).packetId as number });
    await q1;
  });

  test('on a resumed session, PUBLISH goes again with DUP and PUBREL again for a QoS 2 past PUBREC', () => {
    const { s, sent, publish } = session();
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    void publish('q1', 1);
    void publish('q2', 2);
    const [p1, p2] = sent as PublishPacket[];
    s.handle({ type: 'pubrec', packetId: p2.packetId as number });
    s.disconnected();
    sent.length = 0;
    s.onConnack({ type: 'connack', sessionPresent: true, reasonCode: 0 });
    assert.deepEqual(
      sent.map((p) => [p.type, p.type === 'publish' ? p.dup : undefined, 'packetId' in p ? p.packetId : undefined]),
      [['publish', true, p1.packetId], ['pubrel', undefined, p2.packetId]],
    );
    assert.equal(p1.dup, false, 'the packet first sent is left as it was');
  });

  test("a resumed session resends no faster than the new Receive Maximum, then sends what waited [MQTT-4.9.0-2]", () => {
    const { s, sent, publish } = session();
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    for (const t of ['a', 'b', 'c']) void publish(t, 1);
    const ids = (sent as PublishPacket[]).map((p) => p.packetId as number);
    s.disconnected();
    void publish('d', 1);
    sent.length = 0;
    s.onConnack({ type: 'connack', sessionPresent: true, reasonCode: 0, properties: { receiveMaximum: 1 } });
    const view = () => sent.map((p) => (p.type === 'publish' ? `${p.topic}${p.dup ? '*' : ''}` : p.type));
    assert.deepEqual(view(), ['a*']);
    s.handle({ type: 'puback', packetId: ids[0] });
    assert.deepEqual(view(), ['a*', 'b*']);
    s.handle({ type: 'puback', packetId: ids[1] });
    assert.deepEqual(view(), ['a*', 'b*', 'c*']);
    s.handle({ type: 'puback', packetId: ids[2] });
    assert.deepEqual(view(), ['a*', 'b*', 'c*', 'd'], 'the new message after the resent ones');
  });

  test('an unknown acknowledgement is a typed error, the session carries on', () => {
    const { s, errors } = session();
    s.onConnack({ type: 'connack', sessionPresent: false, reasonCode: 0 });
    s.handle({ type: 'puback', packetId: 99 });
    s.handle({ type: 'unsuback', packetId: 98, reasonCodes: [0] });
    assert.deepEqual(errors.map((e) => e.code), ['UNKNOWN_ACK', 'UNKNOWN_ACK']);
  });

  test('failAll rejects everything pending with the given error', async () => {
    const { s, publish } = session();
    const pending = publish('x', 1);
    s.failAll(new MqttError('CLIENT_ENDED', 'ended'));
    await assert.rejects(pending, (e: unknown) => e instanceof MqttError && e.code === 'CLIENT_ENDED');
    assert.equal(s.queuedCount, 0);
  });
});
