// Bridge options against a real Mosquitto: start_type lazy (threshold, idle_timeout) and once,
// bridge_max_packet_size both ways, bridge_bind_address, local_cleansession.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import { Bridge } from '../../src/bridge';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { Cleanups, arrival, count, localBroker, localClient, mosquitto, remoteClient, startBridge, withTimeout } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bridge start types and limits, against mosquitto', { skip, timeout: 30_000 }, () => {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  test('start_type lazy: no connection until threshold QoS 1 messages wait, then all of them in order; idle_timeout later it disconnects, and the threshold brings it back', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port, 4);
    await far.client.subscribeAsync('lazy/#', { qos: 1 });
    const watcher = await remoteClient(cleanups, remote.port, 4);
    await watcher.client.subscribeAsync('$SYS/broker/connection/lazy-1/state', { qos: 1 });
    const states = () => watcher.received.map((m) => m.payload);
    const local = await localClient(cleanups, port);
    const bridge = await startBridge(
      cleanups,
      broker,
      { name: 'lazy', remoteClientId: 'lazy-1', address: `127.0.0.1:${remote.port}`, startType: 'lazy', threshold: 3, idleTimeout: 1, topics: [{ pattern: 'lazy/#', direction: 'out', qos: 1 }] },
      false,
    );
    assert.equal(bridge.state, 'idle');
    await local.client.publish('lazy/1', 'm1', { qos: 1 });
    await local.client.publish('lazy/2', 'm2', { qos: 1 });
    await waitUntil(() => bridge.pendingCount === 2, 5000, 'two messages waiting');
    assert.equal(bridge.state, 'idle');
    assert.deepEqual(states(), [], 'the bridge has not been on Mosquitto');
    const connected = once(bridge, 'connect');
    await local.client.publish('lazy/3', 'm3', { qos: 1 });
    await withTimeout(connected, 10_000, 'the lazy bridge to connect at the threshold');
    await arrival(far.received, 'm3');
    assert.deepEqual(far.received.map((m) => m.payload), ['m1', 'm2', 'm3']);
    await waitUntil(() => states().at(-1) === '1', 5000, 'state 1 on Mosquitto');

    const disconnected = once(bridge, 'disconnect');
    await withTimeout(disconnected, 10_000, 'the idle bridge to disconnect');
    assert.equal(bridge.state, 'idle');
    await waitUntil(() => states().at(-1) === '0', 5000, 'state 0 on Mosquitto');
    const again = once(bridge, 'connect');
    for (let i = 4; i <= 6; i++) await local.client.publish(`lazy/${i}`, `m${i}`, { qos: 1 });
    await withTimeout(again, 10_000, 'the lazy bridge to connect again');
    await arrival(far.received, 'm6');
    assert.deepEqual(far.received.map((m) => m.payload), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  test('start_type once: connected at start; after the connection is lost it never connects again', async () => {
    const { broker } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const bridge = await startBridge(cleanups, broker, { name: 'once', address: `127.0.0.1:${remote.port}`, startType: 'once', topics: [{ pattern: 'o/#', direction: 'out', qos: 1 }] });
    const down = once(bridge, 'disconnect');
    await remote.stop();
    await withTimeout(down, 10_000, 'the loss');
    await remote.restart();
    let reconnected = false;
    bridge.on('connect', () => (reconnected = true));
    // the restart timeout base is 50 ms here: an automatic bridge would be back many times over
    await sleep(800);
    assert.equal(reconnected, false);
    assert.equal(bridge.state, 'idle');
  });

  test('bridge_max_packet_size: a larger message is not sent out (the others are); under 5.0 it is our Maximum Packet Size in CONNECT, so Mosquitto sends nothing larger in', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port, 5);
    await far.client.subscribeAsync('big/out/#', { qos: 1 });
    const local = await localClient(cleanups, port);
    await local.client.subscribe('big/in/#', { qos: 1 });
    const errors: Error[] = [];
    const bridge = await startBridge(cleanups, broker, {
      name: 'small',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      maxPacketSize: 200,
      topics: [
        { pattern: 'big/out/#', direction: 'out', qos: 1 },
        { pattern: 'big/in/#', direction: 'in', qos: 1 },
      ],
    });
    bridge.on('error', (e) => errors.push(e));
    await local.client.publish('big/out/a', 'x'.repeat(300), { qos: 1 });
    await local.client.publish('big/out/b', 'small-out', { qos: 1 });
    await arrival(far.received, 'small-out');
    assert.equal(far.received.length, 1, 'the 300-byte message stayed here');
    assert.ok(errors.some((e) => /larger than bridge_max_packet_size 200/.test(e.message)));
    await far.client.publishAsync('big/in/a', 'y'.repeat(300), { qos: 1 });
    await far.client.publishAsync('big/in/b', 'small-in', { qos: 1 });
    await arrival(local.received, 'small-in');
    assert.equal(count(local.received, 'y'.repeat(300)), 0, 'Mosquitto kept the large one from us');
    assert.equal(bridge.pendingCount, 0);
  });

  test('bridge_bind_address: the connection to the remote broker leaves from 127.0.0.2', async () => {
    const { broker } = await localBroker(cleanups);
    // our own broker as the remote: it tells the address each client came from
    const remote = await localBroker(cleanups);
    await startBridge(cleanups, broker, { name: 'bound', remoteClientId: 'bound-1', address: `127.0.0.1:${remote.port}`, bindAddress: '127.0.0.2', topics: [{ pattern: 'b/#' }] });
    assert.match(remote.broker.clients().find((c) => c.id === 'bound-1')?.address ?? '', /^127\.0\.0\.2:\d+$/);
  });

  for (const localCleanSession of [false, true]) {
    test(`local_cleansession ${localCleanSession}: a message published while the bridge is stopped ${localCleanSession ? 'is not kept for it' : 'waits in its local session and goes out once it starts again'}`, async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const far = await remoteClient(cleanups, remote.port, 4);
      await far.client.subscribeAsync('keep/#', { qos: 1 });
      const local = await localClient(cleanups, port);
      const options = { name: 'keeper', address: `127.0.0.1:${remote.port}`, localCleanSession, restartTimeout: { base: 0.05, cap: 0.3 }, topics: [{ pattern: 'keep/#', direction: 'out' as const, qos: 1 as const }] };
      const first = await startBridge(cleanups, broker, options);
      await first.stop();
      await local.client.publish('keep/while-stopped', 'while-stopped', { qos: 1 });
      const second = new Bridge(broker, options);
      cleanups.add(() => second.stop());
      const connected = once(second, 'connect');
      await second.start();
      await withTimeout(connected, 10_000, 'the bridge to start again');
      await local.client.publish('keep/after', 'after', { qos: 1 });
      await arrival(far.received, 'after');
      assert.deepEqual(far.received.map((m) => m.payload), localCleanSession ? ['after'] : ['while-stopped', 'after']);
    });
  }
});
