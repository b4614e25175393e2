// Links that hang or crawl instead of breaking: a stall longer than the keepalive (both ends must
// find the link dead [MQTT-3.1.2-24], reconnect and resume their sessions), and a link slowed to a
// few KB/s under QoS 1/2 traffic. Persistent sessions on both clients; messages are numbered: QoS 1
// loses none, QoS 2 loses none and duplicates none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultProxy } from '../helpers/fault-proxy';
import { BrokerProcess } from './helpers/broker-process';
import { ourClients } from './helpers/fault-ends';
import { tallySequence } from './helpers/fault-loop';

const WINDOW = 8;
const PACE_MS = 10;
const SETTLE_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('links that hang or crawl', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({ maxQueuedMessages: 20_000 });
  });
  after(async () => {
    await broker?.stop();
  });

  const scenarios = [
    {
      name: 'a 3 s stall with a 1 s keepalive: both ends drop the link, reconnect and resume',
      fault: async (proxy: FaultProxy) => {
        proxy.stall();
        await sleep(3000);
        proxy.resume();
      },
      reconnects: true,
    },
    {
      name: 'a link slowed to 8 KB/s for 2 s, then cut',
      fault: async (proxy: FaultProxy) => {
        proxy.slow(8 * 1024);
        await sleep(2000);
        proxy.slow(0);
        proxy.cutAll();
      },
      reconnects: true,
    },
  ];
  for (const s of scenarios) {
    // each fault once in the test run (5.0 QoS 2 for the stall, 3.1.1 QoS 1 for the crawl); both
    // protocol levels and QoS for each with RELIABILITY_FULL=1
    const all = process.env.RELIABILITY_FULL === '1';
    const cases = ([[5, 2], [4, 1]] as const).filter((_, i) => all || i === scenarios.indexOf(s));
    for (const [version, qos] of cases) {
      test(`${s.name} (our client, MQTT ${version === 5 ? '5.0' : '3.1.1'}, QoS ${qos})`, async (t) => {
        const proxy = await FaultProxy.start(broker.port);
        const tag = `links-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        const ends = await ourClients(proxy.url, tag, version, qos, { keepalive: 1, pingTimeout: 1000, connectTimeout: 10_000 });
        const acknowledged = new Set<number>();
        let sent = 0;
        let failures = 0;
        let faultOver = false;
        try {
          const worker = async (): Promise<void> => {
            while (!faultOver && sent < 20_000) {
              const seq = sent++;
              await ends.publish(seq).then(
                () => acknowledged.add(seq),
                () => failures++,
              );
              await sleep(PACE_MS);
            }
          };
          const publishing = Promise.all(Array.from({ length: WINDOW }, worker));
          await sleep(300);
          await s.fault(proxy);
          await sleep(300);
          faultOver = true;
          let timer: NodeJS.Timeout | undefined;
          const outcome = await Promise.race([publishing.then(() => 'done'), new Promise((r) => (timer = setTimeout(() => r('timeout'), SETTLE_MS)))]);
          clearTimeout(timer);
          assert.equal(outcome, 'done', 'every publish completed');
          assert.equal(failures, 0, 'no publish failed');
          const deadline = Date.now() + SETTLE_MS;
          while (tallySequence(ends.received, sent, acknowledged).lost.length > 0 && Date.now() < deadline) await sleep(50);
          await sleep(500);
        } finally {
          await ends.close();
          await proxy.close();
        }
        const { lost, duplicated } = tallySequence(ends.received, sent, acknowledged);
        t.diagnostic(`${sent} messages, ${acknowledged.size} acknowledged; connections through the proxy ${proxy.accepted}; lost ${lost.length}, duplicated ${duplicated}`);
        assert.ok(broker.alive, broker.describeExit());
        if (s.reconnects) assert.ok(proxy.accepted > 2, 'the clients reconnected');
        assert.deepEqual(lost, []);
        if (qos === 2) assert.equal(duplicated, 0);
      });
    }
  }
});
