// Connection and node options over real sockets: TLS with a tls-config node (verifying the server by
// default), a refused publish reaching Catch with its reason code, birth/close/will messages, 5.0
// subscription options, MQTT 3.1, and ${ENV_VAR} ports.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, coreNode, helper, logLines, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

const tlsConfigNode = coreNode('network/05-tls.js');
const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

describe('connection and node options', { skip }, () => {
  let mosq: MosquittoInstance;
  let certs: TestCerts;
  let aclDir: string;
  const clients: mqtt.MqttClient[] = [];
  before(async () => {
    certs = makeTestCerts();
    // Mosquitto started as root reads its files as the mosquitto user: a world-readable place.
    aclDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-acl-'));
    fs.chmodSync(aclDir, 0o755);
    const acl = path.join(aclDir, 'acl');
    fs.writeFileSync(acl, 'topic readwrite #\ntopic deny denied/#\n', { mode: 0o644 });
    // The same goes for its certificate and key (the test CA's own folder is private).
    for (const f of [certs.serverCert, certs.serverKey]) fs.copyFileSync(f, path.join(aclDir, path.basename(f)));
    for (const f of fs.readdirSync(aclDir)) fs.chmodSync(path.join(aclDir, f), 0o644);
    const tls = { cert: path.join(aclDir, path.basename(certs.serverCert)), key: path.join(aclDir, path.basename(certs.serverKey)) };
    mosq = await startMosquitto({ tls, extraConfig: [`acl_file ${acl}`] });
  });
  after(async () => {
    await disposeMosquitto(mosq);
    certs.cleanup();
    fs.rmSync(aclDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  async function peer(version: 3 | 4 | 5 = 5): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { protocolVersion: version, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  function conn(extra: Record<string, unknown>): Record<string, unknown> {
    return { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(mosq.port), protocolVersion: '5', reconnectPeriod: '100', ...extra };
  }

  test('mqtts with a tls-config CA connects and carries messages; without the CA the server is not trusted', async () => {
    const url = `mqtts://localhost:${mosq.tlsPort}`;
    await helper.load([...allNodes, tlsConfigNode], [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'tlsCa', type: 'tls-config', cert: '', key: '', ca: certs.caCert, verifyservercert: true },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'url', url, tls: 'tlsCa', protocolVersion: '5', reconnectPeriod: '100' },
      { id: 'untrusted', type: 'mqtt-hub-connection', serverType: 'url', url, protocolVersion: '5', reconnectPeriod: '100' },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'tls/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'tls/t', qos: '1', wires: [] },
      { id: 'inUntrusted', z: 'f1', type: 'mqtt-hub-in', broker: 'untrusted', topic: 'tls/#', wires: [[]] },
    ]);
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'TLS connection up');
    await waitUntil(async () => {
      helper.getNode('out').receive({ payload: 'secret' });
      await new Promise((r) => setTimeout(r, 30));
      return rx.length > 0;
    }, 5000, 'message over TLS');
    assert.equal(rx[0].payload, 'secret');
    // No TLS settings: a warning, and the test CA's certificate is refused (the server is verified by default).
    await waitUntil(() => logLines().some((l) => l.level === 30 && /tlsWithoutSettings/.test(l.msg)), 5000, 'warning for mqtts without TLS settings');
    const status = await waitForStatus(helper.getNode('inUntrusted'), (s) => s.fill === 'red', 'untrusted server refused');
    assert.equal(status?.shape, 'ring');
    assert.ok(logLines().some((l) => /connectionError/.test(l.msg)), 'the refusal is logged');
  });

  test('a publish the broker refuses is done(err) with the reason code 0x87 [MQTT-3.4.2.1]', async () => {
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      conn({}),
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'denied/x', qos: '1', wires: [] },
      { id: 'ctch', z: 'f1', type: 'catch', scope: ['out'], uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ]);
    const caught = collect(helper.getNode('caught'));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    helper.getNode('out').receive({ payload: 'not allowed' });
    await waitUntil(() => caught.length === 1, 5000, 'refusal caught');
    assert.match(caught[0].error.message, /0x87/);
  });

  test('birth on connect, close before a deliberate disconnect, will when the link is lost, with 5.0 properties', async () => {
    const watcher = await peer();
    const seen: Array<{ topic: string; payload: string; retain: boolean; props?: Record<string, unknown> }> = [];
    watcher.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain, props: packet.properties as Record<string, unknown> }));
    await watcher.subscribeAsync('life/#', { qos: 1, rap: true });
    const lifeConn = conn({
      clientId: 'life-1',
      birthTopic: 'life/status', birthPayload: 'online', birthQos: '1', birthRetain: true, birthContentType: 'text/plain', birthUserProperties: '{"kind":"birth"}',
      closeTopic: 'life/status', closePayload: 'offline-clean', closeQos: '1',
      willTopic: 'life/will', willPayload: 'lost', willQos: '1', willMessageExpiryInterval: '60',
    });
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      lifeConn,
      { id: 'dyn', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: '', inputs: 1, wires: [[]] },
      { id: 'cmpl', z: 'f1', type: 'complete', scope: ['dyn'], uncaught: false, wires: [['completed']] },
      { id: 'completed', z: 'f1', type: 'helper' },
    ]);
    await waitUntil(() => seen.some((m) => m.payload === 'online'), 5000, 'birth');
    const birth = seen.find((m) => m.payload === 'online')!;
    assert.equal(birth.retain, true);
    assert.equal(birth.props?.contentType, 'text/plain');
    assert.deepEqual({ ...(birth.props?.userProperties as object) }, { kind: 'birth' });
    const completed = collect(helper.getNode('completed'));
    helper.getNode('dyn').receive({ action: 'disconnect' });
    await waitUntil(() => completed.length === 1, 5000, 'disconnect done');
    await waitUntil(() => seen.some((m) => m.payload === 'offline-clean'), 5000, 'close message');
    assert.ok(!seen.some((m) => m.topic === 'life/will'), 'no will on a clean disconnect [MQTT-3.1.2-10]');
    await helper.unload();

    // A lost link: another connection takes the client id over, so the broker publishes the will.
    await helper.load(allNodes, [{ id: 'f1', type: 'tab', label: 'test' }, lifeConn, { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'life/none', wires: [[]] }]);
    await waitUntil(() => seen.filter((m) => m.payload === 'online').length === 2, 5000, 'second birth');
    const thief = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { protocolVersion: 5, clientId: 'life-1', reconnectPeriod: 0 });
    clients.push(thief);
    await waitUntil(() => seen.some((m) => m.topic === 'life/will'), 5000, 'will published');
    const will = seen.find((m) => m.topic === 'life/will')!;
    assert.equal(will.payload, 'lost');
    assert.ok(Number(will.props?.messageExpiryInterval) > 0);
    await watcher.publishAsync('life/status', '', { qos: 1, retain: true });
  });

  test('5.0 subscription options: no local skips our own messages, retain handling 2 skips retained ones', async () => {
    const p = await peer();
    await p.publishAsync('opt/kept', 'retained', { qos: 1, retain: true });
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      conn({}),
      { id: 'nl', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'opt/nl', nl: true, datatype: 'utf8', wires: [['rxNl']] },
      { id: 'local', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'opt/local', nl: false, datatype: 'utf8', wires: [['rxLocal']] },
      { id: 'rh2', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'opt/kept', rh: '2', datatype: 'utf8', wires: [['rxRh']] },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: '', qos: '1', wires: [] },
      { id: 'rxNl', z: 'f1', type: 'helper' }, { id: 'rxLocal', z: 'f1', type: 'helper' }, { id: 'rxRh', z: 'f1', type: 'helper' },
    ]);
    const rxNl = collect(helper.getNode('rxNl'));
    const rxLocal = collect(helper.getNode('rxLocal'));
    const rxRh = collect(helper.getNode('rxRh'));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected');
    // Our own publish to the local filter comes back (the control), the one to the no-local filter does not.
    await waitUntil(async () => {
      helper.getNode('out').receive({ topic: 'opt/nl', payload: 'own' });
      helper.getNode('out').receive({ topic: 'opt/local', payload: 'own' });
      await new Promise((r) => setTimeout(r, 30));
      return rxLocal.length > 0;
    }, 5000, 'own message on the local filter');
    await p.publishAsync('opt/nl', 'from-peer', { qos: 1 });
    await p.publishAsync('opt/kept', 'live', { qos: 1 });
    await waitUntil(() => rxNl.length > 0 && rxRh.length > 0, 5000, 'peer messages');
    assert.deepEqual(rxNl.map((m) => m.payload), ['from-peer'], 'no local [MQTT-3.8.3-3]');
    assert.deepEqual(rxRh.map((m) => m.payload), ['live'], 'retain handling 2 sends no retained message');
    await p.publishAsync('opt/kept', '', { qos: 1, retain: true });
  });

  test('MQTT 3.1 (protocol level 3), a port given as ${ENV_VAR} and a host from an env typedInput', async () => {
    process.env.MQTT_HUB_TEST_MOSQUITTO_PORT = String(mosq.port);
    process.env.MQTT_HUB_TEST_HOST = '127.0.0.1';
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      conn({ protocolVersion: '3', host: 'MQTT_HUB_TEST_HOST', hostType: 'env', port: '${MQTT_HUB_TEST_MOSQUITTO_PORT}', clientId: 'v31-client' }),
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'v31/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'v31/t', qos: '2', wires: [] },
      { id: 'rx', z: 'f1', type: 'helper' },
    ]);
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('out'), (s) => s.fill === 'green', 'connected with MQTT 3.1');
    await waitUntil(async () => {
      helper.getNode('out').receive({ payload: 'old protocol' });
      await new Promise((r) => setTimeout(r, 30));
      return rx.length > 0;
    }, 5000, 'round trip');
    assert.equal(rx[0].payload, 'old protocol');
    assert.equal(rx[0].qos, 2);
    assert.equal(rx[0].userProperties, undefined, 'no 5.0 fields under 3.1');
  });
});

describe('broker node with TLS', () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts();
  });
  after(() => certs.cleanup());
  afterEach(() => helper.unload());

  test('listens with the tls-config certificate; a client trusting the CA connects', async () => {
    const port = await freePort();
    await helper.load([...allNodes, tlsConfigNode], [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'srvTls', type: 'tls-config', cert: certs.serverCert, key: certs.serverKey, ca: '', verifyservercert: true },
      { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', port: String(port), usetls: true, tls: 'srvTls', sysInterval: '0', wires: [[]] },
    ]);
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'TLS broker listening');
    const c = await mqtt.connectAsync(`mqtts://localhost:${port}`, { ca: fs.readFileSync(certs.caCert), protocolVersion: 5, reconnectPeriod: 0 });
    const got: string[] = [];
    c.on('message', (_t, p) => got.push(p.toString()));
    await c.subscribeAsync('tls/b');
    await c.publishAsync('tls/b', 'over tls');
    await waitUntil(() => got.length === 1, 5000, 'echo over TLS');
    await c.endAsync();
  });
});
