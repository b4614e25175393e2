// Bridge to a real Mosquitto, for bridge protocol 3.1.1 (with the bridge bit) and 5.0 (No Local,
// Retain As Published): out, in and both directions with Mosquitto's prefixes, QoS up to the
// topic's, retained messages, and loop prevention (a message crosses once, never comes back).
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { Cleanups, VERSIONS, arrival, count, localBroker, localClient, mosquitto, remoteClient, startBridge } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

for (const version of VERSIONS) {
  describe(`bridge to mosquitto over MQTT ${version.name}`, { skip, timeout: 30_000 }, () => {
    const cleanups = new Cleanups();
    afterEach(() => cleanups.run());

    test('out: a local publish reaches Mosquitto with the local prefix swapped for the remote one', async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const sub = await remoteClient(cleanups, remote.port);
      await sub.client.subscribeAsync('#', { qos: 1 });
      await startBridge(cleanups, broker, {
        name: 'out',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [{ pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' }],
        notifications: false,
      });
      const pub = await localClient(cleanups, port);
      await pub.client.publish('edge/sensors/t1', '21.5', { qos: 1 });
      await pub.client.publish('edge/other/t1', 'not bridged', { qos: 1 });
      await pub.client.publish('edge/sensors/t2', 'last', { qos: 1 });
      const m = await arrival(sub.received, '21.5');
      assert.equal(m.topic, 'cloud/sensors/t1');
      assert.equal((await arrival(sub.received, 'last')).topic, 'cloud/sensors/t2');
      // messages arrive in order on one connection: what no topic line matched never went out
      assert.equal(count(sub.received, 'not bridged'), 0);
    });

    test('in: a publish on Mosquitto reaches local subscribers under the local prefix; the "" pattern maps one topic', async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const local = await localClient(cleanups, port);
      await local.client.subscribe('#', { qos: 1 });
      await startBridge(cleanups, broker, {
        name: 'in',
        address: `mqtt://127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [
          { pattern: 'cmd/+', direction: 'in', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' },
          { pattern: '""', direction: 'in', qos: 0, localPrefix: 'site/status', remotePrefix: 'fleet/site-7/status' },
        ],
        notifications: false,
      });
      const pub = await remoteClient(cleanups, remote.port);
      await pub.client.publishAsync('cloud/cmd/reboot', 'now', { qos: 1 });
      await pub.client.publishAsync('fleet/site-7/status', 'green', { qos: 0 });
      await pub.client.publishAsync('cloud/cmd/a/b', 'too deep', { qos: 1 });
      await pub.client.publishAsync('cloud/cmd/last', 'last', { qos: 1 });
      assert.equal((await arrival(local.received, 'now')).topic, 'edge/cmd/reboot');
      assert.equal((await arrival(local.received, 'green')).topic, 'site/status');
      await arrival(local.received, 'last');
      assert.equal(count(local.received, 'too deep'), 0);
    });

    /** Our broker and Mosquitto joined by a `both` bridge, with a subscriber on each side. */
    async function bothWays(tryPrivate = true) {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const local = await localClient(cleanups, port);
      await local.client.subscribe('edge/chat/#', { qos: 1 });
      const far = await remoteClient(cleanups, remote.port);
      await far.client.subscribeAsync('cloud/chat/#', { qos: 1 });
      await startBridge(cleanups, broker, {
        name: 'both',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [{ pattern: 'chat/#', direction: 'both', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' }],
        notifications: false,
        tryPrivate,
      });
      await local.client.publish('edge/chat/a', 'from-local', { qos: 1 });
      assert.equal((await arrival(far.received, 'from-local')).topic, 'cloud/chat/a');
      // Mosquitto queued any echo of "from-local" to the bridge before "from-remote", which the
      // far client sends only now: once "from-remote" is in, an echo would be in too.
      await far.client.publishAsync('cloud/chat/b', 'from-remote', { qos: 1 });
      assert.equal((await arrival(local.received, 'from-remote')).topic, 'edge/chat/b');
      // The same the other way: a bounce of "from-remote" would reach Mosquitto before "flush".
      await local.client.publish('edge/chat/c', 'flush', { qos: 1 });
      await arrival(far.received, 'flush');
      return { local, far };
    }

    test('both with prefixes: each message crosses once; what came in never goes back out (No Local on our side)', async () => {
      const { local, far } = await bothWays();
      assert.equal(count(far.received, 'from-local'), 1);
      assert.equal(count(far.received, 'from-remote'), 1, 'the remote message went back to Mosquitto');
      assert.equal(count(local.received, 'from-remote'), 1);
    });

    if (version.level === 5) {
      test('5.0: No Local on the remote subscription: Mosquitto does not send the bridge its own messages [MQTT-3.8.3-3]', async () => {
        const { local } = await bothWays();
        assert.equal(count(local.received, 'from-local'), 1, 'the local message came back from Mosquitto');
      });
    } else {
      test('3.1.1 try_private: with the bridge bit Mosquitto does not send the bridge its own messages', async () => {
        const { local } = await bothWays(true);
        assert.equal(count(local.received, 'from-local'), 1, 'the local message came back from Mosquitto');
      });

      test('3.1.1 without try_private: Mosquitto echoes the bridge its own message once, which goes no further', async () => {
        const { local, far } = await bothWays(false);
        // the echo is published locally once; No Local keeps it from going out again
        assert.equal(count(local.received, 'from-local'), 2);
        assert.equal(count(far.received, 'from-local'), 1);
      });
    }

    test('QoS 1 end to end, capped at the topic QoS', async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const local = await localClient(cleanups, port);
      await local.client.subscribe('q/#', { qos: 2 });
      const far = await remoteClient(cleanups, remote.port);
      await far.client.subscribeAsync('q/#', { qos: 2 });
      await startBridge(cleanups, broker, {
        name: 'qos',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [
          { pattern: 'q/out/#', direction: 'out', qos: 1 },
          { pattern: 'q/in/#', direction: 'in', qos: 1 },
        ],
        notifications: false,
      });
      await local.client.publish('q/out/1', 'out-qos1', { qos: 1 });
      await local.client.publish('q/out/2', 'out-qos2', { qos: 2 });
      await local.client.publish('q/out/0', 'out-qos0', { qos: 0 });
      assert.equal((await arrival(far.received, 'out-qos1')).qos, 1);
      assert.equal((await arrival(far.received, 'out-qos2')).qos, 1, 'QoS 2 is forwarded at the topic QoS 1');
      assert.equal((await arrival(far.received, 'out-qos0')).qos, 0);
      await far.client.publishAsync('q/in/1', 'in-qos1', { qos: 1 });
      await far.client.publishAsync('q/in/2', 'in-qos2', { qos: 2 });
      assert.equal((await arrival(local.received, 'in-qos1')).qos, 1);
      assert.equal((await arrival(local.received, 'in-qos2')).qos, 1);
    });

    test('retained messages cross with their RETAIN flag: stored ones both ways, live ones going out', async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const localPublisher = await localClient(cleanups, port);
      await localPublisher.client.publish('edge/state/a', 'local-stored', { qos: 1, retain: true });
      const farPublisher = await remoteClient(cleanups, remote.port);
      await farPublisher.client.publishAsync('cloud/state/b', 'remote-stored', { qos: 1, retain: true });
      // Watchers with Retain As Published see the RETAIN flag of live messages as it was published.
      const localWatch = await localClient(cleanups, port);
      await localWatch.client.subscribe({ 'edge/state/#': { qos: 1, rap: true } });
      const farWatch = await remoteClient(cleanups, remote.port, 5);
      await farWatch.client.subscribeAsync('cloud/state/#', { qos: 1, rap: true });
      await startBridge(cleanups, broker, {
        name: 'retain',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [{ pattern: 'state/#', direction: 'both', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' }],
        notifications: false,
      });
      // stored on each side before the bridge started: sent across retained
      assert.equal((await arrival(farWatch.received, 'local-stored')).retain, true);
      assert.equal((await arrival(localWatch.received, 'remote-stored')).retain, true);
      // a live one going out keeps RETAIN
      await localPublisher.client.publish('edge/state/d', 'local-live', { qos: 1, retain: true });
      assert.equal((await arrival(farWatch.received, 'local-live')).retain, true);
      // and stored where they arrived: a new subscriber gets them as retained messages [MQTT-3.3.1-6]
      const lateLocal = await localClient(cleanups, port);
      await lateLocal.client.subscribe('edge/state/#', { qos: 1 });
      for (const payload of ['local-stored', 'remote-stored', 'local-live']) {
        assert.equal((await arrival(lateLocal.received, payload)).retain, true, payload);
      }
      const lateFar = await remoteClient(cleanups, remote.port);
      await lateFar.client.subscribeAsync('cloud/state/#', { qos: 1 });
      for (const payload of ['local-stored', 'remote-stored', 'local-live']) {
        assert.equal((await arrival(lateFar.received, payload)).retain, true, payload);
      }
    });

    // Mosquitto clears RETAIN on what it forwards to an ordinary 3.1.1 subscriber [MQTT-3.3.1-9]:
    // 5.0 asks to keep it with Retain As Published, 3.1.1 by the bridge bit.
    test('a live retained message coming in keeps RETAIN and is stored locally', async () => {
      const { broker, port } = await localBroker(cleanups);
      const remote = await mosquitto(cleanups);
      const localWatch = await localClient(cleanups, port);
      await localWatch.client.subscribe({ 'edge/state/#': { qos: 1, rap: true } });
      await startBridge(cleanups, broker, {
        name: 'retain-live',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        topics: [{ pattern: 'state/#', direction: 'in', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' }],
        notifications: false,
      });
      const farPublisher = await remoteClient(cleanups, remote.port);
      await farPublisher.client.publishAsync('cloud/state/c', 'remote-live', { qos: 1, retain: true });
      assert.equal((await arrival(localWatch.received, 'remote-live')).retain, true);
      const lateLocal = await localClient(cleanups, port);
      await lateLocal.client.subscribe('edge/state/#', { qos: 1 });
      assert.equal((await arrival(lateLocal.received, 'remote-live', 'remote-live', 2000)).retain, true);
    });
  });
}
