// The bridge's connection to a real Mosquitto: restarts (reconnect, subscriptions made again, QoS 1
// messages published meanwhile delivered), connection state notifications, failover between
// addresses, credentials from a password file, and TLS with a client certificate.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bridge } from '../../src/bridge';
import { makeTestCerts } from '../helpers/certs';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { Cleanups, VERSIONS, arrival, localBroker, localClient, mosquitto, remoteClient, startBridge, withTimeout } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

describe('bridge connection to mosquitto', { skip, timeout: 30_000 }, () => {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  for (const version of VERSIONS) {
    test(`MQTT ${version.name}: Mosquitto stopped and restarted: reconnect, subscriptions made again, queued QoS 1 messages delivered in order`, async () => {
      const { broker, port } = await localBroker(cleanups);
      // persistence keeps the far subscriber's session across the restart; the bridge has a
      // clean session, so nothing of its subscriptions survives on Mosquitto's side
      // `user root`: Mosquitto keeps root's rights to write its database in our private temporary directory
      const remote = await mosquitto(cleanups, { persistence: true, extraConfig: ['user root'] });
      const far = await remoteClient(cleanups, remote.port, 4, { clean: false, clientId: `far-${version.level}` });
      await far.client.subscribeAsync('cloud/q/#', { qos: 1 });
      const local = await localClient(cleanups, port);
      await local.client.subscribe({ 'edge/cmd/#': 1, '$SYS/broker/connection/edge-1/state': 1 });
      const bridge = await startBridge(cleanups, broker, {
        name: 'restart',
        remoteClientId: 'edge-1',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        cleanSession: true,
        topics: [
          { pattern: 'q/#', direction: 'out', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' },
          { pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'edge/', remotePrefix: 'cloud/' },
        ],
      });
      const states = () => local.received.filter((m) => m.topic === '$SYS/broker/connection/edge-1/state').map((m) => m.payload);
      await waitUntil(() => states().at(-1) === '1', 5000, 'state 1');

      const down = once(bridge, 'disconnect');
      await remote.stop();
      await withTimeout(down, 10_000, 'the bridge to see Mosquitto go');
      await waitUntil(() => states().at(-1) === '0', 5000, 'state 0 after the loss');
      assert.equal(bridge.connected, false);
      for (let i = 1; i <= 3; i++) await local.client.publish(`edge/q/${i}`, `queued-${i}`, { qos: 1 });
      await local.client.publish('edge/q/0', 'qos0-while-down', { qos: 0 });
      // held by the bridge, unacknowledged to our broker, until Mosquitto takes them
      await waitUntil(() => bridge.pendingCount === 3, 5000, 'three messages pending');

      const up = once(bridge, 'connect');
      await remote.restart();
      await withTimeout(up, 10_000, 'the bridge to reconnect');
      for (let i = 1; i <= 3; i++) {
        const m = await arrival(far.received, `queued-${i}`);
        assert.equal(m.topic, `cloud/q/${i}`);
        assert.equal(m.qos, 1);
      }
      assert.deepEqual(
        far.received.filter((m) => m.payload.startsWith('queued-')).map((m) => m.payload),
        ['queued-1', 'queued-2', 'queued-3'],
      );
      await waitUntil(() => bridge.pendingCount === 0, 5000, 'nothing pending');
      // QoS 0 is not queued while the remote is down
      assert.equal(far.received.some((m) => m.payload === 'qos0-while-down'), false);
      // the bridge subscribed again: what Mosquitto gets now comes in
      const pub = await remoteClient(cleanups, remote.port);
      await pub.client.publishAsync('cloud/cmd/go', 'after-restart', { qos: 1 });
      assert.equal((await arrival(local.received, 'after-restart')).topic, 'edge/cmd/go');
      await waitUntil(() => states().at(-1) === '1', 5000, 'state 1 again');
    });
  }

  test("the queue while Mosquitto is down is bounded: the bridge's in-flight window plus our broker's max_queued_messages", async () => {
    const { broker, port } = await localBroker(cleanups, { maxInflightMessages: 2, maxQueuedMessages: 5 });
    const remote = await mosquitto(cleanups, { persistence: true, extraConfig: ['user root'] });
    const far = await remoteClient(cleanups, remote.port, 4, { clean: false, clientId: 'far-bounded' });
    await far.client.subscribeAsync('b/#', { qos: 1 });
    const bridge = await startBridge(cleanups, broker, {
      name: 'bounded',
      address: `127.0.0.1:${remote.port}`,
      cleanSession: true,
      topics: [{ pattern: 'b/#', direction: 'out', qos: 1 }],
      notifications: false,
    });
    const dropped: string[] = [];
    broker.on('dropped', (message, clientId, reason) => {
      if (clientId === bridge.options.localClientId) dropped.push(`${message.payload.toString()} ${reason}`);
    });
    const down = once(bridge, 'disconnect');
    await remote.stop();
    await withTimeout(down, 10_000, 'the bridge to see Mosquitto go');
    const local = await localClient(cleanups, port);
    for (let i = 1; i <= 10; i++) await local.client.publish(`b/${i}`, `m${i}`, { qos: 1 });
    await waitUntil(() => bridge.pendingCount === 2, 5000, 'the in-flight window to fill');
    assert.deepEqual(dropped, ['m8 queue-full', 'm9 queue-full', 'm10 queue-full']);
    const up = once(bridge, 'connect');
    await remote.restart();
    await withTimeout(up, 10_000, 'the bridge to reconnect');
    // published once the queue has room again (the remote acknowledged what was ahead): once the
    // marker is in, everything queued before it is in too
    await waitUntil(() => far.received.length >= 7 && bridge.pendingCount === 0, 10_000, 'the queue to drain');
    await local.client.publish('b/marker', 'marker', { qos: 1 });
    await arrival(far.received, 'marker');
    assert.deepEqual(
      far.received.map((m) => m.payload),
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'marker'],
    );
  });

  test('notifications: state 1 retained on both brokers while connected, 0 once stopped', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const bridge = await startBridge(cleanups, broker, {
      name: 'notify',
      remoteClientId: 'edge-2',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      topics: [{ pattern: 'x/#', direction: 'out' }],
    });
    const topic = '$SYS/broker/connection/edge-2/state';
    const local = await localClient(cleanups, port);
    await local.client.subscribe(topic, { qos: 1 });
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync(topic, { qos: 1 });
    assert.deepEqual(await arrival(local.received, '1'), { topic, payload: '1', qos: 1, retain: true });
    assert.deepEqual(await arrival(far.received, '1'), { topic, payload: '1', qos: 1, retain: true });
    await bridge.stop();
    await arrival(local.received, '0');
    await arrival(far.received, '0');
    assert.equal(bridge.state, 'stopped');
  });

  test('several addresses: a dead one is skipped for the next in turn', async () => {
    const { broker } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const dead = await freePort();
    const bridge = await startBridge(cleanups, broker, {
      name: 'failover',
      address: `127.0.0.1:${dead} 127.0.0.1:${remote.port}`,
      topics: [{ pattern: 'x/#', direction: 'out' }],
      notifications: false,
    });
    assert.equal(bridge.address.port, remote.port);
    assert.equal(bridge.connected, true);
  });

  test('round_robin false: on a secondary address the bridge goes back to the primary once it is back', async () => {
    const { broker, port } = await localBroker(cleanups);
    const primary = await mosquitto(cleanups);
    const secondary = await mosquitto(cleanups);
    await primary.stop();
    const bridge = await startBridge(cleanups, broker, {
      name: 'primary',
      address: [`127.0.0.1:${primary.port}`, `127.0.0.1:${secondary.port}`],
      topics: [{ pattern: 'p/#', direction: 'out', qos: 1 }],
      notifications: false,
    });
    assert.equal(bridge.address.port, secondary.port);
    const back = once(bridge, 'connect');
    await primary.restart();
    const [address] = (await withTimeout(back, 10_000, 'the return to the primary')) as [{ port: number }];
    assert.equal(address.port, primary.port);
    const far = await remoteClient(cleanups, primary.port);
    await far.client.subscribeAsync('p/#', { qos: 1 });
    const local = await localClient(cleanups, port);
    await local.client.publish('p/1', 'to-primary', { qos: 1 });
    await arrival(far.received, 'to-primary');
  });

  for (const version of VERSIONS) {
    test(`MQTT ${version.name}: credentials checked by Mosquitto's password file`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bridge-passwd-'));
      cleanups.add(() => fs.rmSync(dir, { recursive: true, force: true }));
      const passwordFile = path.join(dir, 'passwd');
      execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, 'edge', 's3cret'], { stdio: 'ignore' });
      // Mosquitto running as root reads a 0600 password file only as `user root`
      const remote = await mosquitto(cleanups, { extraConfig: ['allow_anonymous false', `password_file ${passwordFile}`, 'user root'] });
      const { broker, port } = await localBroker(cleanups);

      const refused = new Bridge(broker, {
        name: 'wrong',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        remoteUsername: 'edge',
        remotePassword: 'wrong',
        restartTimeout: 5,
        topics: [{ pattern: 'x/#', direction: 'out' }],
        notifications: false,
      });
      cleanups.add(() => refused.stop());
      const error = once(refused, 'error');
      await refused.start();
      const [err] = (await withTimeout(error, 5000, 'the refusal')) as [Error];
      assert.match(err.message, /refused/);
      assert.equal(refused.connected, false);

      await startBridge(cleanups, broker, {
        name: 'right',
        address: `127.0.0.1:${remote.port}`,
        protocolVersion: version.protocolVersion,
        remoteUsername: 'edge',
        remotePassword: 's3cret',
        topics: [{ pattern: 'x/#', direction: 'out', qos: 1 }],
        notifications: false,
      });
      const far = await remoteClient(cleanups, remote.port, 5, { username: 'edge', password: 's3cret' });
      await far.client.subscribeAsync('x/#', { qos: 1 });
      const local = await localClient(cleanups, port);
      await local.client.publish('x/1', 'authenticated', { qos: 1 });
      await arrival(far.received, 'authenticated');
    });
  }

  test("TLS to Mosquitto's TLS listener, with a client certificate; an unknown CA is refused", async () => {
    const certs = makeTestCerts('edge-bridge');
    cleanups.add(() => certs.cleanup());
    const remote = await mosquitto(cleanups, { tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireCertificate: true }, extraConfig: ['user root'] });
    const { broker, port } = await localBroker(cleanups);
    const tls = { ca: fs.readFileSync(certs.caCert), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) };

    const untrusted = new Bridge(broker, {
      name: 'untrusted',
      address: `mqtts://127.0.0.1:${remote.tlsPort}`,
      tls: { cert: tls.cert, key: tls.key },
      restartTimeout: 5,
      topics: [{ pattern: 'x/#', direction: 'out' }],
      notifications: false,
    });
    cleanups.add(() => untrusted.stop());
    const error = once(untrusted, 'error');
    await untrusted.start();
    const [err] = (await withTimeout(error, 5000, 'the certificate error')) as [Error];
    assert.match(err.message, /certificate/i);
    assert.equal(untrusted.connected, false);

    // host:port with TLS options: mqtts, as Mosquitto's bridge_cafile turns TLS on
    await startBridge(cleanups, broker, {
      name: 'tls',
      address: `127.0.0.1:${remote.tlsPort}`,
      protocolVersion: 'mqttv50',
      tls,
      topics: [{ pattern: 'x/#', direction: 'both', qos: 1 }],
      notifications: false,
    });
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('x/out', { qos: 1 });
    const local = await localClient(cleanups, port);
    await local.client.subscribe('x/in', { qos: 1 });
    await local.client.publish('x/out', 'over-tls', { qos: 1 });
    await arrival(far.received, 'over-tls');
    await far.client.publishAsync('x/in', 'back-over-tls', { qos: 1 });
    await arrival(local.received, 'back-over-tls');
  });
});
