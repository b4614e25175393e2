// The broker node hands Node-RED only the log lines some logger shows: at Node-RED's default info
// level a client connecting and leaving are logged; with every logger at warn those lines are not
// even built (Node-RED makes an Error with its stack for each node.log call).
import { afterEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { shownLogLevel } from '../../nodes/lib/broker-controller';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, helper, logLines } from './harness';

afterEach(async () => {
  await helper.unload();
  helper.settings({});
});

/** Loads a broker node, connects one client and lets it leave; the node's log lines about it. */
async function clientComesAndGoes(clientId: string): Promise<string[]> {
  const port = await freePort();
  await helper.load(allNodes, [
    { id: 'f1', type: 'tab', label: 'log level' },
    { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: 'b', bind: 'loopback', port: String(port), sysInterval: '0', wires: [['events']] },
    { id: 'events', z: 'f1', type: 'helper' },
  ]);
  const events = collect(helper.getNode('events'));
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0 });
  await c.endAsync();
  // The event comes after the log line, from the same handler.
  await waitUntil(() => events.some((e) => e.topic === 'clientDisconnected'), 5000, 'the disconnect event');
  // The test helper does not translate: the leaving line is its bare key.
  return logLines().map((l) => l.msg).filter((m) => m.includes(clientId) || m.includes('log.clientDisconnected'));
}

test('at the default info level the broker node logs a client connecting and leaving', async () => {
  const lines = await clientComesAndGoes('log-level-info');
  assert.ok(lines.some((l) => /client log-level-info connected from 127\.0\.0\.1/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /clientDisconnected/.test(l)), lines.join('\n'));
});

test('with the console logger at warn the broker node passes no line about clients to Node-RED', async () => {
  helper.settings({ logging: { console: { level: 'warn' } } });
  assert.deepEqual(await clientComesAndGoes('log-level-warn'), []);
});

test('the most verbose of all loggers counts, info when none is set', () => {
  assert.equal(shownLogLevel(undefined), 40);
  assert.equal(shownLogLevel({}), 40);
  assert.equal(shownLogLevel({ console: {} }), 40);
  assert.equal(shownLogLevel({ console: { level: 'warn' } }), 30);
  assert.equal(shownLogLevel({ console: { level: 'error' }, file: { level: 'debug', handler: () => () => undefined } }), 50);
  assert.equal(shownLogLevel({ console: { level: 'off' } }), 1);
});
