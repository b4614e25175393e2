// Our own broker closed and started again (same store, same port) in the middle of QoS 1 and QoS 2
// traffic, both clients on persistent sessions: every acknowledged message arrives, QoS 2 ones
// exactly once. Our broker keeps sessions in a store that outlives it; it saves queues and in-flight
// messages on close, so the restart here is an orderly one (the SIGKILL case runs against
// Mosquitto in 08-broker-restart).
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker, Broker, MemoryStore } from '../../src/broker';
import type { MqttError } from '../../src/client';
import { freePort, waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';

const pool = new ClientPool();
let broker: Broker | undefined;
afterEach(() => pool.endAll());
after(async () => {
  await broker?.close();
});

const TOTAL = 200;
const WINDOW = 8;

for (const protocolVersion of [4, 5] as const) {
  test(`our broker restarted mid-traffic: no acknowledged message lost, no QoS 2 duplicate (protocol ${protocolVersion})`, async () => {
    const store = new MemoryStore();
    const port = await freePort();
    const start = async () => {
      broker = createBroker({ listeners: [{ port, host: '127.0.0.1' }], store });
      await broker.listen();
    };
    await start();
    const url = `mqtt://127.0.0.1:${port}`;
    const session = { protocolVersion, clean: false, reconnectPeriod: 50, reconnectPeriodMax: 200, properties: protocolVersion === 5 ? { sessionExpiryInterval: 300 } : undefined };
    const tag = `own-v${protocolVersion}-${process.pid}`;
    const errors: MqttError[] = [];
    const sub = await pool.connected(url, { ...session, clientId: `${tag}-sub` });
    sub.on('error', (e) => errors.push(e));
    await sub.subscribe(`${tag}/#`, { qos: 2 });
    const received = new Map<number, number>();
    sub.on('message', (_t, payload) => {
      const seq = Number(payload.toString());
      received.set(seq, (received.get(seq) ?? 0) + 1);
    });
    const pub = await pool.connected(url, { ...session, clientId: `${tag}-pub` });
    pub.on('error', (e) => errors.push(e));
    const acked = new Set<number>();
    const failed: unknown[] = [];
    let next = 0;
    let restarted = false;
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const seq = next++;
        const qos = seq % 2 === 0 ? 1 : 2;
        try {
          await pub.publish(`${tag}/q${qos}`, String(seq), { qos });
          acked.add(seq);
        } catch (err) {
          failed.push(err);
        }
        if (!restarted && acked.size >= TOTAL / 3) {
          restarted = true;
          await (broker as Broker).close();
          await start();
        }
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
    assert.ok(restarted);
    assert.deepEqual(failed, []);
    await waitUntil(() => [...acked].every((seq) => received.has(seq)), 10000, 'every acknowledged message at the subscriber');
    const duplicatedQos2 = [...received].filter(([seq, n]) => seq % 2 === 1 && n > 1).map(([seq]) => seq);
    assert.deepEqual(duplicatedQos2, []);
    await pool.endAll();
    await (broker as Broker).close();
    broker = undefined;
  });
}
