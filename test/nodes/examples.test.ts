// The flows in examples/ load with every node they use, and the local-broker and MQTT 5
// request/response examples work end to end (ports moved to free ones, debug nodes observed).
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, coreNode, helper, trackStatuses, waitForStatus } from './harness';

trackStatuses();

const coreNodes = [coreNode('common/20-inject.js'), coreNode('function/15-change.js'), coreNode('network/05-tls.js')];

const examplesDir = [process.cwd(), path.resolve(__dirname, '../../..')].map((d) => path.join(d, 'examples')).find((d) => fs.existsSync(path.join(d, '01-local-broker.json')))!;

type FlowNode = Record<string, any>;

/** An example with debug and comment nodes swapped for helper nodes the test can watch. */
function loadExample(name: string): FlowNode[] {
  const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, name), 'utf8')) as FlowNode[];
  return flow.map((n) => (n.type === 'debug' || n.type === 'comment' ? { id: n.id, z: n.z, type: 'helper', name: n.name, wires: [] } : n));
}

describe('examples', () => {
  afterEach(() => helper.unload());

  test('every node of ours appears in an example', () => {
    const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 5);
    const used = new Set<string>();
    for (const f of files) for (const n of JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')) as FlowNode[]) used.add(n.type);
    for (const type of ['mqtt-hub-connection', 'mqtt-hub-in', 'mqtt-hub-out', 'mqtt-hub-broker']) assert.ok(used.has(type), `${type} is used`);
  });

  test('01-local-broker: a broker node on 127.0.0.1:1883, inject → out → broker → in → debug', async () => {
    const flow = loadExample('01-local-broker.json');
    const broker = flow.find((n) => n.type === 'mqtt-hub-broker')!;
    assert.equal(broker.port, '1883');
    assert.equal(broker.bind, 'loopback');
    broker.port = String(await freePort());
    const inject = flow.find((n) => n.type === 'inject')!;
    inject.repeat = '';
    inject.once = false;
    await helper.load([...allNodes, ...coreNodes], flow);
    const received = collect(helper.getNode(flow.find((n) => n.type === 'helper' && n.name === 'received')!.id));
    const out = flow.find((n) => n.type === 'mqtt-hub-out')!;
    await waitForStatus(helper.getNode(out.id), (s) => s.fill === 'green', 'out connected');
    const inNode = flow.find((n) => n.type === 'mqtt-hub-in')!;
    await waitForStatus(helper.getNode(inNode.id), (s) => s.fill === 'green', 'in connected');
    await waitUntil(async () => {
      helper.getNode(inject.id).receive({});
      await new Promise((r) => setTimeout(r, 30));
      return received.length > 0;
    }, 5000, 'message through the example');
    assert.deepEqual(received[0].payload, { temperature: 21.5, unit: 'C' });
    assert.equal(received[0].topic, 'demo/line1/temperature');
  });

  test('04-mqtt5-request-response: the reply carries the request\'s correlation data back', async () => {
    const flow = loadExample('04-mqtt5-request-response.json');
    const port = await freePort();
    // The example dials a broker on 127.0.0.1:1883; here a broker node on a free port plays that part.
    flow.find((n) => n.type === 'mqtt-hub-connection')!.port = String(port);
    flow.push({ id: 'testBroker', z: flow[0].id, type: 'mqtt-hub-broker', port: String(port), sysInterval: '0', wires: [[]] });
    await helper.load([...allNodes, ...coreNodes], flow);
    const replies = collect(helper.getNode(flow.find((n) => n.type === 'helper' && /reply/.test(n.name))!.id));
    const responder = flow.find((n) => n.type === 'mqtt-hub-in' && n.name === 'responder')!;
    await waitForStatus(helper.getNode(responder.id), (s) => s.fill === 'green', 'connected');
    const requestInject = flow.find((n) => n.type === 'inject')!;
    await waitUntil(async () => {
      helper.getNode(requestInject.id).receive({});
      await new Promise((r) => setTimeout(r, 50));
      return replies.length > 0;
    }, 5000, 'a reply');
    const reply = replies[0];
    assert.deepEqual(reply.payload, { temperature: 21.5 });
    assert.equal(reply.topic, 'rr/reply');
    assert.ok(Buffer.isBuffer(reply.correlationData) && reply.correlationData.length > 0, 'correlation data came back [MQTT-4.10]');
  });

  test('02, 03 and 05 load without errors', async () => {
    for (const name of ['02-dynamic-subscriptions.json', '03-plc-hmi-gateway.json', '05-external-broker-tls.json']) {
      const flow = loadExample(name);
      for (const n of flow) {
        if (n.type === 'mqtt-hub-broker') n.port = String(await freePort());
        if (n.type === 'mqtt-hub-connection') n.autoConnect = false;
      }
      await helper.load([...allNodes, ...coreNodes], flow);
      for (const n of flow.filter((x) => x.type?.startsWith('mqtt-hub-') && x.type !== 'mqtt-hub-connection')) {
        assert.ok(helper.getNode(n.id), `${name}: ${n.type} ${n.id} started`);
      }
      await helper.unload();
    }
  });
});
