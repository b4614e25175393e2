// What the nodes write to Node-RED's log, read from a real Node-RED's output (translated, with its
// parameters): connects and disconnects with their reasons at info level, and every packet when the
// broker node's "verbose" is on.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createBroker, type Broker } from '../../src/broker';
import { freePort } from '../helpers/net';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

describe('log lines in a running Node-RED', () => {
  let red: NodeRedProcess;
  let external: Broker;
  let quietPort: number;
  let verbosePort: number;

  before(async () => {
    quietPort = await freePort();
    verbosePort = await freePort();
    const externalPort = await freePort();
    external = createBroker({ listeners: [{ host: '127.0.0.1', port: externalPort }], sysInterval: 0 });
    await external.listen();
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'logs' },
        { id: 'quiet', z: 'f1', type: 'mqtt-hub-broker', x: 100, y: 40, name: 'quiet', bind: 'loopback', port: String(quietPort), sysInterval: '0', wires: [[]] },
        { id: 'verbose', z: 'f1', type: 'mqtt-hub-broker', x: 100, y: 80, name: 'loud', bind: 'loopback', port: String(verbosePort), sysInterval: '0', verbose: true, wires: [[]] },
        { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(externalPort), protocolVersion: '5', clientId: 'nr-logs', reconnectPeriod: '0' },
        { id: 'in', z: 'f1', type: 'mqtt-hub-in', x: 100, y: 120, broker: 'conn', topic: 'x', qos: '0', datatype: 'auto-detect', wires: [[]] },
        { id: 'connv', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(externalPort), protocolVersion: '5', clientId: 'nr-verbose', reconnectPeriod: '0', verbose: true },
        { id: 'inv', z: 'f1', type: 'mqtt-hub-in', x: 100, y: 160, broker: 'connv', topic: 'v/#', qos: '1', datatype: 'auto-detect', wires: [[]] },
      ],
    });
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${quietPort}`));
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${verbosePort}`));
  });

  after(async () => {
    await red?.stop();
    await external?.close();
  });

  test('the broker node logs a client leaving with its address and reason, and no packets without verbose', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${quietPort}`, { clientId: 'log-client', protocolVersion: 4, keepalive: 42, reconnectPeriod: 0 });
    await c.publishAsync('quiet/topic', 'x', { qos: 1 });
    await c.endAsync();
    await red.waitForOutput(/\[info\] \[mqtt-hub-broker:quiet\] Client log-client \(127\.0\.0\.1:\d+\) disconnected: disconnect/);
    // The engine's own line for the connect, through the same log.
    assert.match(red.output(), /\[info\] \[mqtt-hub-broker:quiet\] client log-client connected from 127\.0\.0\.1:\d+ \(protocol 4\b.*keepalive 42\)/);
    assert.doesNotMatch(red.output(), /\[mqtt-hub-broker:quiet\].*(PUBLISH|PUBACK)/);
    // A client that vanishes without DISCONNECT: the reason says so.
    const d = await mqtt.connectAsync(`mqtt://127.0.0.1:${quietPort}`, { clientId: 'log-vanish', reconnectPeriod: 0 });
    (d.stream as unknown as { destroy(): void }).destroy();
    await red.waitForOutput(/\[info\] \[mqtt-hub-broker:quiet\] Client log-vanish \(127\.0\.0\.1:\d+\) disconnected: closed/);
    await d.endAsync(true);
  });

  test('with verbose on, the broker node logs every packet in and out', async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${verbosePort}`, { clientId: 'chatty', protocolVersion: 5, reconnectPeriod: 0 });
    await c.publishAsync('trace/me', 'abc', { qos: 1 });
    await c.endAsync();
    await red.waitForOutput(/\[mqtt-hub-broker:loud\] chatty → DISCONNECT/);
    const out = red.output();
    assert.match(out, /\[info\] \[mqtt-hub-broker:loud\] - → CONNECT chatty v5 k60 clean/);
    assert.match(out, /\[info\] \[mqtt-hub-broker:loud\] chatty ← CONNACK/);
    assert.match(out, /\[info\] \[mqtt-hub-broker:loud\] chatty → PUBLISH trace\/me q1 id \d+ \(3 bytes\)/);
    assert.match(out, /\[info\] \[mqtt-hub-broker:loud\] chatty ← PUBACK id \d+/);
  });

  test('with verbose on, the connection node logs every packet it sends and receives', async () => {
    await red.waitForOutput(/\[mqtt-hub-connection:connv\] ← SUBACK/);
    const out = red.output();
    assert.match(out, /\[info\] \[mqtt-hub-connection:connv\] → CONNECT nr-verbose v5/);
    assert.match(out, /\[info\] \[mqtt-hub-connection:connv\] ← CONNACK/);
    assert.match(out, /\[info\] \[mqtt-hub-connection:connv\] → SUBSCRIBE v\/# q1/);
    assert.doesNotMatch(out, /\[mqtt-hub-connection:conn\] [→←]/, 'no packet lines without verbose');
  });

  test('the connection node logs connected, and disconnected with the reason the server gave', async () => {
    await red.waitForOutput(/\[info\] \[mqtt-hub-connection:conn\] Connected to nr-logs@mqtt:\/\/127\.0\.0\.1:\d+/);
    // The server shuts down: 5.0 clients get DISCONNECT 0x8B (server shutting down) first.
    await external.close();
    await red.waitForOutput(/\[info\] \[mqtt-hub-connection:conn\] Disconnected from nr-logs@mqtt:\/\/127\.0\.0\.1:\d+: the server sent DISCONNECT with reason code 0x8b/);
  });
});
