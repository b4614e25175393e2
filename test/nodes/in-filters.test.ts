// Many in nodes on one connection, their filters overlapping ('#', '+', empty levels, '$' topics, a
// shared subscription, a dynamic node with two filters): over a real Mosquitto each node gets exactly
// the messages its own filter matches, once each, whatever else the connection subscribed to.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { allNodes, collect, helper, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

/** What the peer publishes, each with its own topic as payload. */
const TOPICS = ['f/b/c', 'f/b', 'f', 'f/x/c', 'f//c', 'g/x', '$app/x', '$app/f/b'];
/** Published last; only '#' matches it, and Mosquitto keeps one client's deliveries in order. */
const FENCE = 'zz/fence';

/** Each node's filter and what it must receive (the fence left out). */
const NODES: Array<{ id: string; filter: string; expected: string[]; v5only?: boolean }> = [
  { id: 'all', filter: '#', expected: ['f/b/c', 'f/b', 'f', 'f/x/c', 'f//c', 'g/x'] }, // no '$' topics [MQTT-4.7.2-1]
  { id: 'plusX', filter: '+/x', expected: ['g/x'] }, // '$app/x' is not matched by a leading '+' [MQTT-4.7.2-1]
  { id: 'fAll', filter: 'f/#', expected: ['f/b/c', 'f/b', 'f', 'f/x/c', 'f//c'] }, // '#' includes the parent [MQTT-4.7.1-2]
  { id: 'fPlus', filter: 'f/+', expected: ['f/b'] },
  { id: 'fPlusC', filter: 'f/+/c', expected: ['f/b/c', 'f/x/c', 'f//c'] }, // '+' matches an empty level [MQTT-4.7.1-3]
  { id: 'exact', filter: 'f/b/c', expected: ['f/b/c'] },
  { id: 'plusPlusC', filter: '+/+/c', expected: ['f/b/c', 'f/x/c', 'f//c'] },
  { id: 'plusFB', filter: '+/f/b', expected: [] }, // '$app/f/b' only by a filter naming '$app' [MQTT-4.7.2-1]
  { id: 'appAll', filter: '$app/#', expected: ['$app/x', '$app/f/b'] },
  { id: 'appPlus', filter: '$app/+', expected: ['$app/x'] },
  { id: 'shared', filter: '$share/grp/f/+/c', expected: ['f/b/c', 'f/x/c', 'f//c'], v5only: true }, // [MQTT-4.8.2-1]
];
/** A dynamic in node holding two filters: one delivery per message, through either. */
const DYNAMIC = { id: 'dyn', filters: ['f/b/c', 'g/#', 'f/+/c'], expected: ['f/b/c', 'f/x/c', 'f//c', 'g/x'] };

describe('in nodes with overlapping filters on one connection', { skip }, () => {
  let mosq: MosquittoInstance;
  let peer: mqtt.MqttClient | undefined;
  before(async () => {
    mosq = await startMosquitto();
  });
  after(async () => {
    await disposeMosquitto(mosq);
  });
  afterEach(async () => {
    await peer?.endAsync(true);
    peer = undefined;
    await helper.unload();
  });

  for (const version of ['5', '4'] as const) {
    test(`each node gets exactly what its filter matches, once (protocol ${version}) [MQTT-3.3.4-2]`, async () => {
      // 3.1.1 has no Subscription Identifiers: a shared and a plain subscription of one client both
      // matching give two copies nobody can tell apart, so the shared node runs under 5.0 only.
      const nodes = NODES.filter((n) => version === '5' || !n.v5only);
      await helper.load(allNodes, [
        { id: 'f1', type: 'tab', label: 'test' },
        { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), protocolVersion: version, reconnectPeriod: '100' },
        ...nodes.map((n) => ({ id: n.id, z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: n.filter, qos: '1', datatype: 'utf8', wires: [[`rx-${n.id}`]] })),
        { id: DYNAMIC.id, z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: '', inputs: 1, datatype: 'utf8', wires: [[`rx-${DYNAMIC.id}`]] },
        ...[...nodes.map((n) => n.id), DYNAMIC.id].map((id) => ({ id: `rx-${id}`, z: 'f1', type: 'helper' })),
      ]);
      const got = new Map<string, Msg[]>();
      for (const id of [...nodes.map((n) => n.id), DYNAMIC.id]) got.set(id, collect(helper.getNode(`rx-${id}`)));
      await waitForStatus(helper.getNode(DYNAMIC.id), (s) => s.fill === 'green', 'connected');
      helper.getNode(DYNAMIC.id).receive({ action: 'subscribe', topic: DYNAMIC.filters });

      peer = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
      const p = peer;
      const round = async (payload: (topic: string) => string) => {
        for (const topic of TOPICS) await p.publishAsync(topic, payload(topic), { qos: 1 });
        await p.publishAsync(FENCE, 'fence', { qos: 1 });
      };
      const fenced = () => got.get('all')!.some((m) => m.topic === FENCE);
      // Probe rounds until every node with something to receive has heard a probe: all subscriptions are in place.
      const waiting = [...nodes.filter((n) => n.expected.length > 0).map((n) => n.id), DYNAMIC.id];
      await waitUntil(async () => {
        await round(() => 'probe');
        await waitUntil(fenced, 5000, 'probe fence');
        return waiting.every((id) => got.get(id)!.some((m) => m.payload === 'probe'));
      }, 10000, 'every subscription in place');
      for (const list of got.values()) list.length = 0;

      await round((topic) => topic);
      await waitUntil(fenced, 5000, 'fence');
      for (const n of nodes) {
        const payloads = got.get(n.id)!.filter((m) => m.topic !== FENCE).map((m) => m.payload as string);
        assert.deepEqual(payloads.sort(), [...n.expected].sort(), `${n.id} (${n.filter})`);
        for (const m of got.get(n.id)!) if (m.topic !== FENCE) assert.equal(m.topic, m.payload, `${n.id}: msg.topic is the topic published`);
      }
      const dynamic = got.get(DYNAMIC.id)!.filter((m) => m.topic !== FENCE).map((m) => m.payload as string);
      assert.deepEqual(dynamic.sort(), [...DYNAMIC.expected].sort(), `${DYNAMIC.id} (${DYNAMIC.filters.join(', ')})`);
    });
  }
});
