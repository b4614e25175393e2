// Deploys and redeploys: a redeploy that keeps a subscription does not resubscribe (retained messages
// do not fire again), twenty redeploys leak no sockets, timers or clients, and bad settings show a
// red status and a log line without crashing Node-RED.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, coreNode, helper, logLines, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

function sockets(filter: (s: net.Socket) => boolean = () => true): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is net.Socket => h instanceof net.Socket && !(h as net.Socket).destroyed && (h as net.Socket).remotePort !== undefined && filter(h as net.Socket)).length;
}

function servers(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof net.Server && h.listening).length;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('deploys and redeploys', { skip }, () => {
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

  function inFlow(name: string, topic: string): Record<string, unknown>[] {
    return [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), protocolVersion: '5', reconnectPeriod: '100' },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', name, broker: 'conn', topic, qos: '1', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
    ];
  }

  test('redeploying an in node with the same filter keeps the subscription: the retained message does not fire again', async () => {
    const p = await peer();
    await p.publishAsync('rd/state', 'retained-1', { qos: 1, retain: true });
    try {
      await helper.load(allNodes, inFlow('first', 'rd/#'));
      let rx = collect(helper.getNode('rx'));
      await waitUntil(() => rx.length === 1, 5000, 'retained on first deploy');
      assert.equal(rx[0].payload, 'retained-1');

      // Same filter, other name: the node restarts, the connection does not.
      await helper.setFlows(inFlow('renamed', 'rd/#'), 'nodes');
      rx = collect(helper.getNode('rx'));
      await p.publishAsync('rd/fence', 'fence-1', { qos: 1 });
      await waitUntil(() => rx.some((m) => m.payload === 'fence-1'), 5000, 'fence after redeploy');
      assert.deepEqual(rx.map((m) => m.payload), ['fence-1'], 'no retained message again, nothing lost');

      // A changed filter is a new subscription: its retained message does arrive (the check above can fail).
      await helper.setFlows(inFlow('renamed', 'rd/state'), 'nodes');
      rx = collect(helper.getNode('rx'));
      await waitUntil(() => rx.length === 1, 5000, 'retained for the new filter');
      assert.equal(rx[0].payload, 'retained-1');
      assert.equal(rx[0].retain, true);
    } finally {
      await p.publishAsync('rd/state', '', { qos: 1, retain: true });
    }
  });

  test('twenty full redeploys against Mosquitto leave one connection, no extra timers, no close timeouts', async () => {
    const flowWithOut = (n: number): Record<string, unknown>[] => [
      ...inFlow(`deploy-${n}`, 'leak/#'),
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'leak/t', qos: '1', wires: [] },
    ];
    await helper.load(allNodes, flowWithOut(0));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
    const toMosquitto = (s: net.Socket) => s.remotePort === mosq.port;
    const baseTimers = timers();
    for (let n = 1; n <= 20; n++) {
      await helper.setFlows(flowWithOut(n), 'full');
      const rx = collect(helper.getNode('rx'));
      await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', `connected after deploy ${n}`);
      // Each deploy still works end to end.
      await waitUntil(async () => {
        helper.getNode('out').receive({ payload: `m${n}` });
        await new Promise((r) => setTimeout(r, 20));
        return rx.some((m) => m.payload === `m${n}`);
      }, 5000, `message after deploy ${n}`);
    }
    await waitUntil(() => sockets(toMosquitto) === 1, 5000, 'one socket to Mosquitto');
    assert.ok(timers() <= baseTimers + 1, `timers: ${timers()} after, ${baseTimers} before`);
    assert.equal(logLines().filter((l) => /timed out/i.test(l.msg)).length, 0, 'no close timeouts');
    await helper.unload();
    await waitUntil(() => sockets(toMosquitto) === 0, 5000, 'no socket to Mosquitto after unload');
  });

  test('twenty full redeploys of a broker node with in and out nodes: one listener, one client, port reusable', async () => {
    const port = await freePort();
    const flow = (n: number): Record<string, unknown>[] => [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: `b${n}`, port: String(port), sysInterval: '0', wires: [[]] },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'broker', protocolVersion: '5', reconnectPeriod: '100' },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'r/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'r/t', qos: '1', wires: [] },
    ];
    const baseServers = servers();
    await helper.load(allNodes, flow(0));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    const baseTimers = timers();
    for (let n = 1; n <= 20; n++) {
      await helper.setFlows(flow(n), 'full');
      const rx = collect(helper.getNode('rx'));
      await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', `connected after deploy ${n}`);
      await waitUntil(async () => {
        helper.getNode('out').receive({ payload: `m${n}` });
        await new Promise((r) => setTimeout(r, 20));
        return rx.some((m) => m.payload === `m${n}`);
      }, 5000, `message after deploy ${n}`);
    }
    const onPort = (s: net.Socket) => s.remotePort === port || s.localPort === port;
    await waitUntil(() => sockets(onPort) === 2, 5000, 'one client connection (both ends)');
    assert.equal(servers(), baseServers + 1, 'one listening server');
    assert.ok(timers() <= baseTimers + 1, `timers: ${timers()} after, ${baseTimers} before`);
    await helper.unload();
    await waitUntil(() => sockets(onPort) === 0, 5000, 'no sockets after unload');
    assert.equal(servers(), baseServers, 'listener closed');
  });

  test('a redeploy that moves the broker node to another port: the connection follows it', async () => {
    const flow = (port: number): Record<string, unknown>[] => [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', port: String(port), sysInterval: '0', wires: [[]] },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'broker', protocolVersion: '5', reconnectPeriod: '100' },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'mv/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'mv/t', qos: '1', wires: [] },
    ];
    const first = await freePort();
    await helper.load(allNodes, flow(first));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    const second = await freePort();
    // Only the broker node changes: the connection node keeps running and must dial the new port.
    await helper.setFlows(flow(second), 'nodes');
    const rx = collect(helper.getNode('rx'));
    await waitUntil(async () => {
      helper.getNode('out').receive({ payload: 'moved' });
      await new Promise((r) => setTimeout(r, 30));
      return rx.length > 0;
    }, 8000, 'message through the moved broker');
    const onSecond = (s: net.Socket) => s.remotePort === second;
    assert.equal(sockets(onSecond), 1, 'the client dials the new port');
  });

  test('two connections with one client id: a takeover-loop warning names the id [MQTT-3.1.4-3]', async () => {
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'connA', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), clientId: 'same-id', protocolVersion: '5', reconnectPeriod: '50' },
      { id: 'connB', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), clientId: 'same-id', protocolVersion: '5', reconnectPeriod: '50' },
      { id: 'inA', z: 'f1', type: 'mqtt-hub-in', broker: 'connA', topic: 'x', wires: [[]] },
      { id: 'inB', z: 'f1', type: 'mqtt-hub-in', broker: 'connB', topic: 'x', wires: [[]] },
    ]);
    await waitUntil(() => logLines().some((l) => l.level === 30 && /takeoverLoop/.test(l.msg)), 8000, 'takeover warning');
  });

  test('bad settings: invalid topic filter, unusable URL, unreadable TLS file: red status and a log line', async () => {
    const tlsNode = coreNode('network/05-tls.js');
    await helper.load([...allNodes, tlsNode], [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), protocolVersion: '5' },
      { id: 'badTopic', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'a/#/b', wires: [[]] },
      { id: 'badUrl', type: 'mqtt-hub-connection', serverType: 'url', url: 'http://example.invalid' },
      { id: 'inBadUrl', z: 'f1', type: 'mqtt-hub-in', broker: 'badUrl', topic: 'a', wires: [[]] },
      { id: 'tlsBad', type: 'tls-config', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem', ca: '', verifyservercert: true },
      { id: 'badTls', type: 'mqtt-hub-connection', serverType: 'url', url: `mqtts://127.0.0.1:${mosq.port}`, tls: 'tlsBad', protocolVersion: '5' },
      { id: 'inBadTls', z: 'f1', type: 'mqtt-hub-in', broker: 'badTls', topic: 'a', wires: [[]] },
    ]);
    const topicStatus = await waitForStatus(helper.getNode('badTopic'), (s) => s.fill === 'red', 'bad topic status');
    assert.equal(topicStatus?.shape, 'dot');
    await waitForStatus(helper.getNode('inBadUrl'), (s) => s.fill === 'red', 'bad url status');
    const tlsStatus = await waitForStatus(helper.getNode('inBadTls'), (s) => s.fill === 'red', 'bad tls status');
    assert.match(String(tlsStatus?.text), /tlsInvalid/);
    const errors = logLines().filter((l) => l.level === 20).map((l) => l.msg);
    assert.ok(errors.some((m) => /invalidTopicFilter/.test(m)), 'topic error logged');
    assert.ok(errors.some((m) => /badSettings/.test(m)), 'URL error logged');
    assert.ok(errors.some((m) => /connectFailed/.test(m)), 'TLS connection refusal logged');
    assert.ok(errors.some((m) => /ENOENT/.test(m)), 'the tls-config node names the missing file');
  });
});
