// Subscription and topic abuse: subscribe storms (many clients, thousands of filters each, beyond
// maxSubscriptionsPerClient), topics and filters 1,000 levels deep and 60 KB long. Routing stays
// right, the watchdog keeps getting its messages and the broker's RSS stays under the bound.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as mqttPacket from 'mqtt-packet';
import { BrokerProcess, MB } from './helpers/broker-process';
import { inBatches, underAttack } from './helpers/attack';
import { RawMqtt } from './helpers/raw-mqtt';

const RSS_BOUND = 200 * MB;
const MAX_SUBSCRIPTIONS = 10_000;
const LONG_TOPICS = Number(process.env.RELIABILITY_LONG_TOPICS ?? 500);
const DEEP_TOPICS = Number(process.env.RELIABILITY_DEEP_TOPICS ?? 300);

describe('subscription and topic abuse', () => {
  // a fresh broker per scenario: RSS does not shrink back, so each bound is measured from a new start
  let broker: BrokerProcess;
  beforeEach(async () => {
    broker = await BrokerProcess.start({ maxSubscriptionsPerClient: MAX_SUBSCRIPTIONS });
  });
  afterEach(async () => {
    await broker?.stop();
  });

  test('subscribe storm: 20 clients × 2,000 filters, one client asking 12,000 (beyond the limit), then all gone', async (t) => {
    const clients: RawMqtt[] = [];
    try {
      const { value } = await underAttack(
        broker,
        RSS_BOUND,
        async () => {
          const codes = await inBatches([...Array(21).keys()], 21, async (i) => {
            const c = await RawMqtt.connect(broker.port, i % 2 === 0 ? 4 : 5, {}, ['suback']);
            clients.push(c);
            const filters = i === 20 ? 12_000 : 2_000;
            for (let p = 0; p < filters / 100; p++) {
              const subscriptions = Array.from({ length: 100 }, (_, k) => ({ topic: `storm/${i}/${p * 100 + k}/+`, qos: (k % 3) as 0 | 1 | 2 }));
              if (!c.send({ cmd: 'subscribe', messageId: p + 1, subscriptions })) await c.drained();
            }
            await c.until(() => c.count('suback') === filters / 100, 30_000, 'every SUBACK');
            return (c.kept as mqttPacket.ISubackPacket[]).flatMap((s) => s.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos)));
          });
          // routing still right: a message on one of the 40,000 filters reaches its one subscriber
          const target = clients[3];
          const before = target.count('publish');
          const probe = await RawMqtt.connect(broker.port, 4);
          probe.send({ cmd: 'publish', topic: `storm/3/1234/x`, payload: Buffer.from('p'), qos: 0, retain: false, dup: false });
          await target.until(() => target.count('publish') === before + 1, 15_000, 'the probe message');
          probe.destroy();
          return codes;
        },
        (l) => t.diagnostic(l),
      );
      const big = value[20];
      const refused = big.filter((c) => c >= 0x80).length;
      t.diagnostic(`subscriptions granted: ${value.flat().filter((c) => c < 0x80).length}; refused for the 12,000-filter client: ${refused}`);
      for (let i = 0; i < 20; i++) assert.ok(value[i].every((c) => c < 0x80), `client ${i} got all 2,000`);
      assert.equal(big.length - refused, MAX_SUBSCRIPTIONS, 'exactly maxSubscriptionsPerClient granted');
      assert.equal(refused, 2_000);
    } finally {
      for (const c of clients) c.destroy();
    }
    const deadline = Date.now() + 20_000;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await broker.stats()).clients, 0);
  });

  test(`${DEEP_TOPICS} topics 1,000 levels deep: exact, single-level-wildcard and multi-level-wildcard filters all match`, async (t) => {
    await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const levels = Array.from({ length: 1000 }, (_, i) => `l${i}`);
        const topic = levels.join('/');
        const filters = [topic, levels.map((l, i) => (i % 2 === 0 ? '+' : l)).join('/'), `${levels.slice(0, 500).join('/')}/#`, Array(1000).fill('+').join('/')];
        const sub = await RawMqtt.connect(broker.port, 5, {}, ['suback']);
        const pub = await RawMqtt.connect(broker.port, 5);
        try {
          sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((f) => ({ topic: f, qos: 0, nl: false, rap: false, rh: 0 })) });
          await sub.until(() => sub.count('suback') === 1, 15_000, 'SUBACK');
          const granted = (sub.kept[0] as mqttPacket.ISubackPacket).granted;
          assert.deepEqual(granted, [0, 0, 0, 0]);
          // different deep topics, every one matching the all-'+' filter and the '#' one
          for (let i = 0; i < DEEP_TOPICS; i++) {
            const deep = i === 0 ? topic : [...levels.slice(0, 999), `x${i}`].join('/');
            if (!pub.send({ cmd: 'publish', topic: deep, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false })) await pub.drained();
          }
          // the first matches all four filters: one delivery per matching subscription is merged into one [MQTT-3.3.4-2]
          await sub.until(() => sub.count('publish') === DEEP_TOPICS, 30_000, 'every deep message');
        } finally {
          sub.destroy();
          pub.destroy();
        }
      },
      (l) => t.diagnostic(l),
    );
  });

  test(`${LONG_TOPICS} distinct 60 KB topics published to a '#' subscriber`, async (t) => {
    const { peakRss } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const sub = await RawMqtt.connect(broker.port, 4, {}, ['suback']);
        const pub = await RawMqtt.connect(broker.port, 4);
        try {
          sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'long/#', qos: 0 }] });
          await sub.until(() => sub.count('suback') === 1, 15_000, 'SUBACK');
          const filler = 'x'.repeat(60 * 1024 - 20);
          for (let i = 0; i < LONG_TOPICS; i++) {
            if (!pub.send({ cmd: 'publish', topic: `long/${i}/${filler}`, payload: Buffer.from('v'), qos: 0, retain: false, dup: false })) await pub.drained();
            // the subscriber reads as fast as it can; wait for it now and then so QoS 0 is not dropped
            if (i % 100 === 99) await sub.until(() => sub.count('publish') >= i + 1 - 200, 30_000, 'the subscriber to catch up');
          }
          await sub.until(() => sub.count('publish') === LONG_TOPICS, 30_000, `${LONG_TOPICS} long-topic messages`);
        } finally {
          sub.destroy();
          pub.destroy();
        }
      },
      (l) => t.diagnostic(l),
    );
    const after = await broker.stats(true);
    t.diagnostic(`after collection: heap ${(after.heapUsed / MB).toFixed(1)} MB, RSS ${(after.rss / MB).toFixed(1)} MB (peak ${(peakRss / MB).toFixed(1)} MB)`);
  });
});
