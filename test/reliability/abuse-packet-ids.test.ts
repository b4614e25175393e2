// Packet identifiers pushed to their limits: 65,535 inbound QoS 2 flows held open at once, every id
// reused before its PUBREL (delivered once [MQTT-4.3.3-10]), PUBREL for ids never used (PUBCOMP, 5.0
// 0x92), QoS 1 with one id reused back to back, and 65,535 outbound QoS 1 in flight to a client that
// never acknowledges. The watchdog keeps getting its messages; the broker's RSS stays bounded.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as mqttPacket from 'mqtt-packet';
import { BrokerProcess, MB } from './helpers/broker-process';
import { underAttack } from './helpers/attack';
import { RawMqtt, type Version } from './helpers/raw-mqtt';

const RSS_BOUND = 200 * MB;
const ALL_IDS = 65_535;
const WAIT_MS = 60_000;

async function sendAll(c: RawMqtt, make: (id: number) => mqttPacket.Packet): Promise<void> {
  for (let id = 1; id <= ALL_IDS; id++) if (!c.send(make(id))) await c.drained();
}

describe('packet identifiers at their limits', () => {
  let broker: BrokerProcess;
  beforeEach(async () => {
    broker = await BrokerProcess.start({ receiveMaximum: ALL_IDS, maxInflightMessages: ALL_IDS, maxQueuedMessages: 1000 });
  });
  afterEach(async () => {
    await broker?.stop();
  });

  // 5.0 in every test run, 3.1.1 too with RELIABILITY_FULL=1
  const versions: Version[] = process.env.RELIABILITY_FULL === '1' ? [4, 5] : [5];
  for (const version of versions) {
    test(`MQTT ${version === 5 ? '5.0' : '3.1.1'}: 65,535 QoS 2 flows open at once, every id reused before PUBREL, then released, then PUBREL for unknown ids`, async (t) => {
      const { value } = await underAttack(
        broker,
        RSS_BOUND,
        async () => {
          const sub = await RawMqtt.connect(broker.port, version, {}, ['suback']);
          const pub = await RawMqtt.connect(broker.port, version, {}, ['pubcomp']);
          try {
            sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ids/#', qos: 0 }] });
            await sub.until(() => sub.count('suback') === 1, 15_000, 'SUBACK');
            const payload = Buffer.from('m');
            const publish = (id: number, dup: boolean): mqttPacket.IPublishPacket => ({ cmd: 'publish', topic: 'ids/x', payload, qos: 2, messageId: id, retain: false, dup });
            await sendAll(pub, (id) => publish(id, false));
            await pub.until(() => pub.count('pubrec') === ALL_IDS, WAIT_MS, '65,535 PUBRECs');
            await sub.until(() => sub.count('publish') === ALL_IDS, WAIT_MS, '65,535 deliveries');
            const held = await broker.stats();
            // every id again, before any PUBREL: acknowledged again, never delivered again
            await sendAll(pub, (id) => publish(id, true));
            await pub.until(() => pub.count('pubrec') === 2 * ALL_IDS, WAIT_MS, 'PUBRECs for the reused ids');
            await sendAll(pub, (id) => ({ cmd: 'pubrel', messageId: id }));
            await pub.until(() => pub.count('pubcomp') === ALL_IDS, WAIT_MS, '65,535 PUBCOMPs');
            const released = pub.kept.splice(0) as mqttPacket.IPubcompPacket[];
            // no flow is open any more: every PUBREL is for an unknown id
            await sendAll(pub, (id) => ({ cmd: 'pubrel', messageId: id }));
            await pub.until(() => pub.count('pubcomp') === 2 * ALL_IDS, WAIT_MS, 'PUBCOMPs for unknown ids');
            const unknown = pub.kept.splice(0) as mqttPacket.IPubcompPacket[];
            // the ids are free again: a new message with id 1 is delivered
            pub.send(publish(1, false));
            await sub.until(() => sub.count('publish') === ALL_IDS + 1, WAIT_MS, 'a new message on a released id');
            return { delivered: sub.count('publish'), held: held.clients, released, unknown };
          } finally {
            sub.destroy();
            pub.destroy();
          }
        },
        (l) => t.diagnostic(l),
      );
      assert.equal(value.delivered, ALL_IDS + 1, 'each of the 65,535 messages delivered once, the reuse not delivered again');
      assert.ok(value.released.every((p) => (p.reasonCode ?? 0) === 0), 'PUBCOMP success for the held ids');
      if (version === 5) assert.ok(value.unknown.every((p) => p.reasonCode === 0x92), 'PUBCOMP 0x92 Packet Identifier not found for unknown ids');
      assert.equal(value.unknown.length, ALL_IDS);
    });
  }

  test('QoS 1 with one packet id reused 2,000 times back to back: every message acknowledged and delivered', async (t) => {
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const sub = await RawMqtt.connect(broker.port, 4, {}, ['suback']);
        const pub = await RawMqtt.connect(broker.port, 4);
        try {
          sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'reuse/#', qos: 0 }] });
          await sub.until(() => sub.count('suback') === 1, 15_000, 'SUBACK');
          for (let i = 0; i < 2000; i++) {
            if (!pub.send({ cmd: 'publish', topic: 'reuse/x', payload: Buffer.from(String(i)), qos: 1, messageId: 42, retain: false, dup: false })) await pub.drained();
          }
          await pub.until(() => pub.count('puback') === 2000, WAIT_MS, '2,000 PUBACKs');
          await sub.until(() => sub.count('publish') === 2000, WAIT_MS, '2,000 deliveries');
          return { pubacks: pub.count('puback'), delivered: sub.count('publish') };
        } finally {
          sub.destroy();
          pub.destroy();
        }
      },
      (l) => t.diagnostic(l),
    );
    assert.deepEqual(value, { pubacks: 2000, delivered: 2000 });
  });

  test('65,535 outbound QoS 1 in flight to a subscriber that never acknowledges; more are queued, then dropped beyond the queue', async (t) => {
    const extra = 2000;
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const sub = await RawMqtt.connect(broker.port, 5, { clientId: `never-acks-${process.pid}` }, ['suback', 'publish']);
        const pub = await RawMqtt.connect(broker.port, 5);
        try {
          sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'window/#', qos: 1, nl: false, rap: false, rh: 0 }] });
          await sub.until(() => sub.count('suback') === 1, 15_000, 'SUBACK');
          const payload = Buffer.from('w');
          for (let i = 0; i < ALL_IDS + extra; i++) {
            if (!pub.send({ cmd: 'publish', topic: 'window/x', payload, qos: 1, messageId: (i % ALL_IDS) + 1, retain: false, dup: false })) await pub.drained();
          }
          await pub.until(() => pub.count('puback') === ALL_IDS + extra, WAIT_MS, 'every PUBACK to the publisher');
          await sub.until(() => sub.count('publish') === ALL_IDS, WAIT_MS, '65,535 messages in flight');
          const ids = new Set((sub.kept.filter((p) => p.cmd === 'publish') as mqttPacket.IPublishPacket[]).map((p) => p.messageId));
          const stats = await broker.stats();
          // acknowledging one frees one id: the next queued message goes out
          sub.send({ cmd: 'puback', messageId: 1 });
          await sub.until(() => sub.count('publish') === ALL_IDS + 1, WAIT_MS, 'the next message once an id is free');
          const next = sub.kept[sub.kept.length - 1] as mqttPacket.IPublishPacket;
          return { distinctIds: ids.size, nextId: next.messageId, dropped: stats.dropped['queue-full'] ?? 0 };
        } finally {
          sub.destroy();
          pub.destroy();
        }
      },
      (l) => t.diagnostic(l),
    );
    t.diagnostic(JSON.stringify(value));
    assert.equal(value.distinctIds, ALL_IDS, 'all 65,535 ids in use at once [MQTT-2.2.1-3]');
    assert.equal(value.nextId, 1, 'the freed id is the one reused');
    assert.equal(value.dropped, extra - 1000, 'beyond the window, maxQueuedMessages (1,000) queued and the rest dropped');
  });
});
