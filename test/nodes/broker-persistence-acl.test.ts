// mqtt-hub-broker's persistence and ACL settings: state that survives a redeploy of the node, and
// Mosquitto-style ACL rules applied next to the node's own users.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, helper, logLines, trackStatuses, waitForStatus } from './harness';

trackStatuses();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readBrokerSettings } = require(path.join(__dirname, '../../nodes/lib/broker-settings.js')) as {
  readBrokerSettings(config: Record<string, unknown>): unknown;
};

function brokerFlow(port: number, brokerExtra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: 'b', bind: 'loopback', port: String(port), sysInterval: '0', wires: [[]], ...brokerExtra },
  ];
}

describe('mqtt-hub-broker persistence and ACL', () => {
  const clients: mqtt.MqttClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function client(url: string, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
    clients.push(c);
    return c;
  }

  async function endAll(): Promise<void> {
    for (const c of clients.splice(0)) await c.endAsync().catch(() => undefined);
  }

  test('with persistence on, a retained message and a QoS 1 message queued for an offline session survive a redeploy', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bnode-'));
    dirs.push(dir);
    const flow = brokerFlow(port, { persistence: true, persistenceDir: dir });
    const url = `mqtt://127.0.0.1:${port}`;
    const sessionOpts: mqtt.IClientOptions = { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 3600 } };

    await helper.load(allNodes, flow);
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const keeper = await client(url, sessionOpts);
    await keeper.subscribeAsync('queue/#', { qos: 1 });
    await keeper.endAsync();
    clients.length = 0;
    const pub = await client(url);
    // QoS 1: the PUBACK comes once the broker has stored the message.
    await pub.publishAsync('state/door', 'open', { qos: 1, retain: true });
    await pub.publishAsync('queue/job', 'job-1', { qos: 1 });
    await endAll();

    // A redeploy: the node closes and a new one is made from the same config.
    await helper.unload();
    await helper.load(allNodes, flow);
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening again');

    const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
    const back = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...sessionOpts });
    clients.push(back);
    back.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await waitUntil(() => got.some((m) => m.topic === 'queue/job'), 5000, 'queued message after redeploy');
    assert.deepEqual(got.find((m) => m.topic === 'queue/job')?.payload, 'job-1');

    const reader = await client(url);
    const retained: Array<{ topic: string; payload: string; retain: boolean }> = [];
    reader.on('message', (topic, payload, packet) => retained.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await reader.subscribeAsync('state/#', { qos: 1 });
    await waitUntil(() => retained.length > 0, 5000, 'retained message after redeploy');
    assert.deepEqual(retained[0], { topic: 'state/door', payload: 'open', retain: true });
  });

  test('without a directory the store goes to <Node-RED user directory>/mqtt-hub/<node id>', async () => {
    const port = await freePort();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bnode-userdir-'));
    dirs.push(userDir);
    helper.settings({ userDir });
    try {
      await helper.load(allNodes, brokerFlow(port, { persistence: true }));
      await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
      const pub = await client(`mqtt://127.0.0.1:${port}`);
      await pub.publishAsync('state/x', 'kept', { qos: 1, retain: true });
      assert.ok(fs.readdirSync(path.join(userDir, 'mqtt-hub', 'broker')).length > 0, 'store files in the default directory');
    } finally {
      helper.settings({});
    }
  });

  test('ACL: a user denied a subscription gets SUBACK 0x87; allowed topics work', async () => {
    const port = await freePort();
    const acl = '# plant operators\nuser alice\ntopic readwrite plant/#\ntopic read status/+\n';
    await helper.load(allNodes, brokerFlow(port, { allowAnonymous: false, brokerUsers: [{ username: 'alice' }], acl }), {
      broker: { passwords: JSON.stringify({ alice: 'pw' }) },
    });
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const alice = await client(`mqtt://127.0.0.1:${port}`, { username: 'alice', password: 'pw' });
    // MQTT.js rejects a SUBACK whose only reason code is a failure, and carries the packet.
    await assert.rejects(alice.subscribeAsync('secret/#', { qos: 1 }), (err: Error & { packet?: { granted?: number[] } }) => {
      assert.deepEqual(err.packet?.granted, [0x87]);
      return true;
    });
    const allowed = await alice.subscribeAsync('plant/#', { qos: 1 });
    assert.equal(allowed[0].qos, 1);
    const got: string[] = [];
    alice.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await alice.publishAsync('plant/line1', 'on', { qos: 1 });
    await waitUntil(() => got.includes('plant/line1=on'), 5000, 'own message back on an allowed topic');
  });

  test('ACL with a parse error: red status naming the problem, an error log line, no crash', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, { acl: 'user alice\ntopic readwrite plant/#\nsubscribe everything\n' }));
    const status = await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'red', 'red status');
    assert.match(String(status?.text), /aclError/);
    await waitUntil(() => logLines().some((l) => l.level === 20 && /badSettings/.test(l.msg)), 5000, 'error log line');
    // What that log line says: the line number and the reason.
    assert.throws(() => readBrokerSettings({ port: '1883', acl: 'user alice\ntopic readwrite plant/#\nsubscribe everything\n' }), (err: Error & { aclLine?: number }) => {
      assert.equal(err.aclLine, 3);
      assert.match(err.message, /^ACL line 3: unknown keyword "subscribe"/);
      return true;
    });
  });
});
