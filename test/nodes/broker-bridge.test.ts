// mqtt-hub-broker's bridges against a real Mosquitto: a message published into the broker node
// reaches the remote broker under the mapped topic.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, helper, trackStatuses, waitForStatus } from './harness';

trackStatuses();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readBrokerSettings } = require(path.join(__dirname, '../../nodes/lib/broker-settings.js')) as {
  readBrokerSettings(config: Record<string, unknown>, credentials?: Record<string, string>): { bridges: Array<Record<string, unknown>> };
};

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

describe('mqtt-hub-broker bridges', { skip }, () => {
  let mosq: MosquittoInstance;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    if (mosq) await disposeMosquitto(mosq);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  test('a message published into the broker node reaches Mosquitto through an out bridge, with anonymous clients off and an ACL', async () => {
    const remote = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { reconnectPeriod: 0 });
    clients.push(remote);
    const got: string[] = [];
    remote.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await remote.subscribeAsync('site1/#', { qos: 1 });

    const port = await freePort();
    const bridge = { name: 'up', address: `mqtt://127.0.0.1:${mosq.port}`, remoteClientId: 'nr-bridge-up', protocolVersion: 'mqttv311', topics: 'plant/# out 1 "" site1/\n' };
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', bind: 'loopback', port: String(port), sysInterval: '0', bridges: [bridge], allowAnonymous: false, acl: 'user other\ntopic read x/#\n', wires: [[]] },
    ]);
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    // Publish until one arrives: the bridge subscribes locally only once it has connected to Mosquitto.
    const broker = helper.getNode('broker');
    let n = 0;
    await waitUntil(() => {
      broker.receive({ topic: 'plant/line1/temp', payload: `t${n++}`, qos: 1 });
      return got.length > 0;
    }, 10000, 'message at Mosquitto');
    assert.match(got[0], /^site1\/plant\/line1\/temp=t\d+$/);
  });

  test('with users on and an ACL, the bridge carries both ways; a user the ACL denies sees none of it', async () => {
    const remote = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { reconnectPeriod: 0 });
    clients.push(remote);
    const atRemote: string[] = [];
    remote.on('message', (topic, payload) => atRemote.push(`${topic}=${payload.toString()}`));
    await remote.subscribeAsync('site2/#', { qos: 1 });

    const port = await freePort();
    const bridge = { name: 'up2', address: `mqtt://127.0.0.1:${mosq.port}`, remoteClientId: 'nr-bridge-up2', protocolVersion: 'mqttv311', topics: 'plant/# out 1 "" site2/\ncmd/# in 1 "" site2/\n' };
    const acl = 'user plc\ntopic readwrite plant/#\ntopic read cmd/#\nuser guest\ntopic readwrite guest/#\n';
    await helper.load(
      allNodes,
      [
        { id: 'f1', type: 'tab', label: 'test' },
        { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', bind: 'loopback', port: String(port), sysInterval: '0', bridges: [bridge], allowAnonymous: false, brokerUsers: [{ username: 'plc' }, { username: 'guest' }], acl, wires: [[]] },
      ],
      { broker: { passwords: JSON.stringify({ plc: 'plc-pw', guest: 'guest-pw' }) } },
    );
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const url = `mqtt://127.0.0.1:${port}`;
    const plc = await mqtt.connectAsync(url, { username: 'plc', password: 'plc-pw', reconnectPeriod: 0 });
    const guest = await mqtt.connectAsync(url, { username: 'guest', password: 'guest-pw', reconnectPeriod: 0 });
    clients.push(plc, guest);
    const atPlc: string[] = [];
    const atGuest: string[] = [];
    plc.on('message', (topic, payload) => atPlc.push(`${topic}=${payload.toString()}`));
    guest.on('message', (topic, payload) => atGuest.push(`${topic}=${payload.toString()}`));
    await plc.subscribeAsync('cmd/#', { qos: 1 });
    // the ACL refuses the guest's subscriptions to what the bridge carries
    await assert.rejects(guest.subscribeAsync(['cmd/#', 'plant/#'], { qos: 1 }));
    // out: published by a user, until the bridge (connecting in the background) has it
    let n = 0;
    await waitUntil(async () => {
      await plc.publishAsync('plant/line1', `o${n++}`, { qos: 1 });
      return atRemote.length > 0;
    }, 10000, 'message at Mosquitto');
    assert.match(atRemote[0], /^site2\/plant\/line1=o\d+$/);
    // in: published on Mosquitto, delivered to the user
    await waitUntil(async () => {
      await remote.publishAsync('site2/cmd/start', 'go', { qos: 1 });
      return atPlc.includes('cmd/start=go');
    }, 10000, 'message from Mosquitto at the plc');
    // the guest may not publish what the bridge sends out
    await guest.publishAsync('plant/line1', 'from-guest', { qos: 1 });
    await plc.publishAsync('plant/line1', 'last', { qos: 1 });
    await waitUntil(() => atRemote.includes('site2/plant/line1=last'), 10000, 'last at Mosquitto');
    assert.equal(atRemote.includes('site2/plant/line1=from-guest'), false);
    assert.deepEqual(atGuest, []);
  });

  test('bridge settings: topic lines are checked, credentials come from the credentials', () => {
    const s = readBrokerSettings(
      { port: '1883', bridges: [{ name: 'b', address: 'mqtt://127.0.0.1:1883', topics: 'a/# both 2\n# comment\n"" in 0 local/x remote/x' }] },
      { bridgeSecrets: JSON.stringify({ b: { username: 'u', password: 'p' } }) },
    );
    assert.equal(s.bridges[0].remoteUsername, 'u');
    assert.equal(s.bridges[0].remotePassword, 'p');
    assert.deepEqual(s.bridges[0].topics, [
      { pattern: 'a/#', direction: 'both', qos: 2 },
      { pattern: '', direction: 'in', qos: 0, localPrefix: 'local/x', remotePrefix: 'remote/x' },
    ]);
    assert.throws(() => readBrokerSettings({ port: '1883', bridges: [{ name: 'b', address: 'h', topics: 'a/# sideways' }] }), /topic line 1/);
  });
});
