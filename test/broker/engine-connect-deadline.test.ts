// Engine: the CONNECT deadline [MQTT-3.1.0-1]. Connections waiting for their CONNECT share one timer;
// each is still closed at its own connectTimeout, in the order they came, and one that sends CONNECT
// in time is not touched.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBroker } from '../../src/broker';
import { RawClient, connectPacket } from './helpers/raw-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('[MQTT-3.1.0-1] staggered connections without CONNECT are each closed at their own connectTimeout, oldest first; one that connects stays', async () => {
  const timeout = 400;
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: timeout });
  await broker.listen();
  cleanups.push(() => broker.close());
  const port = broker.addresses()[0].port;
  const closedAt = new Map<string, number>();
  const open = async (name: string) => {
    const client = await RawClient.open(port, 4);
    cleanups.push(() => client.destroy());
    const openedAt = Date.now();
    client.socket.on('close', () => closedAt.set(name, Date.now() - openedAt));
    return client;
  };
  await open('first');
  await sleep(150);
  const connecting = await open('connecting');
  await sleep(100);
  await open('second');
  connecting.send(connectPacket(4, { keepalive: 0 }));
  await connecting.expect('connack');
  await sleep(timeout + 400);
  assert.deepEqual([...closedAt.keys()], ['first', 'second'], 'closed in the order they came; the connected one stays');
  for (const [name, ms] of closedAt) assert.ok(ms >= timeout - 5, `${name} closed ${ms} ms after it opened, before connectTimeout`);
  assert.equal(connecting.closed, false);
});
