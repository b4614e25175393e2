// The bridge within its broker and against what the remote allows: a local broker that checks
// credentials, the broker closing under a running bridge, QoS 2 end to end, MQTT 3.1 and
// WebSocket transports, and a 5.0 remote with a lower Maximum QoS and no retained messages.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import { Bridge } from '../../src/bridge';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { Cleanups, arrival, localBroker, localClient, mosquitto, remoteClient, startBridge } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

describe('bridge lifecycle and transports', { skip, timeout: 30_000 }, () => {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  test('a local broker that authenticates: the bridge session is part of the broker, no hook is asked for it', async () => {
    const asked: string[] = [];
    const { broker } = await localBroker(cleanups, {
      authenticate: (client) => (asked.push(client.id), false),
      authorizeSubscribe: (client) => (asked.push(client.id), false),
      authorizePublish: (client) => (asked.push(client.id), false),
      authorizeRead: (client) => (asked.push(client.id), false),
    });
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('x/#', { qos: 1 });
    const bridge = await startBridge(cleanups, broker, {
      name: 'auth',
      address: `127.0.0.1:${remote.port}`,
      localClientId: 'local-auth',
      localUsername: 'bridge-user',
      topics: [{ pattern: 'x/#', direction: 'both', qos: 1 }],
      notifications: false,
    });
    assert.equal(bridge.connected, true);
    const published: string[] = [];
    broker.on('published', (m, clientId) => published.push(`${clientId}:${m.payload.toString()}`));
    await far.client.publishAsync('x/in', 'came-in', { qos: 1 });
    await waitUntil(() => published.includes('local-auth:came-in'), 8000, 'came-in published by the bridge session');
    await broker.publish({ topic: 'x/out', payload: 'went-out', qos: 1 });
    await arrival(far.received, 'went-out');
    assert.deepEqual(asked, []);
    assert.equal(broker.clients().find((c) => c.id === 'local-auth')?.username, 'bridge-user');
  });

  test('our broker closing stops the bridge, which tells Mosquitto it is gone', async () => {
    const { broker } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('$SYS/broker/connection/edge-3/state', { qos: 1 });
    const bridge = await startBridge(cleanups, broker, {
      name: 'closing',
      remoteClientId: 'edge-3',
      address: `127.0.0.1:${remote.port}`,
      topics: [{ pattern: 'x/#', direction: 'both' }],
    });
    await arrival(far.received, '1');
    await broker.close();
    await waitUntil(() => bridge.state === 'stopped', 5000, 'the bridge to stop');
    await arrival(far.received, '0');
  });

  test('stop() while start() is under way leaves no session on either broker', async () => {
    const { broker } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const bridge = new Bridge(broker, { name: 'brief', address: `127.0.0.1:${remote.port}`, topics: [{ pattern: 'x/#', direction: 'both' }] });
    cleanups.add(() => bridge.stop());
    const started = bridge.start();
    await bridge.stop();
    await started;
    assert.equal(bridge.state, 'stopped');
    await waitUntil(() => broker.clients().length === 0, 5000, 'the bridge session to leave our broker');
    // started again, it works
    const connected = once(bridge, 'connect');
    await bridge.start();
    await connected;
    assert.deepEqual(broker.clients().map((c) => c.id), [bridge.options.localClientId]);
  });

  test('a notification topic outside $SYS, inside a both topic line, is published on each side once and not bridged', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('edge/#', { qos: 1 });
    const local = await localClient(cleanups, port);
    await local.client.subscribe('edge/#', { qos: 1 });
    await startBridge(cleanups, broker, {
      name: 'custom-state',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      notificationTopic: 'edge/bridge/state',
      topics: [{ pattern: 'edge/#', direction: 'both', qos: 1 }],
    });
    // published after the notifications on both sides: once it has crossed, a bridged one would have too
    await local.client.publish('edge/flush', 'flush-out', { qos: 1 });
    await arrival(far.received, 'flush-out');
    await far.client.publishAsync('edge/flush', 'flush-in', { qos: 1 });
    await arrival(local.received, 'flush-in');
    const states = (received: typeof local.received) => received.filter((m) => m.topic === 'edge/bridge/state').map((m) => m.payload);
    assert.deepEqual(states(local.received), ['0', '1']);
    assert.deepEqual(states(far.received), ['1']);
  });

  test('QoS 2 end to end under 5.0', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('q2/#', { qos: 2 });
    const local = await localClient(cleanups, port);
    await local.client.subscribe('q2/#', { qos: 2 });
    await startBridge(cleanups, broker, {
      name: 'qos2',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      topics: [
        { pattern: 'q2/out', direction: 'out', qos: 2 },
        { pattern: 'q2/in', direction: 'in', qos: 2 },
      ],
      notifications: false,
    });
    await local.client.publish('q2/out', 'exactly-once-out', { qos: 2 });
    assert.equal((await arrival(far.received, 'exactly-once-out')).qos, 2);
    await far.client.publishAsync('q2/in', 'exactly-once-in', { qos: 2 });
    assert.equal((await arrival(local.received, 'exactly-once-in')).qos, 2);
  });

  test('5.0 message properties cross both ways (not the Topic Alias or Subscription Identifiers)', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    const farProperties = new Map<string, unknown>();
    far.client.on('message', (_topic, payload, packet) => farProperties.set(payload.toString(), packet.properties));
    await far.client.subscribeAsync('p/out', { qos: 1 });
    const local = await localClient(cleanups, port);
    const localProperties = new Map<string, unknown>();
    local.client.on('message', (_topic, payload, packet) => localProperties.set(payload.toString(), packet.properties));
    await local.client.subscribe('p/in', { qos: 1, subscriptionIdentifier: 7 });
    await startBridge(cleanups, broker, {
      name: 'props',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      topics: [
        { pattern: 'p/out', direction: 'out', qos: 1 },
        { pattern: 'p/in', direction: 'in', qos: 1 },
      ],
      notifications: false,
    });
    await local.client.publish('p/out', 'out', { qos: 1, properties: { contentType: 'text/plain', userProperties: [['site', 'edge-7']], responseTopic: 'p/reply' } });
    await arrival(far.received, 'out');
    // MQTT.js gives user properties as an object without prototype
    assert.deepEqual({ ...(farProperties.get('out') as object) }, { contentType: 'text/plain', userProperties: Object.assign(Object.create(null), { site: 'edge-7' }), responseTopic: 'p/reply' });
    await far.client.publishAsync('p/in', 'in', { qos: 1, properties: { contentType: 'application/json', userProperties: { from: 'cloud' }, correlationData: Buffer.from('c1') } });
    await arrival(local.received, 'in');
    assert.deepEqual(localProperties.get('in'), {
      contentType: 'application/json',
      userProperties: [['from', 'cloud']],
      correlationData: Buffer.from('c1'),
      // the local subscriber's own identifier, not one from Mosquitto's side
      subscriptionIdentifiers: [7],
    });
  });

  test('MQTT 3.1 bridge protocol and a WebSocket address', async () => {
    const wsPort = await freePort();
    const remote = await mosquitto(cleanups, { extraConfig: [`listener ${wsPort} 127.0.0.1`, 'protocol websockets'] });
    const { broker, port } = await localBroker(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('v/#', { qos: 1 });
    await startBridge(cleanups, broker, {
      name: 'v31',
      // 3.1 allows client identifiers of at most 23 characters
      remoteClientId: 'edge-v31',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv31',
      topics: [{ pattern: 'v/31', direction: 'out', qos: 1 }],
      notifications: false,
    });
    await startBridge(cleanups, broker, {
      name: 'ws',
      address: `ws://127.0.0.1:${wsPort}/mqtt`,
      protocolVersion: 'mqttv50',
      topics: [{ pattern: 'v/ws', direction: 'out', qos: 1 }],
      notifications: false,
    });
    const local = await localClient(cleanups, port);
    await local.client.publish('v/31', 'over-3.1', { qos: 1 });
    await local.client.publish('v/ws', 'over-websocket', { qos: 1 });
    await arrival(far.received, 'over-3.1');
    await arrival(far.received, 'over-websocket');
  });

  test("a 5.0 remote's Maximum QoS and Retain Available are respected [MQTT-3.2.2-11], [MQTT-3.2.2-14]", async () => {
    const remote = await mosquitto(cleanups, { extraConfig: ['max_qos 1', 'retain_available false'] });
    const { broker, port } = await localBroker(cleanups);
    const far = await remoteClient(cleanups, remote.port);
    await far.client.subscribeAsync('lim/#', { qos: 1 });
    const bridge = await startBridge(cleanups, broker, {
      name: 'limits',
      address: `127.0.0.1:${remote.port}`,
      protocolVersion: 'mqttv50',
      topics: [{ pattern: 'lim/#', direction: 'out', qos: 2 }],
      notifications: false,
    });
    let disconnects = 0;
    bridge.on('disconnect', () => disconnects++);
    const local = await localClient(cleanups, port);
    await local.client.publish('lim/a', 'qos2-retained', { qos: 2, retain: true });
    await local.client.publish('lim/b', 'after', { qos: 1 });
    const m = await arrival(far.received, 'qos2-retained');
    assert.equal(m.qos, 1);
    assert.equal(m.retain, false);
    await arrival(far.received, 'after');
    // Mosquitto disconnects a client whose PUBLISH exceeds its limits (0x9B, 0x9A) before it
    // forwards what that client sends next
    assert.equal(disconnects, 0);
  });
});
