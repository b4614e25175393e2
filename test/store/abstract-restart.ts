// The part of the store suite that needs a broker: what a broker wrote through a store while clients
// were mid-flow comes back to the next broker on that store (reopened), and the flows resume over a
// real socket — outbound QoS 1 and QoS 2 PUBLISHes re-sent with DUP, a PUBREL re-sent, and an inbound
// QoS 2 packet id awaiting PUBREL that is not delivered twice.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, type Broker } from '../../src/broker';
import type { BrokerStore } from '../../src/broker/store';
import { RawClient, connectPacket, uniqueId, type Version } from '../broker/helpers/raw-client';

/** The store to give the next broker: the same one, or the same files opened again. */
export type Reopen = (store: BrokerStore) => Promise<BrokerStore>;

export function runRestartSuite(name: string, factory: () => BrokerStore | Promise<BrokerStore>, reopen: Reopen): void {
  describe(`store: ${name}, a broker restarted on it`, () => {
    const cleanups: (() => unknown)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function start(store: BrokerStore): Promise<{ broker: Broker; port: number }> {
      const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, store });
      await broker.listen();
      cleanups.push(() => broker.close());
      return { broker, port: broker.addresses()[0].port };
    }

    async function client(port: number, version: Version, clientId: string, clean = false): Promise<{ client: RawClient; sessionPresent: boolean }> {
      const c = await RawClient.open(port, version);
      cleanups.push(() => c.destroy());
      c.send(connectPacket(version, { clientId, clean, ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) }));
      const connack = await c.expect('connack');
      assert.equal(connack.reasonCode ?? connack.returnCode ?? 0, 0);
      return { client: c, sessionPresent: connack.sessionPresent };
    }

    for (const version of [4, 5] as const) {
      test(`QoS 1 and QoS 2 in flight both ways are re-sent after the restart (MQTT ${version === 5 ? '5.0' : '3.1.1'}) [MQTT-4.4.0-1], [MQTT-4.3.3-10]`, async () => {
        let store = await factory();
        cleanups.push(() => store.close());
        const first = await start(store);
        const receiverId = uniqueId('rcv');
        const senderId = uniqueId('snd');
        const topic = uniqueId('restart');

        // outbound: three deliveries left mid-flow at the receiver
        const receiver = await client(first.port, version, receiverId);
        await receiver.client.subscribe(`${topic}/out/#`, 2);
        // a second recipient of each message: the broker then encodes it once for both (a fan-out)
        const fan = await client(first.port, version, uniqueId('fan'), true);
        await fan.client.subscribe(`${topic}/out/#`, 0);
        const watcher = await client(first.port, version, uniqueId('watch'), true);
        await watcher.client.subscribe(`${topic}/in`, 2);
        const pub = await client(first.port, version, uniqueId('pub'), true);
        await pub.client.publish(`${topic}/out/a`, 'qos1-unacked', 1);
        await pub.client.publish(`${topic}/out/b`, 'qos2-unacked', 2);
        await pub.client.publish(`${topic}/out/c`, 'qos2-pubrec-sent', 2);
        const a = await receiver.client.expect('publish');
        const b = await receiver.client.expect('publish');
        const c = await receiver.client.expect('publish');
        assert.deepEqual([a, b, c].map((p) => [p.payload.toString(), p.qos, p.dup]), [['qos1-unacked', 1, false], ['qos2-unacked', 2, false], ['qos2-pubrec-sent', 2, false]]);
        receiver.client.send({ cmd: 'pubrec', messageId: c.messageId! });
        await receiver.client.awaitReply('pubrel', c.messageId!); // no PUBCOMP

        // inbound: a QoS 2 PUBLISH delivered, its PUBREL not sent
        const sender = await client(first.port, version, senderId);
        sender.client.send({ cmd: 'publish', topic: `${topic}/in`, payload: Buffer.from('inbound-qos2'), qos: 2, retain: false, dup: false, messageId: 77 });
        await sender.client.awaitReply('pubrec', 77);
        assert.equal((await watcher.client.receive()).payload.toString(), 'inbound-qos2');

        await first.broker.close();
        store = await reopen(store);
        const second = await start(store);

        // outbound: PUBLISHes again with DUP and their packet ids, the PUBREL again, in the original order
        const back = await client(second.port, version, receiverId);
        assert.equal(back.sessionPresent, true);
        const a2 = await back.client.expect('publish');
        const b2 = await back.client.expect('publish');
        const rel = await back.client.expect('pubrel');
        assert.deepEqual([a2.payload.toString(), a2.qos, a2.dup, a2.messageId], ['qos1-unacked', 1, true, a.messageId]);
        assert.deepEqual([b2.payload.toString(), b2.qos, b2.dup, b2.messageId], ['qos2-unacked', 2, true, b.messageId]);
        assert.equal(rel.messageId, c.messageId);
        back.client.send({ cmd: 'puback', messageId: a2.messageId! });
        back.client.send({ cmd: 'pubrec', messageId: b2.messageId! });
        await back.client.awaitReply('pubrel', b2.messageId!);
        back.client.send({ cmd: 'pubcomp', messageId: b2.messageId! });
        back.client.send({ cmd: 'pubcomp', messageId: c.messageId! });
        // the session goes on: a new message arrives, nothing more of the old ones
        const watcher2 = await client(second.port, version, uniqueId('watch'), true);
        await watcher2.client.subscribe(`${topic}/in`, 2);
        const pub2 = await client(second.port, version, uniqueId('pub'), true);
        await pub2.client.publish(`${topic}/out/a`, 'after-restart', 1);
        const next = await back.client.receive();
        assert.deepEqual([next.payload.toString(), next.dup], ['after-restart', false]);

        // inbound: the PUBLISH sent again is acknowledged, not delivered again; PUBREL completes it
        const senderBack = await client(second.port, version, senderId);
        assert.equal(senderBack.sessionPresent, true);
        senderBack.client.send({ cmd: 'publish', topic: `${topic}/in`, payload: Buffer.from('inbound-qos2'), qos: 2, retain: false, dup: true, messageId: 77 });
        await senderBack.client.awaitReply('pubrec', 77);
        senderBack.client.send({ cmd: 'pubrel', messageId: 77 });
        await senderBack.client.awaitReply('pubcomp', 77);
        await senderBack.client.publish(`${topic}/in`, 'fresh-qos2', 2);
        assert.equal((await watcher2.client.receive()).payload.toString(), 'fresh-qos2', 'the re-sent QoS 2 PUBLISH was not delivered again');
        assert.equal(await back.client.silentFor(200), true, 'nothing more for the receiver');
        assert.equal(back.client.closed, false);
      });
    }
  });
}
