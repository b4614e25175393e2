// Clients that never read. Their outbound buffer is bounded (maxOutgoingBufferSize): QoS 0 messages
// to them are dropped beyond it ('buffer-full'), QoS 1/2 wait in the bounded queue and are dropped
// beyond maxQueuedMessages ('queue-full'). The broker's memory stays under the bound, and the
// publisher, a reading subscriber of the same topics and the watchdog keep getting through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { BrokerProcess, MB } from './helpers/broker-process';
import { underAttack } from './helpers/attack';
import { RawMqtt } from './helpers/raw-mqtt';

const RSS_BOUND = 200 * MB;
const OUTGOING_BUFFER = 1 * MB;
const MAX_QUEUED = 100;
const NON_READERS_QOS0 = 20;
const NON_READERS_QOS1 = 5;
const QOS0_MESSAGES = 3000;
const QOS1_MESSAGES = 300;
const PAYLOAD = 16 * 1024;

describe('clients that never read', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({ maxOutgoingBufferSize: OUTGOING_BUFFER, maxQueuedMessages: MAX_QUEUED, maxInflightMessages: 20 });
  });
  after(async () => {
    await broker?.stop();
  });

  test(`${NON_READERS_QOS0} QoS 0 and ${NON_READERS_QOS1} QoS 1 subscribers that never read, under ${QOS0_MESSAGES} × ${PAYLOAD / 1024} KB QoS 0 and ${QOS1_MESSAGES} QoS 1 messages`, async (t) => {
    const stalled: RawMqtt[] = [];
    const reader = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: `reader-${process.pid}` });
    const publisher = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: `qos1-pub-${process.pid}` });
    reader.on('error', () => undefined);
    publisher.on('error', () => undefined);
    try {
      await Promise.all([new Promise((r) => reader.once('connect', r)), new Promise((r) => publisher.once('connect', r))]);
      let readerGot = 0;
      reader.on('message', () => readerGot++);
      await reader.subscribeAsync('flood/#', { qos: 1 });
      for (let i = 0; i < NON_READERS_QOS0 + NON_READERS_QOS1; i++) {
        const qos = i < NON_READERS_QOS0 ? 0 : 1;
        const c = await RawMqtt.connect(broker.port, 4, { clientId: `stalled-${process.pid}-${i}` });
        c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos }] });
        await c.until(() => c.count('suback') === 1, 15_000, 'SUBACK');
        c.socket.pause(); // from here on it reads nothing: the kernel buffers fill, then the broker's
        stalled.push(c);
      }
      const { value } = await underAttack(
        broker,
        RSS_BOUND,
        async () => {
          const flooder = await RawMqtt.connect(broker.port, 4, { clientId: `flooder-${process.pid}` });
          try {
            const payload = Buffer.alloc(PAYLOAD, 0x5a);
            const qos1 = [];
            for (let i = 0; i < QOS0_MESSAGES; i++) {
              if (!flooder.send({ cmd: 'publish', topic: `flood/${i % 10}`, payload, qos: 0, retain: false, dup: false })) await flooder.drained();
              if (i % (QOS0_MESSAGES / QOS1_MESSAGES) === 0) qos1.push(publisher.publishAsync('flood/qos1', payload, { qos: 1 }));
            }
            const acked = (await Promise.allSettled(qos1)).filter((r) => r.status === 'fulfilled').length;
            return { acked, qos1: qos1.length };
          } finally {
            flooder.destroy();
          }
        },
        (l) => t.diagnostic(l),
      );
      const stats = await broker.stats(true);
      t.diagnostic(`QoS 1 publishes acknowledged ${value.acked}/${value.qos1}; reading subscriber got ${readerGot}; drops ${JSON.stringify(stats.dropped)}; heap ${(stats.heapUsed / MB).toFixed(1)} MB, RSS ${(stats.rss / MB).toFixed(1)} MB`);
      assert.equal(value.acked, value.qos1, 'the QoS 1 publisher is acknowledged throughout');
      assert.ok((stats.dropped['buffer-full'] ?? 0) > 0, 'QoS 0 to the non-readers dropped beyond the buffer');
      assert.ok((stats.dropped['queue-full'] ?? 0) > 0, 'QoS 1 to the non-readers dropped beyond the queue');
      // the reader shares this process with the flooder: when it falls behind, its QoS 0 is dropped at
      // the buffer and its QoS 1 beyond maxQueuedMessages, as for anyone; it must still be served
      assert.ok(readerGot > 0, `the reading subscriber got messages (${readerGot})`);
      // the policy drops messages, not clients (the watchdog's own pair may still be leaving: not counted)
      assert.ok(stalled.every((c) => !c.closed), 'no non-reader was disconnected');
      assert.ok(reader.connected && publisher.connected, 'the reader and the QoS 1 publisher are still connected');
      assert.ok(stats.clients >= 2 + NON_READERS_QOS0 + NON_READERS_QOS1);
    } finally {
      for (const c of stalled) c.destroy();
      reader.end(true);
      publisher.end(true);
    }
    const deadline = Date.now() + 20_000;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await broker.stats()).clients, 0, 'non-readers forgotten once their sockets closed');
  });
});
