// mqtt-hub-broker inside Node-RED, with in and out nodes connected to it through a connection node
// set to "the broker node in this Node-RED", and real MQTT.js clients from outside.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, helper, logLines, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

function localFlow(port: number, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: 'b', bind: 'loopback', port: String(port), sysInterval: '0', wires: [['events']] },
    { id: 'events', z: 'f1', type: 'helper' },
    { id: 'conn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'broker', protocolVersion: '5', clientId: 'nr-test', reconnectPeriod: '200' },
    { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'plant/#', qos: '2', datatype: 'auto-detect', wires: [['received']] },
    { id: 'received', z: 'f1', type: 'helper' },
    { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: '', qos: '', retain: '', queueSize: '10', wires: [] },
    ...extra,
  ];
}

describe('mqtt-hub-broker node', () => {
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await helper.unload();
  });

  test('hosts a broker that the in and out nodes use over loopback', async () => {
    const port = await freePort();
    await helper.load(allNodes, localFlow(port));
    const received = collect(helper.getNode('received'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'in node connected');
    helper.getNode('out').receive({ topic: 'plant/line1/temp', payload: { celsius: 21.5 }, qos: 1 });
    await waitUntil(() => received.length > 0, 5000, 'message through the broker node');
    assert.deepEqual(received[0].payload, { celsius: 21.5 });
    assert.equal(received[0].topic, 'plant/line1/temp');
    assert.equal(received[0].qos, 1);
  });
});
