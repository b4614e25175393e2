// mqtt-hub-broker inside Node-RED: in and out nodes reach it through a connection set to "the broker
// node in this Node-RED"; real MQTT.js clients connect from outside over TCP and WebSocket.
import { after, afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import type * as mqttPacket from 'mqtt-packet';
import { freePort, waitUntil } from '../helpers/net';
import { packetsInFrame, WsFrameClient } from '../broker/helpers/ws-frames';
import { allNodes, collect, helper, logLines, trackStatuses, waitForStatus } from './harness';

trackStatuses();

function brokerFlow(port: number, brokerExtra: Record<string, unknown> = {}, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: 'b', bind: 'loopback', port: String(port), sysInterval: '0', wires: [['events']], ...brokerExtra },
    { id: 'events', z: 'f1', type: 'helper' },
    ...extra,
  ];
}

const localClients: Record<string, unknown>[] = [
  { id: 'conn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'broker', protocolVersion: '5', clientId: 'nr-test', reconnectPeriod: '200' },
  { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'plant/#', qos: '2', datatype: 'auto-detect', wires: [['received']] },
  { id: 'received', z: 'f1', type: 'helper' },
  { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: '', qos: '', retain: '', queueSize: '10', wires: [] },
];

describe('mqtt-hub-broker node', () => {
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  async function client(url: string, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
    clients.push(c);
    return c;
  }

  test('hosts a broker that in and out nodes use over loopback', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, {}, localClients));
    const received = collect(helper.getNode('received'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'in node connected');
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'out node connected');
    helper.getNode('out').receive({ topic: 'plant/line1/temp', payload: { celsius: 21.5 }, qos: 1 });
    await waitUntil(() => received.length > 0, 5000, 'message through the broker node');
    assert.deepEqual(received[0].payload, { celsius: 21.5 });
    assert.equal(received[0].topic, 'plant/line1/temp');
    assert.equal(received[0].qos, 1);
  });

  test('a port given as ${ENV_VAR} works for the broker and its status is green', async () => {
    const port = await freePort();
    process.env.MQTT_HUB_TEST_PORT = String(port);
    await helper.load(allNodes, brokerFlow(port, { port: '${MQTT_HUB_TEST_PORT}' }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green' && s.shape === 'dot', 'broker green');
    const c = await client(`mqtt://127.0.0.1:${port}`);
    assert.ok(c.connected);
  });

  test('events come out as plain data: connected, subscribed, unsubscribed, disconnected with reason', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port));
    const events = collect(helper.getNode('events'));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const c = await client(`mqtt://127.0.0.1:${port}`, { clientId: 'ext-1' });
    await c.subscribeAsync('a/+', { qos: 1, nl: true });
    await c.unsubscribeAsync('a/+');
    await c.endAsync();
    clients.length = 0;
    await waitUntil(() => events.some((e) => e.topic === 'clientDisconnected'), 5000, 'disconnect event');
    assert.deepEqual(events.map((e) => e.topic), ['clientConnected', 'subscribed', 'unsubscribed', 'clientDisconnected']);
    assert.equal(events[0].payload.clientId, 'ext-1');
    assert.equal(events[0].payload.protocolVersion, 5);
    assert.match(events[0].payload.address, /127\.0\.0\.1/);
    assert.deepEqual(events[1].payload, { clientId: 'ext-1', subscriptions: [{ topic: 'a/+', qos: 1, nl: true, rap: false, rh: 0 }] });
    assert.deepEqual(events[2].payload, { clientId: 'ext-1', topics: ['a/+'] });
    assert.equal(events[3].payload.clientId, 'ext-1');
    assert.equal(typeof events[3].payload.reason, 'string');
    // Plain data only: the payloads survive a JSON round trip unchanged.
    for (const e of events) assert.deepEqual(JSON.parse(JSON.stringify(e.payload)), e.payload);
  });

  test('input publishes straight into the broker with retain, QoS and 5.0 properties', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const sub = await client(`mqtt://127.0.0.1:${port}`);
    const got: mqtt.IPublishPacket[] = [];
    sub.on('message', (_t, _p, packet) => got.push(packet));
    await sub.subscribeAsync('inject/#', { qos: 1 });
    helper.getNode('broker').receive({ topic: 'inject/live', payload: { on: true }, qos: 1, contentType: 'application/json', userProperties: { src: 'node-red' } });
    helper.getNode('broker').receive({ topic: 'inject/kept', payload: 'state', retain: true });
    await waitUntil(() => got.length === 2, 5000, 'two injected messages');
    assert.equal(got[0].payload.toString(), '{"on":true}');
    assert.equal(got[0].qos, 1);
    assert.equal(got[0].properties?.contentType, 'application/json');
    assert.deepEqual({ ...got[0].properties?.userProperties }, { src: 'node-red' });
    // The retained one is kept: a later subscriber gets it with the retain flag.
    const late = await client(`mqtt://127.0.0.1:${port}`);
    const lateGot: mqtt.IPublishPacket[] = [];
    late.on('message', (_t, _p, packet) => lateGot.push(packet));
    await late.subscribeAsync('inject/kept');
    await waitUntil(() => lateGot.length === 1, 5000, 'retained message');
    assert.equal(lateGot[0].retain, true);
    assert.equal(lateGot[0].payload.toString(), 'state');
  });

  test('a bad topic on the input is done(err) to a Catch node, and the broker keeps running', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, {}, [
      { id: 'ctch', z: 'f1', type: 'catch', scope: ['broker'], uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ]));
    const caught = collect(helper.getNode('caught'));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    helper.getNode('broker').receive({ topic: 'bad/#', payload: 'x' });
    await waitUntil(() => caught.length === 1, 5000, 'caught');
    await client(`mqtt://127.0.0.1:${port}`);
  });

  test('anonymous off and a user list: wrong or missing credentials are refused, the right ones accepted', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, { allowAnonymous: false, brokerUsers: [{ username: 'plc' }] }), {
      broker: { passwords: JSON.stringify({ plc: 's3cret' }) },
    });
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const url = `mqtt://127.0.0.1:${port}`;
    await assert.rejects(client(url), (err: Error & { code?: number }) => err.code === 0x87, 'anonymous refused: Not authorized');
    const refusedAt = Date.now();
    await assert.rejects(client(url, { username: 'plc', password: 'wrong' }), (err: Error & { code?: number }) => err.code === 0x86, 'bad password');
    // A refusal is answered after a delay that slows guessing, and logged with the client
    assert.ok(Date.now() - refusedAt >= 900, `refused after ${Date.now() - refusedAt} ms`);
    await assert.rejects(client(url, { username: 'other', password: 's3cret' }), (err: Error & { code?: number }) => err.code === 0x86, 'unknown user');
    const refusals = logLines().filter((l) => /login refused/.test(l.msg)).map((l) => l.msg);
    assert.equal(refusals.length, 3, refusals.join('\n'));
    assert.match(refusals[1], /from 127\.0\.0\.1:\d+: bad username or password for "plc"/);
    const ok = await client(url, { username: 'plc', password: 's3cret' });
    assert.ok(ok.connected);
  });

  test('close gives the port back before done, and a 5.0 client gets DISCONNECT 0x8B Server shutting down', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const c = await client(`mqtt://127.0.0.1:${port}`);
    const disconnects: number[] = [];
    c.on('disconnect', (packet) => disconnects.push(packet.reasonCode ?? 0));
    await helper.unload();
    // The port is free the moment unload resolves.
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    await waitUntil(() => disconnects.length === 1, 5000, 'DISCONNECT at the client');
    assert.equal(disconnects[0], 0x8b);
  });

  test('a port in use shows a red status and logs an error, without crashing Node-RED', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      await helper.load(allNodes, brokerFlow(port));
      const status = await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'red', 'red status');
      assert.equal(status?.shape, 'ring');
      assert.match(String(status?.text), /portInUse/);
      await waitUntil(() => logLines().some((l) => l.level === 20 && /portInUse/.test(l.msg)), 5000, 'error log line');
    } finally {
      await helper.unload();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('MQTT over WebSocket on its own port and on a path of Node-RED\'s HTTP server', async () => {
    const port = await freePort();
    const wsPort = await freePort();
    await helper.startServer();
    after(() => helper.stopServer());
    await helper.load(allNodes, brokerFlow(port, { wsPort: String(wsPort), wsPath: '/mqtt-hub' }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const own = await client(`ws://127.0.0.1:${wsPort}/mqtt`);
    const nodeRedUrl = helper.url().replace(/^http/, 'ws') + '/mqtt-hub';
    const shared = await client(nodeRedUrl);
    const got: string[] = [];
    shared.on('message', (_t, payload) => got.push(payload.toString()));
    await shared.subscribeAsync('ws/t', { qos: 1 });
    await own.publishAsync('ws/t', 'over websocket', { qos: 1 });
    await waitUntil(() => got.length === 1, 5000, 'message across both WebSocket listeners');
    assert.equal(got[0], 'over websocket');
  });

  test('WebSocket on Node-RED\'s HTTP server: one MQTT packet per frame, text frames refused [MQTT-6.0.0-1]', async () => {
    const port = await freePort();
    await helper.startServer();
    after(() => helper.stopServer());
    await helper.load(allNodes, brokerFlow(port, { wsPath: '/mqtt-hub' }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const url = helper.url().replace(/^http/, 'ws') + '/mqtt-hub';
    const c = await WsFrameClient.open(url, 4);
    try {
      await c.connect('nr-frames');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f/#', qos: 1 }] } as mqttPacket.ISubscribePacket);
      await c.waitFor((p) => p.cmd === 'suback', 1, 'SUBACK');
      const n = 50;
      c.send(...Array.from({ length: n }, (_, i) => ({ cmd: 'publish', topic: `f/${i}`, qos: 1, messageId: i + 1, payload: Buffer.from(`m${i}`), retain: false, dup: false }) as mqttPacket.IPublishPacket));
      await c.waitFor((p) => p.cmd === 'puback', n, 'PUBACKs');
      await c.waitFor((p) => p.cmd === 'publish', n, 'PUBLISHes back');
      for (const [i, frame] of c.frames.entries()) assert.deepEqual(packetsInFrame(frame), { lengths: [frame.length] }, `frame ${i}`);
      const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
      c.ws.send('not binary');
      assert.equal(await closed, 1003);
    } finally {
      c.close();
    }
  });

  test('max connections refuses the client over the limit; verbose logs packets', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, { maxConnections: '1', verbose: true }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    await client(`mqtt://127.0.0.1:${port}`, { clientId: 'first' });
    await assert.rejects(client(`mqtt://127.0.0.1:${port}`, { clientId: 'second' }));
    await waitUntil(() => logLines().some((l) => /first → CONNECT|CONNECT first/.test(l.msg)), 5000, 'packet log line');
  });

  test('max subscriptions per client: the filter past the setting is refused (0x97) and logged', async () => {
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port, { maxSubscriptionsPerClient: '2' }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const c = await client(`mqtt://127.0.0.1:${port}`, { clientId: 'many-filters' });
    await assert.rejects(c.subscribeAsync(['s/1', 's/2', 's/3'], { qos: 1 }), (err: { packet?: { granted?: number[] } }) => {
      assert.deepEqual(err.packet?.granted, [1, 1, 0x97]);
      return true;
    });
    await waitUntil(() => logLines().some((l) => /maxSubscriptionsPerClient 2/.test(String(l.msg))), 5000, 'the refusal logged');
  });

  test('packet size and in-flight settings: 1 MiB and Receive Maximum 20 by default; the settings raise them', async () => {
    const connackOf = async (url: string): Promise<{ c: mqtt.MqttClient; connack: mqtt.IConnackPacket }> => {
      const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
      clients.push(c);
      const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      return { c, connack };
    };
    const port = await freePort();
    await helper.load(allNodes, brokerFlow(port));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'broker green');
    const byDefault = await connackOf(`mqtt://127.0.0.1:${port}`);
    assert.equal(byDefault.connack.properties?.maximumPacketSize, 1024 * 1024);
    assert.equal(byDefault.connack.properties?.receiveMaximum, 20);
    await byDefault.c.endAsync(true);
    await helper.unload();

    const raised = await freePort();
    await helper.load(allNodes, brokerFlow(raised, { maxPacketSize: '4000000', maxInflightMessages: '50' }));
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'broker green');
    const { c, connack } = await connackOf(`mqtt://127.0.0.1:${raised}`);
    assert.equal(connack.properties?.maximumPacketSize, 4_000_000);
    assert.equal(connack.properties?.receiveMaximum, 50);
    await c.subscribeAsync('big/t', { qos: 0 });
    const got = new Promise<Buffer>((resolve) => c.once('message', (_t, payload) => resolve(payload)));
    await c.publishAsync('big/t', Buffer.alloc(3 * 1024 * 1024, 0x61), { qos: 0 });
    assert.equal((await got).length, 3 * 1024 * 1024, 'a 3 MiB message passes the raised limit');
  });
});
