// The connection config node's behaviour over real sockets: offline queue and its bound, dynamic
// subscriptions, one delivery per node for overlapping filters, a redeploy that keeps the
// subscription, takeover-loop warning, and settings that cannot work.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { allNodes, collect, helper, logLines, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

function flow(port: number, nodes: Record<string, unknown>[], connExtra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', reconnectPeriod: '100', ...connExtra },
    ...nodes.map((n) => ({ z: 'f1', ...n })),
  ];
}

describe('connection node behaviour', { skip }, () => {
  let mosq: MosquittoInstance;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    await disposeMosquitto(mosq);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  async function peer(): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  /** Publishes probes on `topic` until a list receives one, waits for the stragglers, then empties the lists. */
  async function subscribed(p: mqtt.MqttClient, topic: string, ...lists: Msg[][]): Promise<void> {
    await waitUntil(async () => {
      await p.publishAsync(topic, 'probe', { qos: 1 });
      await new Promise((r) => setTimeout(r, 30));
      return lists.some((l) => l.length > 0);
    }, 5000, `subscription covering ${topic}`);
    await new Promise((r) => setTimeout(r, 50));
    for (const l of lists) l.length = 0;
  }

  test('while disconnected QoS 1 waits in the queue (status shows it) and goes out on reconnect; overflow and QoS 0 fail visibly', async () => {
    const own = await startMosquitto();
    try {
      await helper.load(allNodes, flow(own.port, [
        { id: 'out', type: 'mqtt-hub-out', broker: 'conn', topic: '', qos: '', queueSize: '2', wires: [] },
        { id: 'cmpl', type: 'complete', scope: ['out'], uncaught: false, wires: [['completed']] },
        { id: 'completed', type: 'helper' },
        { id: 'ctch', type: 'catch', scope: ['out'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]));
      const completed = collect(helper.getNode('completed'));
      const caught = collect(helper.getNode('caught'));
      const out = helper.getNode('out');
      await waitForStatus(out, (s) => s.fill === 'green', 'connected');
      await own.stop();
      await waitForStatus(out, (s) => s.fill !== 'green', 'not connected');
      out.receive({ topic: 'queue/1', payload: 'one', qos: 1, retain: true, n: 1 });
      out.receive({ topic: 'queue/2', payload: 'two', qos: 2, retain: true, n: 2 });
      out.receive({ topic: 'queue/3', payload: 'three', qos: 1, retain: true, n: 3 });
      out.receive({ topic: 'queue/0', payload: 'zero', qos: 0, n: 0 });
      await waitUntil(() => caught.length === 2, 5000, 'overflow and QoS 0 caught');
      assert.deepEqual(caught.map((m) => m.n).sort(), [0, 3]);
      assert.ok(caught.some((m) => /queueFull/.test(m.error.message)), 'overflow names the full queue');
      assert.ok(caught.some((m) => /droppedNotConnected/.test(m.error.message)), 'QoS 0 names the missing connection');
      const backlog = await waitForStatus(out, (s) => /queued/.test(String(s.text)), 'backlog in status');
      assert.equal(backlog?.fill, 'red');
      assert.equal(completed.length, 0);

      await own.restart();
      await waitUntil(() => completed.length === 2, 10_000, 'queued messages completed after reconnect');
      assert.deepEqual(completed.map((m) => m.n), [1, 2], 'in order');
      await waitForStatus(out, (s) => s.fill === 'green' && !/queued/.test(String(s.text)), 'backlog cleared');
      // They really reached the broker: retained, a new subscriber gets both.
      const check = await mqtt.connectAsync(`mqtt://127.0.0.1:${own.port}`, { reconnectPeriod: 0 });
      clients.push(check);
      const got: string[] = [];
      check.on('message', (t, p) => got.push(`${t}=${p.toString()}`));
      await check.subscribeAsync('queue/#');
      await waitUntil(() => got.length === 2, 5000, 'retained queued messages');
      assert.deepEqual(got.sort(), ['queue/1=one', 'queue/2=two']);
    } finally {
      await helper.unload();
      await disposeMosquitto(own);
    }
  });

  test('dynamic mode: subscribe (string, object, list), getSubscriptions, unsubscribe (list, true)', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'dyn', type: 'mqtt-hub-in', broker: 'conn', topic: '', inputs: 1, datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', type: 'helper' },
      { id: 'cmpl', type: 'complete', scope: ['dyn'], uncaught: false, wires: [['completed']] },
      { id: 'completed', type: 'helper' },
    ]));
    const rx = collect(helper.getNode('rx'));
    const completed = collect(helper.getNode('completed'));
    const dyn = helper.getNode('dyn');
    await waitForStatus(dyn, (s) => s.fill === 'green', 'connected');
    dyn.receive({ action: 'subscribe', topic: 'dyn/a' });
    dyn.receive({ action: 'subscribe', topic: [{ topic: 'dyn/b', qos: 1, datatype: 'json' }, 'dyn/c'] });
    await waitUntil(() => completed.length === 2, 5000, 'subscribe actions done');
    assert.deepEqual(completed[1].subscriptions.map((s: Msg) => s.topic), ['dyn/a', 'dyn/b', 'dyn/c']);
    const p = await peer();
    await subscribed(p, 'dyn/c', rx);
    await p.publishAsync('dyn/a', 'A', { qos: 1 });
    await p.publishAsync('dyn/b', '{"b":2}', { qos: 1 });
    await waitUntil(() => rx.length === 2, 5000, 'two messages');
    assert.equal(rx[0].payload, 'A');
    assert.deepEqual(rx[1].payload, { b: 2 }, 'per-subscription datatype');

    dyn.receive({ action: 'getSubscriptions' });
    await waitUntil(() => rx.length === 3, 5000, 'subscription list');
    assert.equal(rx[2].topic, 'subscriptions');
    assert.deepEqual(rx[2].payload.map((s: Msg) => [s.topic, s.qos]), [['dyn/a', 2], ['dyn/b', 1], ['dyn/c', 2]]);

    dyn.receive({ action: 'unsubscribe', topic: ['dyn/a'] });
    await waitUntil(() => completed.length === 4, 5000, 'unsubscribe done');
    assert.deepEqual(completed[3].subscriptions.map((s: Msg) => s.topic), ['dyn/b', 'dyn/c']);
    dyn.receive({ action: 'unsubscribe', topic: true });
    await waitUntil(() => completed.length === 5, 5000, 'unsubscribe all done');
    assert.deepEqual(completed[4].subscriptions, []);
    rx.length = 0;
    await p.publishAsync('dyn/a', 'after', { qos: 1 });
    await p.publishAsync('dyn/c', 'after', { qos: 1 });
    // A fence the node still hears would prove ordering; with nothing subscribed, poll the other way:
    dyn.receive({ action: 'subscribe', topic: 'dyn/fence' });
    await subscribed(p, 'dyn/fence', rx);
    assert.equal(rx.length, 0, 'nothing from unsubscribed filters');
  });

  test('dynamic mode: disconnect, connect with msg.broker overrides, refusal without force, bad action', async () => {
    await helper.load(allNodes, flow(mosq.port, [
      { id: 'dyn', type: 'mqtt-hub-in', broker: 'conn', topic: '', inputs: 1, wires: [[]] },
      { id: 'cmpl', type: 'complete', scope: ['dyn'], uncaught: false, wires: [['completed']] },
      { id: 'completed', type: 'helper' },
      { id: 'ctch', type: 'catch', scope: ['dyn'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ], { clientId: 'dyn-1' }));
    const completed = collect(helper.getNode('completed'));
    const caught = collect(helper.getNode('caught'));
    const dyn = helper.getNode('dyn');
    await waitForStatus(dyn, (s) => s.fill === 'green', 'connected');
    dyn.receive({ action: 'disconnect' });
    await waitUntil(() => completed.length === 1, 5000, 'disconnect done');
    await waitForStatus(dyn, (s) => s.fill === 'red', 'disconnected');
    dyn.receive({ action: 'connect', broker: { clientid: 'dyn-2', keepalive: 30 } });
    await waitUntil(() => completed.length === 2, 5000, 'connect done');
    await waitForStatus(dyn, (s) => s.fill === 'green', 'connected again');
    assert.equal((helper.getNode('conn') as unknown as { controller: { clientId: string } }).controller.clientId, 'dyn-2');
    dyn.receive({ action: 'connect', broker: { clientid: 'dyn-3' } });
    dyn.receive({ action: 'bogus' });
    await waitUntil(() => caught.length === 2, 5000, 'two errors');
    const errors = caught.map((m) => String(m.error.message)).sort();
    assert.match(errors[0], /alreadyConnected/);
    assert.match(errors[1], /invalidAction/);
    dyn.receive({ action: 'connect', broker: { clientid: 'dyn-4', force: true } });
    await waitUntil(() => completed.length === 3, 5000, 'forced reconnect done');
    assert.equal((helper.getNode('conn') as unknown as { controller: { clientId: string } }).controller.clientId, 'dyn-4');
  });

  for (const version of ['5', '4'] as const) {
    test(`overlapping filters deliver once to each node (protocol ${version}) [MQTT-3.3.4-2]`, async () => {
      await helper.load(allNodes, flow(mosq.port, [
        { id: 'wide', type: 'mqtt-hub-in', broker: 'conn', topic: 'ov/#', qos: '1', datatype: 'utf8', wires: [['rxWide']] },
        { id: 'narrow', type: 'mqtt-hub-in', broker: 'conn', topic: 'ov/x', qos: '1', datatype: 'utf8', wires: [['rxNarrow']] },
        { id: 'dyn', type: 'mqtt-hub-in', broker: 'conn', topic: '', inputs: 1, datatype: 'utf8', wires: [['rxDyn']] },
        { id: 'rxWide', type: 'helper' }, { id: 'rxNarrow', type: 'helper' }, { id: 'rxDyn', type: 'helper' },
      ], { protocolVersion: version }));
      const wide = collect(helper.getNode('rxWide'));
      const narrow = collect(helper.getNode('rxNarrow'));
      const dynRx = collect(helper.getNode('rxDyn'));
      await waitForStatus(helper.getNode('dyn'), (s) => s.fill === 'green', 'connected');
      helper.getNode('dyn').receive({ action: 'subscribe', topic: ['ov/+', 'ov/#'] });
      const p = await peer();
      await subscribed(p, 'ov/x', wide, narrow, dynRx);
      await waitUntil(async () => {
        await p.publishAsync('ov/x', 'fence-1', { qos: 1 });
        await new Promise((r) => setTimeout(r, 30));
        return dynRx.length > 0 && wide.length > 0 && narrow.length > 0;
      }, 5000, 'all three hear ov/x');
      for (const l of [wide, narrow, dynRx]) l.length = 0;
      await p.publishAsync('ov/x', 'once', { qos: 1 });
      await p.publishAsync('ov/y', 'fence', { qos: 1 });
      await waitUntil(() => wide.some((m) => m.payload === 'fence') && dynRx.some((m) => m.payload === 'fence'), 5000, 'fence');
      const count = (l: Msg[]) => l.filter((m) => m.payload === 'once').length;
      assert.equal(count(wide), 1);
      assert.equal(count(narrow), 1);
      assert.equal(count(dynRx), 1);
    });
  }
});
