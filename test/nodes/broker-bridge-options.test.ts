// mqtt-hub-broker's advanced bridge options against a real Mosquitto: TLS through a tls-config node,
// clean session off keeping what the remote broker queued while the bridge was away (and on losing
// it), and the connection state notification on the chosen topic in both brokers.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, coreNode, helper, logLines, trackStatuses, waitForStatus } from './harness';

trackStatuses();

const tlsNode = coreNode('network/05-tls.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readBrokerSettings } = require(path.join(__dirname, '../../nodes/lib/broker-settings.js')) as {
  readBrokerSettings(config: Record<string, unknown>, credentials?: Record<string, string>): { bridges: Array<Record<string, unknown>> };
};

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

describe('mqtt-hub-broker advanced bridge options', { skip }, () => {
  let mosq: MosquittoInstance;
  let certs: TestCerts;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    certs = makeTestCerts();
    mosq = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey } });
  });
  after(async () => {
    if (mosq) await disposeMosquitto(mosq);
    certs?.cleanup();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  async function client(url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
    clients.push(c);
    return c;
  }

  async function startBroker(port: number, bridge: Record<string, unknown>, extra: unknown[] = []): Promise<void> {
    await helper.load([...allNodes, tlsNode], [
      { id: 'f1', type: 'tab', label: 'test' },
      ...extra,
      { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', bind: 'loopback', port: String(port), sysInterval: '0', bridges: [bridge], wires: [[]] },
    ]);
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
  }

  test('TLS to Mosquitto through a tls-config node with the test CA: a host:port address uses mqtts and messages flow', async () => {
    const remote = await client(`mqtt://127.0.0.1:${mosq.port}`);
    const got: string[] = [];
    remote.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await remote.subscribeAsync('tls/#', { qos: 1 });
    const port = await freePort();
    await startBroker(
      port,
      { name: 'secure', address: `127.0.0.1:${mosq.tlsPort}`, remoteClientId: 'nr-bridge-tls', topics: 'plant/# out 1 "" tls/', tls: 'bridgeTls' },
      [{ id: 'bridgeTls', type: 'tls-config', cert: '', key: '', ca: certs.caCert, verifyservercert: true }],
    );
    const broker = helper.getNode('broker');
    let n = 0;
    await waitUntil(() => {
      broker.receive({ topic: 'plant/a', payload: `m${n++}`, qos: 1 });
      return got.length > 0;
    }, 10000, 'message at Mosquitto over TLS');
    assert.match(got[0], /^tls\/plant\/a=m\d+$/);
  });

  test('TLS with "verify server certificate" on and no CA: the test certificate is refused, the bridge never connects', async () => {
    const port = await freePort();
    await startBroker(
      port,
      { name: 'strict', address: `127.0.0.1:${mosq.tlsPort}`, remoteClientId: 'nr-bridge-strict', topics: 'x/# out 0', tls: 'bridgeTls', notificationTopic: 'strict/state' },
      [{ id: 'bridgeTls', type: 'tls-config', cert: '', key: '', ca: '', verifyservercert: true }],
    );
    await waitUntil(() => logLines().some((l) => /bridge strict .*certificate/i.test(l.msg)), 10000, 'a certificate error in the log');
    // A connected bridge leaves its state 1 retained at Mosquitto; a marker retained after it shows the subscription got them all.
    const remote = await client(`mqtt://127.0.0.1:${mosq.port}`);
    await remote.publishAsync('strict/marker', 'm', { qos: 1, retain: true });
    const seen: string[] = [];
    remote.on('message', (topic) => seen.push(topic));
    await remote.subscribeAsync('strict/#', { qos: 1 });
    await waitUntil(() => seen.includes('strict/marker'), 5000, 'the retained marker');
    assert.deepEqual(seen, ['strict/marker']);
    await remote.publishAsync('strict/marker', '', { qos: 1, retain: true });
  });

  // The bridge is kicked off Mosquitto by a client taking over its client id [MQTT-3.1.4-2]; while it waits
  // its restart timeout, QoS 1 messages are published at Mosquitto for its subscription.
  async function messagesAcrossReconnect(cleanSession: boolean): Promise<string[]> {
    const id = `nr-bridge-clean-${cleanSession}`;
    const port = await freePort();
    await startBroker(port, {
      name: 'down',
      address: `mqtt://127.0.0.1:${mosq.port}`,
      remoteClientId: id,
      topics: `cmd/${cleanSession}/# in 1`,
      cleanSession,
      restartTimeout: '4',
      notificationTopic: `bridges/${id}/state`,
    });
    const local = await client(`mqtt://127.0.0.1:${port}`, { clientId: `local-${cleanSession}` });
    const got: string[] = [];
    const states: string[] = [];
    local.on('message', (topic, payload) => (topic.startsWith('cmd/') ? got : states).push(`${topic}=${payload.toString()}`));
    await local.subscribeAsync([`cmd/${cleanSession}/#`, `bridges/${id}/state`], { qos: 1 });
    // Connected, and subscribed at Mosquitto: the bridge subscribes before it announces its state.
    await waitUntil(() => states.includes(`bridges/${id}/state=1`), 10000, 'connection state 1 on the notification topic');
    const remote = await client(`mqtt://127.0.0.1:${mosq.port}`);
    await remote.publishAsync(`cmd/${cleanSession}/first`, 'before', { qos: 1 });
    await waitUntil(() => got.length === 1, 5000, 'the first message over the bridge');

    // Take the bridge's session over with clean session off, so Mosquitto keeps it, and leave at once.
    const mark = states.length;
    const taker = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { clientId: id, clean: false, reconnectPeriod: 0 });
    await taker.endAsync();
    for (const n of [1, 2, 3]) await remote.publishAsync(`cmd/${cleanSession}/queued`, `q${n}`, { qos: 1 });
    // The bridge announces 0 when it loses Mosquitto and 1 once it is back, after its restart timeout.
    await waitUntil(() => {
      const after = states.slice(mark);
      const down = after.indexOf(`bridges/${id}/state=0`);
      return down >= 0 && after.indexOf(`bridges/${id}/state=1`, down) > down;
    }, 15000, 'the bridge to go down and reconnect');
    await remote.publishAsync(`cmd/${cleanSession}/last`, 'after', { qos: 1 });
    await waitUntil(() => got.some((g) => g.endsWith('=after')), 5000, 'the message published after the reconnect');
    return got;
  }

  test('clean session off: what Mosquitto queued while the bridge was away arrives after it reconnects', async () => {
    const got = await messagesAcrossReconnect(false);
    assert.deepEqual(got, ['cmd/false/first=before', 'cmd/false/queued=q1', 'cmd/false/queued=q2', 'cmd/false/queued=q3', 'cmd/false/last=after']);
  });

  test('clean session on: the remote broker forgets the queue, only messages after the reconnect arrive', async () => {
    const got = await messagesAcrossReconnect(true);
    assert.deepEqual(got, ['cmd/true/first=before', 'cmd/true/last=after']);
  });

  test('notifications: the state goes to the chosen topic at Mosquitto too; notifications off publish nothing', async () => {
    const remote = await client(`mqtt://127.0.0.1:${mosq.port}`);
    const states: string[] = [];
    remote.on('message', (topic, payload) => states.push(`${topic}=${payload.toString()}`));
    await remote.subscribeAsync('gw/#', { qos: 1 });
    const port = await freePort();
    await startBroker(port, { name: 'n', address: `mqtt://127.0.0.1:${mosq.port}`, remoteClientId: 'nr-bridge-notify', topics: 'n/# out 0', notificationTopic: 'gw/n/state' });
    await waitUntil(() => states.includes('gw/n/state=1'), 10000, 'state 1 at Mosquitto');
    await helper.unload();
    states.length = 0;
    await startBroker(port, { name: 'quiet', address: `mqtt://127.0.0.1:${mosq.port}`, remoteClientId: 'nr-bridge-quiet', topics: 'q/# out 0', notifications: false, notificationTopic: 'gw/quiet/state' });
    // A marker through the same connection proves anything sent before it would have arrived.
    await remote.subscribeAsync('q/#', { qos: 1 });
    const broker = helper.getNode('broker');
    let n = 0;
    await waitUntil(() => {
      broker.receive({ topic: 'q/marker', payload: `m${n++}`, qos: 1 });
      return states.some((s) => s.startsWith('q/marker='));
    }, 10000, 'a marker through the quiet bridge');
    assert.deepEqual(states.filter((s) => s.startsWith('gw/')), []);
  });

  test('advanced settings are read and checked: blank keeps the engine default, mistakes name the bridge', () => {
    const base = { name: 'b', address: '127.0.0.1:8883', topics: 'a/# out' };
    const s = readBrokerSettings({
      port: '1883',
      bridges: [{ ...base, tls: 'tls1', localClientId: 'loc', localUsername: 'lu', cleanSession: true, keepalive: '30', restartTimeout: '5 60', tryPrivate: false, notifications: 'false', notificationTopic: 'gw/state' }],
    });
    const b = s.bridges[0];
    assert.deepEqual(
      { tls: b.tlsConfig, lc: b.localClientId, lu: b.localUsername, cs: b.cleanSession, ka: b.keepalive, rt: b.restartTimeout, tp: b.tryPrivate, n: b.notifications, nt: b.notificationTopic },
      { tls: 'tls1', lc: 'loc', lu: 'lu', cs: true, ka: 30, rt: { base: 5, cap: 60 }, tp: false, n: false, nt: 'gw/state' },
    );
    const plain = readBrokerSettings({ port: '1883', bridges: [{ ...base, keepalive: '', restartTimeout: '', notificationTopic: '' }] }).bridges[0];
    assert.deepEqual([plain.keepalive, plain.restartTimeout, plain.cleanSession, plain.notificationTopic], [undefined, undefined, undefined, undefined]);
    assert.equal(readBrokerSettings({ port: '1883', bridges: [{ ...base, restartTimeout: '10' }] }).bridges[0].restartTimeout, 10);
    assert.throws(() => readBrokerSettings({ port: '1883', bridges: [{ ...base, keepalive: '70000' }] }), /bridge b: keepalive "70000"/);
    assert.throws(() => readBrokerSettings({ port: '1883', bridges: [{ ...base, restartTimeout: '30 5' }] }), /bridge b: restart timeout "30 5"/);
    assert.throws(() => readBrokerSettings({ port: '1883', bridges: [{ ...base, notificationTopic: 'gw/+/state' }] }), /bridge b: notification topic/);
  });
});
