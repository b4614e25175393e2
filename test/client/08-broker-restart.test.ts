// A broker killed (SIGKILL) and restarted in the middle of QoS 1 and QoS 2 traffic: Mosquitto with
// persistence, both clients with persistent sessions. Counted by sequence numbers in the payloads:
// every acknowledged message arrives, QoS 2 ones exactly once [MQTT-4.3.3-9], [MQTT-4.4.0-1].
//
// Mosquitto writes its database after it has sent the acknowledgements of a loop iteration, so a
// SIGKILL can lose state it already acknowledged; that window is the broker's, not the client's.
// To test the client alone, the network between them goes dark first (a proxy drops every byte,
// as a pulled cable would), Mosquitto saves what it has acknowledged, and only then is it killed.
// The clients see a broker that vanished with their QoS flows half done.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { MqttError } from '../../src/client';
import type { ProtocolVersion } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { TcpProxy } from './helpers/tcp-proxy';

let mq: MosquittoInstance;
let proxy: TcpProxy;
const pool = new ClientPool();

/**
 * Until Mosquitto's database file has been rewritten since `since` and then left alone for a few
 * polls (its log is block-buffered through a pipe, so the file is the reliable sign). With no
 * change to save it stays as it is; half a second of quiet then ends the wait too.
 */
async function databaseSaved(since: number): Promise<void> {
  const db = `${mq.dir}/mosquitto.db`;
  let last = -1;
  let quiet = 0;
  await waitUntil(() => {
    const mtime = fs.existsSync(db) ? fs.statSync(db).mtimeMs : 0;
    quiet = mtime === last ? quiet + 1 : 0;
    last = mtime;
    return (mtime >= since && quiet >= 5) || quiet >= 25;
  }, 5000, 'Mosquitto to save its database');
}

before(async () => {
  // Save the database on every change, so what Mosquitto acknowledged survives SIGKILL.
  mq = await startMosquitto({ persistence: true, extraConfig: ['autosave_on_changes true'] });
  // Mosquitto drops from root to its own user; let it write its database.
  fs.chmodSync(mq.dir, 0o777);
  proxy = await TcpProxy.start(mq.port);
});
after(async () => {
  await proxy.close();
  await disposeMosquitto(mq);
});
afterEach(() => pool.endAll());

const TOTAL = 300;
const WINDOW = 8;

for (const protocolVersion of [4, 5] as ProtocolVersion[]) {
  describe(`broker killed mid-traffic (protocol ${protocolVersion})`, () => {
    test('no acknowledged message lost, no QoS 2 message duplicated', async () => {
      const url = `mqtt://127.0.0.1:${proxy.port}`;
      const session = { protocolVersion, clean: false, reconnectPeriod: 50, reconnectPeriodMax: 200, properties: protocolVersion === 5 ? { sessionExpiryInterval: 300 } : undefined };
      const tag = `v${protocolVersion}-${process.pid}`;
      const errors: MqttError[] = [];
      const sub = await pool.connected(url, { ...session, clientId: `restart-sub-${tag}` });
      sub.on('error', (e) => errors.push(e));
      await sub.subscribe(`seq-${tag}/#`, { qos: 2 });
      const received = new Map<number, number>(); // seq -> times delivered
      sub.on('message', (_topic, payload) => {
        const seq = Number(payload.toString());
        received.set(seq, (received.get(seq) ?? 0) + 1);
      });

      const pub = await pool.connected(url, { ...session, clientId: `restart-pub-${tag}` });
      pub.on('error', (e) => errors.push(e));
      const acked = new Set<number>();
      const failed: unknown[] = [];
      let next = 0;
      let killed = false;
      let reconnects = 0;
      pub.on('reconnect', () => reconnects++);

      const worker = async (): Promise<void> => {
        while (next < TOTAL) {
          const seq = next++;
          const qos = seq % 2 === 0 ? 1 : 2;
          try {
            await pub.publish(`seq-${tag}/q${qos}`, String(seq), { qos });
            acked.add(seq);
          } catch (err) {
            failed.push(err);
          }
          if (!killed && acked.size >= TOTAL / 3) {
            killed = true;
            const darkSince = Date.now();
            proxy.blackhole();
            await databaseSaved(darkSince);
            await mq.stop('SIGKILL');
            proxy.dropConnections();
            proxy.resume();
            await mq.restart();
          }
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, worker));

      assert.ok(killed && reconnects > 0, 'the broker went down and the publisher reconnected');
      assert.deepEqual(failed, [], 'no publish failed: the session carried them over');
      assert.equal(acked.size, TOTAL);
      await waitUntil(() => [...acked].every((seq) => received.has(seq)), 10000, 'every acknowledged message at the subscriber');
      const lost = [...acked].filter((seq) => !received.has(seq));
      assert.deepEqual(lost, []);
      const duplicatedQos2 = [...received].filter(([seq, n]) => seq % 2 === 1 && n > 1).map(([seq]) => seq);
      assert.deepEqual(duplicatedQos2, [], 'QoS 2 delivered exactly once');
    });
  });
}
