// mqtt-hub-in and mqtt-hub-out against a real Mosquitto: QoS, retain, output types, 5.0 properties
// both ways, done()/done(err) seen by Complete and Catch nodes.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { allNodes, collect, helper, trackStatuses, waitForStatus } from './harness';

trackStatuses();

function connection(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', reconnectPeriod: '200', ...extra };
}

function flow(port: number, nodes: Record<string, unknown>[], connExtra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [{ id: 'f1', type: 'tab', label: 'test' }, connection(port, connExtra), ...nodes.map((n) => ({ z: 'f1', ...n }))];
}

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

describe('in and out nodes against Mosquitto', { skip }, () => {
  let mosq: MosquittoInstance;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    await disposeMosquitto(mosq);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await helper.unload();
  });

  async function peer(version: 4 | 5 = 5): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { protocolVersion: version, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  /**
   * Publishes probes on `topic` until one of the lists receives one, then empties the lists: the
   * subscription is in place on the broker (no sleep, no reading of the broker's log).
   */
  async function subscribed(p: mqtt.MqttClient, topic: string, ...lists: Array<unknown[]>): Promise<void> {
    await waitUntil(async () => {
      await p.publishAsync(topic, 'probe', { qos: 1 });
      await new Promise((r) => setTimeout(r, 30));
      return lists.some((l) => l.length > 0);
    }, 5000, `subscription covering ${topic}`);
    await new Promise((r) => setTimeout(r, 50));
    for (const l of lists) l.length = 0;
  }

  for (const version of ['4', '5'] as const) {
    test(`QoS 0, 1 and 2 and the retain flag reach the in node (protocol ${version})`, async () => {
      const base = `t${version}/qos`;
      await helper.load(allNodes, flow(mosq.port, [
        { id: 'in', type: 'mqtt-hub-in', broker: 'conn', topic: `${base}/#`, qos: '2', datatype: 'utf8', wires: [['rx']] },
        { id: 'rx', type: 'helper' },
      ], { protocolVersion: version }));
      const rx = collect(helper.getNode('rx'));
      await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
      const p = await peer();
      await subscribed(p, `${base}/probe`, rx);
      for (const qos of [0, 1, 2] as const) await p.publishAsync(`${base}/${qos}`, `q${qos}`, { qos });
      await waitUntil(() => rx.length === 3, 5000, 'three messages');
      assert.deepEqual(rx.map((m) => [m.topic, m.payload, m.qos, m.retain]), [
        [`${base}/0`, 'q0', 0, false],
        [`${base}/1`, 'q1', 1, false],
        [`${base}/2`, 'q2', 2, false],
      ]);
    });
  }

  test('a retained message arrives with retain true on subscribe', async () => {
    const p = await peer();
    await p.publishAsync('keep/state', 'on', { qos: 1, retain: true });
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'in', type: 'mqtt-hub-in', broker: 'conn', topic: 'keep/state', qos: '1', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', type: 'helper' },
    ]));
    const rx = collect(helper.getNode('rx'));
    await waitUntil(() => rx.length === 1, 5000, 'retained message');
    assert.equal(rx[0].retain, true);
    assert.equal(rx[0].payload, 'on');
    await p.publishAsync('keep/state', '', { qos: 1, retain: true });
  });

  test('output types: auto-detect, string, Buffer, JSON, base64, and content type honoured', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'inAuto', type: 'mqtt-hub-in', broker: 'conn', topic: 'types/#', datatype: 'auto-detect', wires: [['rxAuto']] },
      { id: 'inStr', type: 'mqtt-hub-in', broker: 'conn', topic: 'types/#', datatype: 'utf8', wires: [['rxStr']] },
      { id: 'inBuf', type: 'mqtt-hub-in', broker: 'conn', topic: 'types/#', datatype: 'buffer', wires: [['rxBuf']] },
      { id: 'inJson2', type: 'mqtt-hub-in', broker: 'conn', topic: 'types/#', datatype: 'json', wires: [['rxJson']] },
      { id: 'inB64', type: 'mqtt-hub-in', broker: 'conn', topic: 'types/#', datatype: 'base64', wires: [['rxB64']] },
      { id: 'rxAuto', type: 'helper' }, { id: 'rxStr', type: 'helper' }, { id: 'rxBuf', type: 'helper' }, { id: 'rxJson', type: 'helper' }, { id: 'rxB64', type: 'helper' },
    ]));
    const got = Object.fromEntries(['rxAuto', 'rxStr', 'rxBuf', 'rxJson', 'rxB64'].map((id) => [id, collect(helper.getNode(id))]));
    await waitForStatus(helper.getNode('inB64'), (s) => s.fill === 'green', 'connected');
    const p = await peer();
    await subscribed(p, 'types/probe', ...Object.values(got));
    await p.publishAsync('types/json', '{"a":1}', { qos: 1 });
    await waitUntil(() => Object.values(got).every((l) => l.length === 1), 5000, 'one each');
    assert.deepEqual(got.rxAuto[0].payload, { a: 1 });
    assert.equal(got.rxStr[0].payload, '{"a":1}');
    assert.ok(Buffer.isBuffer(got.rxBuf[0].payload));
    assert.equal(got.rxBuf[0].payload.toString(), '{"a":1}');
    assert.deepEqual(got.rxJson[0].payload, { a: 1 });
    assert.equal(got.rxB64[0].payload, Buffer.from('{"a":1}').toString('base64'));

    // Binary that is not UTF-8 stays a Buffer in auto-detect; a declared octet-stream stays a Buffer too.
    await p.publishAsync('types/bin', Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await waitUntil(() => got.rxAuto.length === 2, 5000, 'binary');
    assert.ok(Buffer.isBuffer(got.rxAuto[1].payload));
    await p.publishAsync('types/declared', '{"b":2}', { qos: 1, properties: { contentType: 'application/octet-stream' } });
    await waitUntil(() => got.rxAuto.length === 3, 5000, 'declared octet-stream');
    assert.ok(Buffer.isBuffer(got.rxAuto[2].payload), 'content type application/octet-stream keeps a Buffer');
    assert.equal(got.rxAuto[2].contentType, 'application/octet-stream');
  });

  test('a payload that is not JSON on a JSON output is a node error with the raw message, nothing sent', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'jsonIn', type: 'mqtt-hub-in', broker: 'conn', topic: 'bad/json', datatype: 'json', wires: [['rx']] },
      { id: 'rx', type: 'helper' },
      { id: 'ctch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const rx = collect(helper.getNode('rx'));
    const caught = collect(helper.getNode('caught'));
    await waitForStatus(helper.getNode('jsonIn'), (s) => s.fill === 'green', 'connected');
    const p = await peer();
    await subscribed(p, 'bad/json', caught);
    await p.publishAsync('bad/json', 'not json {', { qos: 1 });
    await waitUntil(() => caught.length === 1, 5000, 'caught error');
    assert.equal(rx.length, 0);
    assert.equal(caught[0].topic, 'bad/json');
    assert.match(String(caught[0].error.message), /payloadConversion|JSON/);
  });

  test('5.0 properties out: node, connection and msg layers, user properties merged with msg winning', async () => {
    const p = await peer();
    const seen: mqtt.IPublishPacket[] = [];
    p.on('message', (_t, _p, packet) => seen.push(packet));
    await p.subscribeAsync('props/#', { qos: 1 });
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'out', type: 'mqtt-hub-out', broker: 'conn', topic: 'props/a', qos: '1', retain: 'false', contentType: 'application/json', messageExpiryInterval: '60', userProperties: '{"site":"node","line":"node"}', wires: [] },
    ], { publishUserProperties: '{"gateway":"gw-1","site":"connection"}' }));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    helper.getNode('out').receive({ payload: { v: 1 }, responseTopic: 'props/reply', correlationData: Buffer.from('req-7'), userProperties: { line: 'msg' } });
    await waitUntil(() => seen.length === 1, 5000, 'published');
    const props = seen[0].properties!;
    assert.equal(props.contentType, 'application/json');
    assert.equal(props.responseTopic, 'props/reply');
    assert.equal(Buffer.from(props.correlationData!).toString(), 'req-7');
    assert.ok(props.messageExpiryInterval! <= 60 && props.messageExpiryInterval! > 0);
    assert.deepEqual({ ...props.userProperties }, { gateway: 'gw-1', site: 'node', line: 'msg' });
    assert.equal(seen[0].payload.toString(), '{"v":1}');
  });

  test('5.0 properties in: the msg carries them under the core node names', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'in', type: 'mqtt-hub-in', broker: 'conn', topic: 'props/in', datatype: 'auto-detect', wires: [['rx']] },
      { id: 'rx', type: 'helper' },
    ]));
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
    const p = await peer();
    await subscribed(p, 'props/in', rx);
    await p.publishAsync('props/in', 'hello', {
      qos: 1,
      properties: { responseTopic: 'props/out', correlationData: Buffer.from('c-1'), contentType: 'text/plain', userProperties: { a: '1' }, messageExpiryInterval: 30, payloadFormatIndicator: true },
    });
    await waitUntil(() => rx.length === 1, 5000, 'message');
    const m = rx[0];
    assert.equal(m.payload, 'hello');
    assert.equal(m.responseTopic, 'props/out');
    assert.equal(Buffer.from(m.correlationData).toString(), 'c-1');
    assert.equal(m.contentType, 'text/plain');
    assert.deepEqual({ ...m.userProperties }, { a: '1' });
    assert.equal(m.payloadFormatIndicator, true);
    assert.ok(m.messageExpiryInterval > 0 && m.messageExpiryInterval <= 30);
    assert.equal(typeof m.subscriptionIdentifier, 'number', 'Mosquitto echoes our subscription identifier [MQTT-3.3.4-3]');
  });

  test('payload types out: string, Buffer, number, boolean, object, null', async () => {
    const p = await peer();
    const seen: string[] = [];
    p.on('message', (_t, payload) => seen.push(payload.toString('hex')));
    await p.subscribeAsync('types/out', { qos: 1 });
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'out', type: 'mqtt-hub-out', broker: 'conn', topic: 'types/out', qos: '1', wires: [] },
    ]));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    const out = helper.getNode('out');
    const payloads: unknown[] = ['text', Buffer.from([1, 2]), 42, true, { k: [1] }, null];
    for (const payload of payloads) out.receive({ payload });
    await waitUntil(() => seen.length === payloads.length, 5000, 'all published');
    assert.deepEqual(seen, [
      Buffer.from('text').toString('hex'),
      '0102',
      Buffer.from('42').toString('hex'),
      Buffer.from('true').toString('hex'),
      Buffer.from('{"k":[1]}').toString('hex'),
      '',
    ]);
  });

  test('done() reaches a Complete node once the QoS 2 flow completes; a bad topic reaches Catch', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'out', type: 'mqtt-hub-out', broker: 'conn', topic: '', qos: '2', wires: [] },
      { id: 'cmpl', type: 'complete', scope: ['out'], uncaught: false, wires: [['completed']] },
      { id: 'completed', type: 'helper' },
      { id: 'ctch', type: 'catch', scope: ['out'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const completed = collect(helper.getNode('completed'));
    const caught = collect(helper.getNode('caught'));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    helper.getNode('out').receive({ topic: 'done/ok', payload: 'x', marker: 1 });
    helper.getNode('out').receive({ topic: 'done/+/bad', payload: 'x', marker: 2 });
    await waitUntil(() => completed.length === 1 && caught.length === 1, 5000, 'complete and catch');
    assert.equal(completed[0].marker, 1);
    assert.equal(caught[0].marker, 2);
    assert.match(caught[0].error.message, /invalidTopic|topic/);
  });
});
