// The sidebar's admin endpoints in a running Node-RED with adminAuth: a read-only user may look
// (200) but not act (401), an admin may do both, nobody logged in gets 401. What they return is
// checked against real MQTT.js clients of the broker node.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { freePort, waitUntil } from '../helpers/net';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

interface Snapshot {
  id: string;
  running: boolean;
  clients: Array<{ id: string; address: string; protocolVersion: number; keepalive: number; subscriptions: number; bytesIn: number; bytesOut: number; connectedSince: number }>;
  gone: Array<{ id: string; reason: string }>;
  subscriptions: Array<{ topicFilter: string; clients: Array<{ id: string; qos: number }> }>;
  topics: Array<{ topic: string; retained: boolean; payload: { kind: string; text: string; size: number } }>;
  rates: Array<{ at: number; in: number; out: number }>;
  totals: { publishIn: number };
}

describe('admin endpoints of the mqtt-hub sidebar', () => {
  let red: NodeRedProcess;
  let port: number;
  let admin: string;
  let viewer: string;
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    port = await freePort();
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'admin' },
        { id: 'hub', z: 'f1', type: 'mqtt-hub-broker', x: 100, y: 40, name: 'hub', bind: 'loopback', port: String(port), sysInterval: '0', wires: [[]] },
      ],
      users: [
        { username: 'admin', password: 'admin-pw', permissions: '*' },
        { username: 'viewer', password: 'viewer-pw', permissions: 'read' },
      ],
    });
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${port}`));
    admin = await red.login('admin', 'admin-pw');
    viewer = await red.login('viewer', 'viewer-pw', 'read');
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await red?.stop();
  });

  function call(method: string, path: string, token: string | null, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${red.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async function snapshot(token = viewer): Promise<Snapshot> {
    const res = await call('GET', 'mqtt-hub/brokers/hub', token);
    assert.equal(res.status, 200);
    return (await res.json()) as Snapshot;
  }

  test('nobody logged in: every endpoint answers 401', async () => {
    for (const [method, path] of [
      ['GET', 'mqtt-hub/brokers'],
      ['GET', 'mqtt-hub/brokers/hub'],
      ['POST', 'mqtt-hub/brokers/hub/clients/x/disconnect'],
      ['DELETE', 'mqtt-hub/brokers/hub/retained?topic=a'],
      ['POST', 'mqtt-hub/brokers/hub/publish'],
      ['POST', 'mqtt-hub/test-connection'],
    ]) {
      assert.equal((await call(method, path, null, method === 'POST' ? {} : undefined)).status, 401, `${method} ${path}`);
    }
  });

  test('the read-only user sees brokers, clients, subscriptions, topics and rates', async () => {
    const list = await call('GET', 'mqtt-hub/brokers', viewer);
    assert.equal(list.status, 200);
    const brokers = (await list.json()) as Array<{ id: string; name: string; running: boolean; addresses: Array<{ port: number }> }>;
    assert.deepEqual(brokers.map((b) => [b.id, b.name, b.running, b.addresses[0].port]), [['hub', 'hub', true, port]]);

    await snapshot(); // starts the live view, so messages from now on are seen
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'dash-1', protocolVersion: 5, keepalive: 33, reconnectPeriod: 0 });
    clients.push(c);
    await c.subscribeAsync({ 'plant/+/temp': { qos: 1 }, 'alarms/#': { qos: 0 } });
    await c.publishAsync('plant/line1/temp', JSON.stringify({ celsius: 21.5 }), { qos: 1, retain: true });
    await c.publishAsync('plant/line1/raw', Buffer.from([0x00, 0xff, 0x10]), { qos: 0 });
    await c.publishAsync('plant/line1/note', 'hello', { qos: 0 });
    const s = (await waitUntil(async () => {
      const snap = await snapshot();
      return snap.topics.length >= 3 ? snap : undefined;
    }, 5000, 'three topics seen'))!;
    const me = s.clients.find((x) => x.id === 'dash-1')!;
    assert.equal(me.protocolVersion, 5);
    assert.equal(me.keepalive, 33);
    assert.equal(me.subscriptions, 2);
    assert.match(me.address, /127\.0\.0\.1/);
    assert.ok(me.bytesIn > 0 && me.bytesOut > 0, 'bytes counted');
    assert.deepEqual(s.subscriptions.map((x) => [x.topicFilter, x.clients.map((y) => `${y.id}:${y.qos}`)]), [
      ['alarms/#', ['dash-1:0']],
      ['plant/+/temp', ['dash-1:1']],
    ]);
    const byTopic = Object.fromEntries(s.topics.map((x) => [x.topic, x]));
    assert.deepEqual([byTopic['plant/line1/temp'].retained, byTopic['plant/line1/temp'].payload.kind, byTopic['plant/line1/temp'].payload.text], [true, 'json', '{"celsius":21.5}']);
    assert.deepEqual([byTopic['plant/line1/raw'].retained, byTopic['plant/line1/raw'].payload.kind, byTopic['plant/line1/raw'].payload.text], [false, 'hex', '00 ff 10']);
    assert.deepEqual([byTopic['plant/line1/note'].payload.kind, byTopic['plant/line1/note'].payload.text], ['text', 'hello']);
    assert.ok(s.totals.publishIn >= 3);
    // One rate sample a second while watched: within a few seconds there are some.
    const withRates = (await waitUntil(async () => {
      const snap = await snapshot();
      return snap.rates.length >= 2 ? snap : undefined;
    }, 6000, 'rate samples'))!;
    assert.ok(withRates.rates.every((r) => r.in >= 0 && r.out >= 0));
  });

  test('the read-only user may not act: 401 for disconnect, clear retained and publish', async () => {
    assert.equal((await call('POST', 'mqtt-hub/brokers/hub/clients/dash-1/disconnect', viewer)).status, 401);
    assert.equal((await call('DELETE', 'mqtt-hub/brokers/hub/retained?topic=plant%2Fline1%2Ftemp', viewer)).status, 401);
    assert.equal((await call('POST', 'mqtt-hub/brokers/hub/publish', viewer, { topic: 'x', payload: 'y' })).status, 401);
    assert.equal((await call('POST', 'mqtt-hub/test-connection', viewer, { host: '127.0.0.1', port: String(port) })).status, 401);
    const s = await snapshot();
    assert.ok(s.clients.some((x) => x.id === 'dash-1'), 'still connected');
    assert.ok(s.topics.some((x) => x.topic === 'plant/line1/temp' && x.retained), 'still retained');
  });

  test('the admin publishes, clears a retained topic and disconnects a client', async () => {
    const c = clients[0];
    const got: Array<[string, string, boolean]> = [];
    c.on('message', (topic, payload, packet) => got.push([topic, payload.toString(), packet.retain]));
    const pub = await call('POST', 'mqtt-hub/brokers/hub/publish', admin, { topic: 'alarms/test', payload: 'from the sidebar', qos: 1, retain: false });
    assert.equal(pub.status, 200);
    await waitUntil(() => got.some((g) => g[0] === 'alarms/test' && g[1] === 'from the sidebar'), 5000, 'published message delivered');
    const bad = await call('POST', 'mqtt-hub/brokers/hub/publish', admin, { topic: 'alarms/#', payload: 'x' });
    assert.equal(bad.status, 400);

    const clear = await call('DELETE', 'mqtt-hub/brokers/hub/retained?topic=plant%2Fline1%2Ftemp', admin);
    assert.equal(clear.status, 200);
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'late', reconnectPeriod: 0 });
    clients.push(late);
    const retained: string[] = [];
    late.on('message', (topic) => retained.push(topic));
    await late.subscribeAsync('plant/#');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(retained, [], 'no retained message left on plant/line1/temp');
    assert.ok(!(await snapshot()).topics.some((x) => x.topic === 'plant/line1/temp' && x.retained));

    const closed = new Promise<number | undefined>((resolve) => c.once('disconnect', (packet) => resolve(packet.reasonCode)));
    assert.equal((await call('POST', 'mqtt-hub/brokers/hub/clients/dash-1/disconnect', admin)).status, 200);
    assert.equal(await closed, 0x98, 'DISCONNECT with Administrative action');
    const s = (await waitUntil(async () => {
      const snap = await snapshot();
      return snap.gone.some((g) => g.id === 'dash-1') ? snap : undefined;
    }, 5000, 'dash-1 among the gone'))!;
    assert.ok(!s.clients.some((x) => x.id === 'dash-1'));
    assert.equal(s.gone.find((g) => g.id === 'dash-1')!.reason, 'administrative-action');
    assert.equal((await call('POST', 'mqtt-hub/brokers/hub/clients/dash-1/disconnect', admin)).status, 404);
    assert.equal((await call('GET', 'mqtt-hub/brokers/nope', admin)).status, 404);
  });
});
