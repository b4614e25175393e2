// 1,000 persistent-session clients (our client, clean=false) lose their connections at once; while
// they are away a QoS 1 message is queued for each; then they all come back at once. Every one gets
// its session back (Session Present [MQTT-3.2.2-2]) and its queued message [MQTT-3.1.2-4/5].
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type MqttClient } from '../../src/client';
import type { ConnackPacket } from '../../src/codec/types';
import { FaultProxy } from '../helpers/fault-proxy';
import { BrokerProcess, MB } from './helpers/broker-process';
import { inBatches } from './helpers/attack';
import { RawMqtt } from './helpers/raw-mqtt';

const CLIENTS = Number(process.env.RELIABILITY_STORM_CLIENTS ?? 1000);
const RSS_BOUND = 200 * MB;
const WAIT_MS = 60_000;

let broker: BrokerProcess;
let proxy: FaultProxy;
const clients: MqttClient[] = [];
before(async () => {
  broker = await BrokerProcess.start({});
  proxy = await FaultProxy.start(broker.port);
});
after(async () => {
  await Promise.all(clients.map((c) => c.end({ force: true })));
  await proxy?.close();
  await broker?.stop();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(`${CLIENTS} clients with persistent sessions reconnect at once and all get their session and queued message back`, async (t) => {
  const tag = `storm-${process.pid}`;
  const connacks: ConnackPacket[][] = [];
  const received: number[] = new Array(CLIENTS).fill(0);
  const stopWatch = broker.watchRss(200);
  await inBatches([...Array(CLIENTS).keys()], 100, async (i) => {
    const version = i % 2 === 0 ? 4 : 5;
    const c = connect(proxy.url, {
      protocolVersion: version,
      clientId: `${tag}-${i}`,
      clean: false,
      reconnectPeriod: 50,
      reconnectPeriodMax: 500,
      connectTimeout: 30_000,
      keepalive: 0,
      properties: version === 5 ? { sessionExpiryInterval: 600 } : undefined,
    });
    clients.push(c);
    connacks[i] = [];
    c.on('error', () => undefined);
    c.on('connect', (connack) => connacks[i].push(connack));
    c.on('message', (topic) => {
      if (topic === `${tag}/${i}`) received[i]++;
    });
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    await c.subscribe(`${tag}/${i}`, { qos: 1 });
  });
  assert.equal(broker.alive, true);

  // every link cut, and the way back closed while messages are queued for the absent clients
  proxy.refuse(true);
  proxy.cutAll();
  await until(() => clients.every((c) => !c.connected), 'every client to see the cut');
  const publisher = await RawMqtt.connect(broker.port, 4);
  try {
    for (let i = 0; i < CLIENTS; i++) {
      if (!publisher.send({ cmd: 'publish', topic: `${tag}/${i}`, payload: Buffer.from(String(i)), qos: 1, messageId: i + 1, retain: false, dup: false })) await publisher.drained();
    }
    await publisher.until(() => publisher.count('puback') === CLIENTS, WAIT_MS, 'every PUBACK');
  } finally {
    publisher.destroy();
  }
  assert.equal(received.reduce((a, b) => a + b, 0), 0, 'nothing delivered while they were away');

  // the way back opens: all of them reconnect within one backoff period
  const acceptedBefore = proxy.accepted;
  proxy.refuse(false);
  await until(() => clients.every((c) => c.connected) && received.every((n) => n > 0), 'every client back with its message');
  const peakRss = stopWatch();
  const resumed = connacks.filter((list) => list.length >= 2 && list[list.length - 1].sessionPresent).length;
  t.diagnostic(`${CLIENTS} clients; reconnect attempts through the proxy after reopening: ${proxy.accepted - acceptedBefore}; sessions resumed ${resumed}; messages received ${received.reduce((a, b) => a + b, 0)}; peak broker RSS ${(peakRss / MB).toFixed(1)} MB`);
  assert.equal(resumed, CLIENTS, 'Session Present on every reconnection');
  assert.ok(received.every((n) => n >= 1), 'every client received its queued message');
  assert.ok(peakRss < RSS_BOUND, `peak RSS ${(peakRss / MB).toFixed(1)} MB < ${RSS_BOUND / MB} MB`);
  assert.equal((await broker.stats()).clients, CLIENTS);
});
