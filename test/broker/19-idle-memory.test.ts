// 19-idle-memory: what an idle connection costs the broker's heap, measured after a full collection
// in a broker process of its own. A plain net.Server socket costs about 1 KB of heap in Node 20; an
// idle MQTT connection (CONNECT, CONNACK, then nothing) costs 2.2-2.4 KB here, 1,000 of them (the
// socket, the Connection, its Session and decoder; no Maps, timers or closures of its own until it
// needs them). It cost about 1 KB more before those were made lazy; the bound is 2.8 KB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { RawClient, connectPacket } from './helpers/raw-client';

const CONNECTIONS = 1000;
const HEAP_PER_CONNECTION_LIMIT = 2800;

describe('19-idle-memory', { timeout: 60_000 }, () => {
  let child: ChildProcess;
  let port = 0;
  const clients: RawClient[] = [];

  const ask = (): Promise<number> =>
    new Promise((resolve) => {
      child.once('message', (m: { heapUsed: number }) => resolve(m.heapUsed));
      child.send('heap');
    });

  before(async () => {
    child = fork(path.join(__dirname, 'helpers', 'heap-broker.js'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`heap broker exited with ${code}`)));
    });
  });

  after(async () => {
    for (const c of clients) c.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await exited;
  });

  test(`${CONNECTIONS} idle 3.1.1 connections cost the broker's heap at most ${HEAP_PER_CONNECTION_LIMIT} bytes each`, async () => {
    const before = await ask();
    for (let i = 0; i < CONNECTIONS; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, CONNECTIONS - i) }, async (_, k) => {
          const client = await RawClient.open(port, 4);
          clients.push(client);
          client.send(connectPacket(4, { clientId: `idle-${i + k}`, keepalive: 0 }));
          return client.expect('connack');
        }),
      );
      assert.ok(batch.every((connack) => connack.returnCode === 0));
    }
    const perConnection = ((await ask()) - before) / CONNECTIONS;
    assert.ok(perConnection <= HEAP_PER_CONNECTION_LIMIT, `${Math.round(perConnection)} bytes of heap per idle connection`);
    assert.ok(perConnection > 500, `${Math.round(perConnection)} bytes: the connections were not all measured`);
  });
});
