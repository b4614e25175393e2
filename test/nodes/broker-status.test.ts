// The broker node's client count on its status, as the editor receives it over Node-RED's comms in
// a running Node-RED: a burst of connects costs a few status updates, not one per client, and the
// count shown settles on the true number.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort, waitUntil } from '../helpers/net';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

const CLIENTS = 40;

let red: NodeRedProcess;
let port: number;
let comms: WebSocket;
/** Every status of the broker node the editor was sent, in order. */
const statuses: Array<{ text?: string; fill?: string }> = [];

before(async () => {
  port = await freePort();
  red = await startNodeRed({
    flows: [
      { id: 'f1', type: 'tab', label: 'status' },
      { id: 'hub', z: 'f1', type: 'mqtt-hub-broker', name: 'counted', bind: 'loopback', port: String(port), sysInterval: '0', wires: [[]] },
    ],
  });
  await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${port}`));
  comms = new WebSocket(`${red.baseUrl.replace(/^http/, 'ws')}comms`);
  comms.on('message', (data) => {
    for (const m of JSON.parse(String(data)) as Array<{ topic: string; data: { text?: string; fill?: string } }>) {
      if (m.topic === 'status/hub') statuses.push(m.data);
    }
  });
  await new Promise((resolve, reject) => comms.once('open', resolve).once('error', reject));
  // Without adminAuth every comms connection gets everything; subscribing sends the retained status.
  comms.send(JSON.stringify({ subscribe: 'status/#' }));
  await waitUntil(() => statuses.some((s) => /0 client/.test(s.text ?? '')), 5000, 'the retained status');
});

after(async () => {
  comms?.close();
  await red?.stop();
});

test('a burst of connects and disconnects updates the client count a few times, ending on the true count', async () => {
  const before = statuses.length;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `burst-${i}`, reconnectPeriod: 0 })),
  );
  await waitUntil(() => statuses.at(-1)?.text === `connected: ${CLIENTS} client(s)`, 5000, `the status to show ${CLIENTS} clients`);
  const duringConnects = statuses.length - before;
  assert.ok(duringConnects < CLIENTS / 2, `${duringConnects} status updates for ${CLIENTS} connects`);
  assert.equal(statuses.at(-1)?.fill, 'green');

  await Promise.all(clients.map((c) => c.endAsync()));
  await waitUntil(() => statuses.at(-1)?.text === 'connected: 0 client(s)', 5000, 'the status to show 0 clients');
  assert.ok(statuses.length - before - duringConnects < CLIENTS / 2, `${statuses.length - before - duringConnects} status updates for ${CLIENTS} disconnects`);
});
