// The behaviour every BrokerStore implementation must have. Each implementation's test file calls
// runStoreSuite with a factory that returns a fresh, empty store.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerMessage } from '../../src/broker/message';
import type { BrokerStore } from '../../src/broker/store';
import { EMPTY_LEVEL_MATCHES, EMPTY_LEVEL_TOPICS } from '../topics/empty-level-table';

function msg(topic: string, payload: string, extra: Partial<BrokerMessage> = {}): BrokerMessage {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: true, ...extra };
}

export function runStoreSuite(name: string, factory: () => BrokerStore | Promise<BrokerStore>): void {
  describe(`store: ${name}`, () => {
    let store: BrokerStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('retained messages', () => {
      test('store, get, replace [MQTT-3.3.1-5]', async () => {
        await store.storeRetained(msg('a/b', 'one'));
        assert.equal((await store.getRetained('a/b'))?.payload.toString(), 'one');
        await store.storeRetained(msg('a/b', 'two'));
        assert.equal((await store.getRetained('a/b'))?.payload.toString(), 'two');
        assert.equal(await store.countRetained(), 1);
      });

      test('an empty payload deletes [MQTT-3.3.1-10] and is not stored [MQTT-3.3.1-11]', async () => {
        await store.storeRetained(msg('a/b', 'one'));
        await store.storeRetained(msg('a/b', ''));
        assert.equal(await store.getRetained('a/b'), undefined);
        await store.storeRetained(msg('c', ''));
        assert.equal(await store.countRetained(), 0);
      });

      test('keeps properties and expiry', async () => {
        await store.storeRetained(msg('p', 'x', { properties: { contentType: 'text/plain', userProperties: [['k', 'v']] }, expiresAt: 12345 }));
        const got = await store.getRetained('p');
        assert.equal(got?.properties?.contentType, 'text/plain');
        assert.deepEqual(got?.properties?.userProperties, [['k', 'v']]);
        assert.equal(got?.expiresAt, 12345);
        assert.equal(got?.qos, 1);
      });

      test('matchRetained with wildcards, $ topics only for filters not starting with a wildcard [MQTT-4.7.2-1]', async () => {
        for (const t of ['a', 'a/b', 'a/b/c', 'b/c', '$SYS/x']) await store.storeRetained(msg(t, t));
        const topics = async (f: string) => (await store.matchRetained(f)).map((m) => m.topic).sort();
        assert.deepEqual(await topics('a/#'), ['a', 'a/b', 'a/b/c']);
        assert.deepEqual(await topics('+/c'), ['b/c']);
        assert.deepEqual(await topics('a/b'), ['a/b']);
        assert.deepEqual(await topics('#'), ['a', 'a/b', 'a/b/c', 'b/c']);
        assert.deepEqual(await topics('$SYS/#'), ['$SYS/x']);
        assert.deepEqual(await topics('nothing'), []);
      });

      test('matchRetained over empty levels: "a/+/" finds "a/b/", the same as Mosquitto, sync and async [MQTT-4.7.1-3] [MQTT-3.3.1-6]', async () => {
        for (const t of EMPTY_LEVEL_TOPICS) await store.storeRetained(msg(t, t));
        for (const [filter, expected] of EMPTY_LEVEL_MATCHES) {
          assert.deepEqual((await store.matchRetained(filter)).map((m) => m.topic).sort(), expected, filter);
          if (store.matchRetainedNow !== undefined) {
            assert.deepEqual(store.matchRetainedNow(filter).map((m) => m.topic).sort(), expected, `${filter} (now)`);
          }
        }
      });
    });

    describe('sessions and subscriptions', () => {
      test('save, get, list, delete', async () => {
        await store.saveSession({ clientId: 'c1', protocolVersion: 5, sessionExpiryInterval: 60 });
        await store.saveSession({ clientId: 'c2', protocolVersion: 4, sessionExpiryInterval: 0xffffffff, disconnectedAt: 5 });
        assert.equal((await store.getSession('c1'))?.sessionExpiryInterval, 60);
        assert.deepEqual((await store.listSessions()).map((s) => s.clientId).sort(), ['c1', 'c2']);
        await store.saveSession({ clientId: 'c1', protocolVersion: 5, sessionExpiryInterval: 10 });
        assert.equal((await store.getSession('c1'))?.sessionExpiryInterval, 10);
        await store.deleteSession('c1');
        assert.equal(await store.getSession('c1'), undefined);
        assert.equal((await store.getSession('c2'))?.disconnectedAt, 5);
      });

      test('a session keeps its will and its inbound QoS 2 packet ids', async () => {
        const will = { topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false, properties: { willDelayInterval: 5 } };
        await store.saveSession({ clientId: 'c', protocolVersion: 5, sessionExpiryInterval: 60, will, inboundQos2: [7, 65535] });
        const got = await store.getSession('c');
        assert.deepEqual(got?.inboundQos2, [7, 65535]);
        assert.equal(got?.will?.payload.toString(), 'bye');
        assert.equal(got?.will?.properties?.willDelayInterval, 5);
      });

      test('a stored session is a copy', async () => {
        const s = { clientId: 'c', protocolVersion: 4, sessionExpiryInterval: 1 };
        await store.saveSession(s);
        s.sessionExpiryInterval = 99;
        assert.equal((await store.getSession('c'))?.sessionExpiryInterval, 1);
      });

      test('subscriptions are added, replaced by filter [MQTT-3.8.4-3] and removed', async () => {
        await store.saveSession({ clientId: 'c', protocolVersion: 5, sessionExpiryInterval: 60 });
        await store.addSubscriptions('c', [
          { topicFilter: 'a/+', qos: 1 },
          { topicFilter: 'b/#', qos: 0, noLocal: true, subscriptionIdentifier: 7 },
        ]);
        await store.addSubscriptions('c', [{ topicFilter: 'a/+', qos: 2 }]);
        let subs = (await store.getSubscriptions('c')).sort((x, y) => x.topicFilter.localeCompare(y.topicFilter));
        assert.deepEqual(subs, [
          { topicFilter: 'a/+', qos: 2 },
          { topicFilter: 'b/#', qos: 0, noLocal: true, subscriptionIdentifier: 7 },
        ]);
        await store.removeSubscriptions('c', ['a/+', 'not/there']);
        subs = await store.getSubscriptions('c');
        assert.deepEqual(subs.map((s) => s.topicFilter), ['b/#']);
      });

      test('deleting a session deletes its subscriptions, queue and in-flight messages', async () => {
        await store.saveSession({ clientId: 'c', protocolVersion: 4, sessionExpiryInterval: 60 });
        await store.addSubscriptions('c', [{ topicFilter: 'a', qos: 1 }]);
        await store.enqueue('c', { message: msg('a', '1'), qos: 1 });
        await store.putInflight('c', { packetId: 1, state: 'publish', qos: 1, message: msg('a', '0') });
        await store.deleteSession('c');
        assert.deepEqual(await store.getSubscriptions('c'), []);
        assert.deepEqual(await store.getQueued('c'), []);
        assert.deepEqual(await store.getInflight('c'), []);
      });
    });

    describe('queued and in-flight messages', () => {
      test('the queue keeps order and is cleared', async () => {
        for (let i = 0; i < 5; i++) await store.enqueue('c', { message: msg('t', String(i)), qos: (i % 2 + 1) as 1 | 2, retain: i === 0, subscriptionIdentifiers: i === 1 ? [3, 4] : undefined });
        const q = await store.getQueued('c');
        assert.deepEqual(q.map((e) => e.message.payload.toString()), ['0', '1', '2', '3', '4']);
        assert.deepEqual(q.map((e) => e.qos), [1, 2, 1, 2, 1]);
        assert.equal(q[0].retain, true);
        assert.deepEqual(q[1].subscriptionIdentifiers, [3, 4]);
        await store.clearQueued('c');
        assert.deepEqual(await store.getQueued('c'), []);
      });

      test('dequeue, where implemented, removes from the head', async () => {
        if (store.dequeue === undefined) return;
        for (let i = 0; i < 4; i++) await store.enqueue('c', { message: msg('t', String(i)), qos: 1 });
        await store.dequeue('c', 3);
        assert.deepEqual((await store.getQueued('c')).map((e) => e.message.payload.toString()), ['3']);
        await store.dequeue('c', 5);
        assert.deepEqual(await store.getQueued('c'), []);
      });

      test('queues are per client', async () => {
        await store.enqueue('a', { message: msg('t', 'for a'), qos: 1 });
        await store.enqueue('b', { message: msg('t', 'for b'), qos: 1 });
        assert.deepEqual((await store.getQueued('a')).map((e) => e.message.payload.toString()), ['for a']);
      });

      test('in-flight entries by packet id, in first-put order, updated in place', async () => {
        await store.putInflight('c', { packetId: 5, state: 'publish', qos: 2, message: msg('t', 'five') });
        await store.putInflight('c', { packetId: 2, state: 'publish', qos: 1, message: msg('t', 'two') });
        await store.putInflight('c', { packetId: 5, state: 'pubrel', qos: 2, message: msg('t', 'five') });
        let entries = await store.getInflight('c');
        assert.deepEqual(entries.map((e) => [e.packetId, e.state]), [[5, 'pubrel'], [2, 'publish']]);
        await store.removeInflight('c', 5);
        await store.removeInflight('c', 99);
        entries = await store.getInflight('c');
        assert.deepEqual(entries.map((e) => e.packetId), [2]);
        await store.clearInflight('c');
        assert.deepEqual(await store.getInflight('c'), []);
      });
    });
  });
}
