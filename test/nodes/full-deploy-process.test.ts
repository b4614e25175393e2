// Full deploys in a real Node-RED (POST /flows, Node-RED-Deployment-Type: full), as the editor's
// Deploy button does: the connection is handed over while its settings and stored credentials stay
// the same, and reconnects (with the new credentials) when they change. The in node echoes what it
// receives through an out node, so the test sees every delivery on the broker.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createBroker, type Broker } from '../../src/broker';
import { freePort, waitUntil } from '../helpers/net';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

describe('full deploys in a running Node-RED', () => {
  let broker: Broker;
  let red: NodeRedProcess;
  let port: number;
  const usernames: Array<string | undefined> = [];
  const echoes: string[] = [];
  const disconnectReasons: string[] = [];

  const flows = (): Record<string, unknown>[] => [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', reconnectPeriod: '200' },
    { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'fdp/#', qos: '1', datatype: 'utf8', wires: [['out']] },
    { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'echo', qos: '1', retain: 'false', wires: [] },
  ];

  async function deploy(body: unknown): Promise<void> {
    const started = (red.output().match(/Started flows/g) ?? []).length;
    const res = await fetch(`${red.baseUrl}flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 204, await res.text());
    await waitUntil(() => (red.output().match(/Started flows/g) ?? []).length > started, 10_000, 'flows started again');
  }

  async function fence(text: string): Promise<void> {
    await broker.publish({ topic: 'fdp/fence', payload: Buffer.from(text), qos: 1 });
    await waitUntil(() => echoes.includes(text), 10_000, `echo of ${text}`);
  }

  before(async () => {
    port = await freePort();
    broker = createBroker({
      listeners: [{ host: '127.0.0.1', port }],
      sysInterval: 0,
      authenticate: (client, username) => {
        usernames.push(username ?? undefined);
        return true;
      },
    });
    broker.on('published', (message) => {
      if (message.topic === 'echo') echoes.push(message.payload.toString());
    });
    broker.on('clientDisconnected', (_info, reason) => disconnectReasons.push(reason));
    await broker.listen();
    await broker.publish({ topic: 'fdp/state', payload: Buffer.from('retained-1'), qos: 1, retain: true });
    red = await startNodeRed({ flows: flows(), credentials: { conn: { user: 'alice', password: 'secret' } } });
  });

  after(async () => {
    await red?.stop();
    await broker?.close();
  });

  test('the same flows deployed in full: no new CONNECT, the retained message is not delivered again', async () => {
    await waitUntil(() => echoes.includes('retained-1'), 10_000, 'retained on start');
    assert.deepEqual(usernames, ['alice']);
    // The editor sends no credentials that did not change: the stored ones stay, so do the settings.
    await deploy(flows());
    await fence('fence-1');
    await deploy(flows());
    await fence('fence-2');
    assert.deepEqual(echoes, ['retained-1', 'fence-1', 'fence-2']);
    assert.deepEqual(usernames, ['alice'], 'one CONNECT');
    assert.deepEqual(disconnectReasons, []);
    assert.equal(broker.clients().length, 1);
  });

  test('changed credentials: the old client sends DISCONNECT, the new one connects as the new user and gets the retained message', async () => {
    const changed = flows().map((n) => (n.id === 'conn' ? { ...n, credentials: { user: 'bob', password: 'other' } } : n));
    const before = echoes.length;
    await deploy(changed);
    await waitUntil(() => echoes.slice(before).includes('retained-1'), 10_000, 'retained after the reconnect');
    assert.deepEqual(usernames, ['alice', 'bob']);
    await waitUntil(() => disconnectReasons.length === 1, 5000, 'the old client left');
    assert.deepEqual(disconnectReasons, ['disconnect']);
    await waitUntil(() => broker.clients().length === 1, 5000, 'one client');
  });
});
