// 04-retain, empty levels: every row of the empty-level table (topics like "a/b/", "/", "foo//baz//",
// filters with '+' and '#' at each position) checked for retained and for live delivery over real
// sockets with MQTT.js, on our broker with the memory store and with the disk store, and on a real
// Mosquitto: all three must give the table's answers [MQTT-4.7.1-3] [MQTT-3.3.1-6] [MQTT-4.7.2-1].
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskStore } from '../../src/persistence';
import { startBroker } from './helpers/broker';
import { connectMqttJs, type TestClient } from './helpers/mqttjs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { EMPTY_LEVEL_MATCHES, EMPTY_LEVEL_TOPICS } from '../topics/empty-level-table';

interface Target {
  port: number;
  close(): Promise<void>;
}

const targets: Array<[string, () => Promise<Target>, string | false]> = [
  ['our broker, memory store', () => startBroker({ sysInterval: 0 }), false],
  [
    'our broker, disk store',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-empty-levels-'));
      const store = await DiskStore.open({ directory: dir });
      const b = await startBroker({ sysInterval: 0, store });
      return {
        port: b.port,
        close: async () => {
          await b.close();
          await store.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    false,
  ],
  [
    'Mosquitto 2.0',
    async () => {
      const m = await startMosquitto();
      return { port: m.port, close: () => disposeMosquitto(m) };
    },
    mosquittoAvailable() ? false : 'mosquitto is not installed',
  ],
];

/** What each filter's client received after `act`, topics sorted, with the RETAIN flags seen. */
async function deliveries(subscribers: TestClient[], act: () => Promise<void>): Promise<{ topics: string[][]; retainFlags: Set<boolean> }> {
  for (const s of subscribers) s.messages.length = 0;
  await act();
  const wanted = EMPTY_LEVEL_MATCHES.map(([, expected]) => expected.length);
  // every expected message arrives, and then nothing more for a moment
  await waitUntil(() => subscribers.every((s, i) => s.messages.length >= wanted[i]), 8000, 'the expected deliveries').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  const retainFlags = new Set<boolean>();
  const topics = subscribers.map((s) => {
    for (const m of s.messages) retainFlags.add(m.packet.retain);
    return s.messages.map((m) => m.topic).sort();
  });
  return { topics, retainFlags };
}

for (const [name, start, skip] of targets) {
  describe(`04-retain empty levels: ${name}`, { skip, timeout: 60_000 }, () => {
    const opened: Array<() => Promise<unknown>> = [];
    after(async () => {
      for (const close of opened.reverse()) await close();
    });

    test('retained messages are found, and live messages delivered, by every filter of the table', async () => {
      const target = await start();
      opened.push(() => target.close());
      const publisher = await connectMqttJs(target.port, 5);
      opened.push(() => publisher.end());
      for (const topic of EMPTY_LEVEL_TOPICS) await publisher.client.publishAsync(topic, topic, { qos: 1, retain: true });

      const subscribers: TestClient[] = [];
      const retained = await deliveries(subscribers, async () => {
        for (const [filter] of EMPTY_LEVEL_MATCHES) {
          const s = await connectMqttJs(target.port, 5);
          opened.push(() => s.end());
          subscribers.push(s);
          await s.client.subscribeAsync(filter, { qos: 1 });
        }
      });
      EMPTY_LEVEL_MATCHES.forEach(([filter, expected], i) => assert.deepEqual(retained.topics[i], expected, `retained, filter ${filter}`));
      assert.deepEqual([...retained.retainFlags], [true], 'sent as retained messages [MQTT-3.3.1-8]');

      const live = await deliveries(subscribers, async () => {
        for (const topic of EMPTY_LEVEL_TOPICS) await publisher.client.publishAsync(topic, 'live', { qos: 1 });
      });
      EMPTY_LEVEL_MATCHES.forEach(([filter, expected], i) => assert.deepEqual(live.topics[i], expected, `live, filter ${filter}`));
    });
  });
}
