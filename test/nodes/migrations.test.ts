// Flows saved by earlier versions: each node's migrations step, and an old-shaped flow (the first
// release's connection and broker node fields, the broker's users under their old name) loaded into
// Node-RED, where the in node hears the out node through the broker node with a user login.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt from 'mqtt';
import {
  brokerMigrations,
  connectionMigrations,
  currentVersion,
  inMigrations,
  migrateConfig,
  outMigrations,
  SETTINGS_VERSION,
} from '../../nodes/lib/migrations';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, helper, trackStatuses, waitForStatus } from './harness';

trackStatuses();

/** A connection node as the first release's form saved it (no hostType, urlType, clientIdType, verbose). */
function oldConnection(port: number): Record<string, unknown> {
  return {
    id: 'conn', type: 'mqtt-hub-connection', name: '', serverType: 'host', host: '127.0.0.1', port: String(port), url: '', brokerNode: '',
    usetls: false, tls: '', clientId: 'old-flow', protocolVersion: '5', keepalive: '60', cleanStart: true, sessionExpiryInterval: '0',
    autoConnect: true, reconnectPeriod: '200', receiveMaximum: '', maximumPacketSize: '', topicAliasMaximum: '',
    requestResponseInformation: false, requestProblemInformation: true, connectUserProperties: '', publishUserProperties: '', willDelayInterval: '',
  };
}

/** A broker node as the first release's form saved it: its user list under `users`. */
function oldBroker(port: number): Record<string, unknown> {
  return {
    id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name: '', bind: 'loopback', host: '', port: String(port), wsPort: '', wsPath: '', usetls: false, tls: '',
    allowAnonymous: false, users: [{ username: 'plc' }], sysInterval: '0', maxConnections: '0', maxQueuedMessages: '1000', maxInflightMessages: '20',
    maxPacketSize: '0', verbose: false, wires: [[]],
  };
}

describe('migrations', () => {
  afterEach(async () => {
    await helper.unload();
  });

  test('connection, version 1 → 2: typedInput types "str" and verbose false; the flow\'s own object is left alone', () => {
    const saved = oldConnection(1883);
    const { config, from, applied } = migrateConfig(saved, connectionMigrations);
    assert.equal(from, 1);
    assert.deepEqual(applied, ['hostType, urlType and clientIdType "str"; verbose false']);
    assert.deepEqual([config.hostType, config.urlType, config.clientIdType, config.verbose, config[SETTINGS_VERSION]], ['str', 'str', 'str', false, 2]);
    assert.equal(saved.hostType, undefined, 'the flow Node-RED holds is not rewritten');
    // A node saved at version 2 is left as it is, environment variable types included.
    const current = { ...saved, hostType: 'env', host: 'MQTT_HOST', urlType: 'str', clientIdType: 'str', verbose: true, [SETTINGS_VERSION]: '2' };
    const again = migrateConfig(current, connectionMigrations);
    assert.deepEqual(again.applied, []);
    assert.deepEqual({ ...again.config, [SETTINGS_VERSION]: '2' }, current);
  });

  test('broker, version 1 → 2: users becomes brokerUsers; a node with brokerUsers keeps them', () => {
    const { config, applied } = migrateConfig(oldBroker(1883), brokerMigrations);
    assert.deepEqual(applied, ['users renamed brokerUsers']);
    assert.deepEqual(config.brokerUsers, [{ username: 'plc' }]);
    assert.equal('users' in config, false);
    const current = migrateConfig({ brokerUsers: [{ username: 'a' }] }, brokerMigrations);
    assert.deepEqual(current.applied, []);
    assert.deepEqual(current.config.brokerUsers, [{ username: 'a' }]);
  });

  test('in and out: still at version 1, their config passes unchanged', () => {
    for (const migrations of [inMigrations, outMigrations]) {
      const saved = { topic: 'a/#', qos: '1', datatype: 'utf8' };
      const { config, applied } = migrateConfig(saved, migrations);
      assert.deepEqual(applied, []);
      assert.deepEqual(config, { ...saved, [SETTINGS_VERSION]: 1 });
    }
  });

  test('each editor form saves the version its runtime migrates to', () => {
    const nodesDir = path.join(__dirname, '../../nodes');
    const forms: Array<[string, number]> = [
      ['mqtt-hub-connection.html', currentVersion(connectionMigrations)],
      ['mqtt-hub-in.html', currentVersion(inMigrations)],
      ['mqtt-hub-out.html', currentVersion(outMigrations)],
    ];
    for (const [file, version] of forms) {
      const html = fs.readFileSync(path.join(nodesDir, file), 'utf8');
      assert.match(html, new RegExp(`settingsVersion: \\{ value: "${version}" \\}`), file);
      assert.match(html, /<input type="hidden" id="node(-config)?-input-settingsVersion">/, `${file}: the form keeps the field`);
    }
  });

  test('an old-shaped flow runs: the broker\'s old user list logs the connection in, in hears out', async () => {
    const port = await freePort();
    await helper.load(
      allNodes,
      [
        { id: 'f1', type: 'tab', label: 'old flow' },
        oldBroker(port),
        oldConnection(port),
        // in and out nodes as the first release saved them
        { id: 'in', z: 'f1', type: 'mqtt-hub-in', name: '', topic: 'old/#', qos: '1', datatype: 'utf8', broker: 'conn', nl: false, rap: true, rh: '0', inputs: 0, wires: [['rx']] },
        { id: 'out', z: 'f1', type: 'mqtt-hub-out', name: '', topic: 'old/out', qos: '1', retain: false, queueSize: '', responseTopic: '', correlationData: '', contentType: '', messageExpiryInterval: '', userProperties: '', broker: 'conn', wires: [] },
        { id: 'rx', z: 'f1', type: 'helper' },
      ],
      { broker: { passwords: JSON.stringify({ plc: 's3cret' }) }, conn: { user: 'plc', password: 's3cret' } },
    );
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'broker listening');
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connection logged in');
    // the user list is in force: an anonymous client is refused
    await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 0x87);
    const got = collect(helper.getNode('rx'));
    await waitUntil(() => {
      helper.getNode('out').receive({ payload: 'from an old flow' });
      return got.length > 0;
    }, 5000, 'in hears out');
    assert.equal(got[0].topic, 'old/out');
    assert.equal(got[0].payload, 'from an old flow');
  });
});
