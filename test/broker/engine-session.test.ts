// The broker session and router without any socket: a fake outlet records what would be sent.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '../../src/codec';
import type { BrokerMessage } from '../../src/broker/message';
import { Router } from '../../src/broker/router';
import { type Delivery, Session, type SessionOutlet, type SessionSubscription } from '../../src/broker/session';

class FakeOutlet implements SessionOutlet {
  readonly id = 'c';
  readonly address = 'test';
  readonly protocolVersion = 5;
  readonly username = undefined;
  sent: string[] = [];
  maxPayload = Infinity;
  open = true;
  sendPublish(d: Delivery, packetId: number | undefined, dup: boolean): boolean {
    if (d.message.payload.length > this.maxPayload) return false;
    const ids = d.subscriptionIdentifiers ? ` ids=${d.subscriptionIdentifiers.join(',')}` : '';
    this.sent.push(`publish ${d.message.payload} q${d.qos}${d.retain ? ' r' : ''}${dup ? ' dup' : ''}${packetId ? ` #${packetId}` : ''}${ids}`);
    return true;
  }
  sendPubrel(packetId: number): void {
    this.sent.push(`pubrel #${packetId}`);
  }
  writable(): boolean {
    return this.open;
  }
}

const msg = (payload: string, qos: QoS = 1, extra: Partial<BrokerMessage> = {}): BrokerMessage => ({
  topic: 't',
  payload: Buffer.from(payload),
  qos,
  retain: false,
  ...extra,
});

function session(maxQueued = 10, window = 2) {
  const drops: string[] = [];
  const s = new Session('c', maxQueued, window, (m, _id, reason) => drops.push(`${m.payload} ${reason}`));
  return { s, drops };
}

describe('Session (no I/O)', () => {
  test('QoS 1 within the window is sent with fresh packet ids, the rest queued, PUBACK moves the queue', () => {
    const { s } = session();
    const out = new FakeOutlet();
    s.attach(out, 2, 0);
    for (const p of ['a', 'b', 'c']) s.deliver(msg(p), 1, false, undefined, 0);
    assert.deepEqual(out.sent, ['publish a q1 #1', 'publish b q1 #2']);
    assert.equal(s.queued, 1);
    assert.equal(s.puback(1, 0), true);
    assert.deepEqual(out.sent.slice(2), ['publish c q1 #3']);
    assert.equal(s.puback(1, 0), false, 'an unknown id is reported');
  });

  test('QoS 2: PUBREC sends PUBREL, PUBCOMP frees the id; a failure PUBREC ends the flow [MQTT-4.3.3-4]', () => {
    const { s } = session();
    const out = new FakeOutlet();
    s.attach(out, 2, 0);
    s.deliver(msg('a', 2), 2, false, undefined, 0);
    s.deliver(msg('b', 2), 2, false, undefined, 0);
    assert.equal(s.pubrec(1, 0, 0), true);
    assert.equal(s.pubcomp(2, 0), false, 'PUBCOMP before PUBREC is not accepted');
    assert.equal(s.pubrec(2, 0x80, 0), true);
    assert.equal(s.pubcomp(1, 0), true);
    assert.deepEqual(out.sent, ['publish a q2 #1', 'publish b q2 #2', 'pubrel #1']);
    assert.equal(s.inflight.size, 0);
  });

  test('offline: QoS 0 is not queued, QoS 1/2 queue up to the bound, the rest reported as queue-full', () => {
    const { s, drops } = session(2);
    s.deliver(msg('zero', 0), 0, false, undefined, 0);
    for (const p of ['a', 'b', 'c']) s.deliver(msg(p), 1, false, undefined, 0);
    assert.equal(s.queued, 2);
    assert.deepEqual(drops, ['c queue-full']);
  });

  test('[MQTT-4.4.0-1] resume re-sends PUBLISH with DUP and PUBREL in order, then drains the queue; expired messages are dropped', () => {
    const { s, drops } = session(10, 2);
    const first = new FakeOutlet();
    s.attach(first, 2, 0);
    s.deliver(msg('a'), 1, false, undefined, 0);
    s.deliver(msg('b', 2), 2, false, [5], 0);
    s.pubrec(2, 0, 0);
    s.detach(10);
    s.deliver(msg('c', 1, { expiresAt: 500 }), 1, false, undefined, 10);
    s.deliver(msg('d'), 1, false, undefined, 10);
    const second = new FakeOutlet();
    s.attach(second, 3, 1000);
    assert.deepEqual(second.sent, ['publish a q1 dup #1', 'pubrel #2', 'publish d q1 #3']);
    assert.deepEqual(drops, ['c expired']);
  });

  test('[MQTT-3.1.2-25] a delivery the outlet refuses (too large) is dropped and frees its id', () => {
    const { s, drops } = session();
    const out = new FakeOutlet();
    out.maxPayload = 3;
    s.attach(out, 2, 0);
    s.deliver(msg('toolarge'), 1, false, undefined, 0);
    s.deliver(msg('ok', 0), 0, false, undefined, 0);
    assert.deepEqual(drops, ['toolarge too-large']);
    assert.equal(s.inflight.size, 0);
    assert.deepEqual(out.sent, ['publish ok q0']);
  });

  test('QoS 0 is dropped while the outlet is not writable (socket buffer bound)', () => {
    const { s, drops } = session();
    const out = new FakeOutlet();
    out.open = false;
    s.attach(out, 2, 0);
    s.deliver(msg('x', 0), 0, false, undefined, 0);
    assert.deepEqual(drops, ['x buffer-full']);
  });
});

describe('Router (no I/O)', () => {
  function sub(s: Session, topicFilter: string, qos: QoS, extra: Partial<SessionSubscription> = {}): SessionSubscription {
    return { session: s, topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined, shared: topicFilter.startsWith('$share/'), ...extra };
  }

  test('[MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.8.4-8] one delivery per session, highest granted QoS capped by the message QoS, all identifiers', () => {
    const router = new Router();
    const { s } = session();
    s.protocolVersion = 5;
    const out = new FakeOutlet();
    s.attach(out, 5, 0);
    router.subscribe(sub(s, 't', 0, { subscriptionIdentifier: 1 }));
    router.subscribe(sub(s, '#', 2, { subscriptionIdentifier: 2 }));
    router.subscribe(sub(s, '+', 1));
    assert.equal(router.route(msg('m', 1), 0), 1);
    assert.equal(out.sent.length, 1);
    assert.match(out.sent[0], /^publish m q1 #1 ids=(1,2|2,1)$/); // the order of identifiers carries no meaning
  });

  test('[MQTT-3.3.1-9] [MQTT-3.3.1-12] [MQTT-3.3.1-13] RETAIN on forwarding: cleared for 3.1.1, kept with Retain As Published under 5.0', () => {
    const router = new Router();
    const mk = (id: string, version: number) => {
      const s = new Session(id, 10, 5, () => undefined);
      s.protocolVersion = version;
      const out = new FakeOutlet();
      s.attach(out, 5, 0);
      return { s, out };
    };
    const a = mk('a', 4);
    const b = mk('b', 5);
    const c = mk('c', 5);
    router.subscribe(sub(a.s, 't', 0));
    router.subscribe(sub(b.s, 't', 0));
    router.subscribe(sub(c.s, 't', 0, { retainAsPublished: true }));
    router.route(msg('r', 0, { retain: true }), 0);
    assert.deepEqual([a.out.sent, b.out.sent, c.out.sent], [['publish r q0'], ['publish r q0'], ['publish r q0 r']]);
  });

  test('[MQTT-3.8.3-3] No Local skips the publisher; unsubscribeAll empties the tree', () => {
    const router = new Router();
    const s = new Session('me', 10, 5, () => undefined);
    const out = new FakeOutlet();
    s.attach(out, 5, 0);
    router.subscribe(sub(s, 't', 1, { noLocal: true }));
    // it matched (the publisher has a subscriber, as Mosquitto counts for PUBACK 0x10) but is not sent
    assert.equal(router.route(msg('mine', 1, { origin: 'me' }), 0), 1);
    assert.equal(router.route(msg('theirs', 1, { origin: 'other' }), 0), 1);
    assert.deepEqual(out.sent, ['publish theirs q1 #1']);
    router.unsubscribeAll(s);
    assert.equal(router.subscriptionCount, 0);
    assert.equal(s.subscriptions.size, 0);
  });
});
