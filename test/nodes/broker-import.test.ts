// The broker form's "Import mosquitto.conf": the admin endpoint in a real Node-RED with adminAuth reads
// a realistic file (a password_file made by the real mosquitto_passwd, an acl_file, a bridge, more
// listeners than the node has) into the form's values and lists what it does not import with the line;
// a file with errors is refused with its lines. Then the imported users log in with their passwords,
// checked against the Mosquitto hashes kept as the node's credentials.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { freePort } from '../helpers/net';
import { helper, allNodes, trackStatuses, waitForStatus } from './harness';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

trackStatuses();

const skip = mosquittoAvailable() ? false : 'mosquitto (and mosquitto_passwd) is not installed (.ci/run installs it)';

interface Diagnostic {
  file: string;
  line: number;
  message: string;
}
interface ImportAnswer {
  ok: boolean;
  form: Record<string, any>;
  warnings: Diagnostic[];
  errors?: Diagnostic[];
}

/** A gateway's configuration directory: mosquitto.conf, a password_file from mosquitto_passwd, an acl_file. */
function gatewayFiles(): { dir: string; conf: string; hashes: Record<string, string>; acl: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-import-'));
  const passwd = path.join(dir, 'passwd');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'alice-secret']);
  execFileSync('mosquitto_passwd', ['-b', passwd, 'bob', 'bob-secret']);
  const hashes = Object.fromEntries(
    fs
      .readFileSync(passwd, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
  const acl = 'user alice\ntopic readwrite plant/#\n\nuser bob\ntopic read plant/#\npattern write devices/%c/status\n';
  fs.writeFileSync(path.join(dir, 'acl'), acl);
  const conf = [
    '# gateway broker', //                                  1
    'per_listener_settings false', //                       2
    'listener 1884 0.0.0.0', //                             3
    'listener 8884', //                                     4
    'listener 9002', //                                     5
    'protocol websockets', //                               6
    'allow_anonymous false', //                             7
    `password_file ${passwd}`, //                           8
    `acl_file ${path.join(dir, 'acl')}`, //                 9
    'max_connections 200', //                               10
    'message_size_limit 262144', //                         11
    'max_queued_messages 5000', //                          12
    'max_inflight_messages 40', //                          13
    'sys_interval 60', //                                   14
    'max_keepalive 300', //                                 15
    'persistence true', //                                  16
    `persistence_location ${dir}/data/`, //                 17
    'log_type all', //                                      18
    'connection cloud', //                                  19
    'address broker.example.com:8883', //                   20
    `bridge_cafile ${path.join(dir, 'ca.crt')}`, //         21
    'remote_username gw-7', //                              22
    'remote_password gw-7-secret', //                       23
    'remote_clientid gateway-7', //                         24
    'bridge_protocol_version mqttv50', //                   25
    'cleansession true', //                                 26
    'keepalive_interval 45', //                             27
    'notification_topic gw/7/bridge', //                    28
    'restart_timeout 5 60', //                              29
    'try_private false', //                                 30
    'round_robin true', //                                  31
    'topic plant/# out 1 "" site7/', //                     32
    'topic cmd/7/# in 2', //                                33
    '',
  ].join('\n');
  return { dir, conf, hashes, acl };
}

describe('Import mosquitto.conf: the admin endpoint', { skip }, () => {
  let red: NodeRedProcess;
  let admin: string;
  let viewer: string;
  let files: ReturnType<typeof gatewayFiles>;

  before(async () => {
    files = gatewayFiles();
    red = await startNodeRed({
      flows: [{ id: 'f1', type: 'tab', label: 'import' }],
      users: [
        { username: 'admin', password: 'admin-pw', permissions: '*' },
        { username: 'viewer', password: 'viewer-pw', permissions: 'read' },
      ],
    });
    admin = await red.login('admin', 'admin-pw');
    viewer = await red.login('viewer', 'viewer-pw', 'read');
  });
  after(async () => {
    await red?.stop();
    if (files) fs.rmSync(files.dir, { recursive: true, force: true });
  });

  async function post(body: unknown, token: string | null = admin): Promise<{ status: number; answer: ImportAnswer }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${red.baseUrl}mqtt-hub/broker-import`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, answer: (await res.json().catch(() => ({}))) as ImportAnswer };
  }

  test('it needs mqtt-hub.write: nobody logged in and the read-only user get 401', async () => {
    assert.equal((await post({ text: files.conf }, null)).status, 401);
    assert.equal((await post({ text: files.conf }, viewer)).status, 401);
  });

  test('a gateway mosquitto.conf becomes the form: listeners, security with the $7$ hashes and the ACL, limits, persistence, the bridge', async () => {
    const { status, answer } = await post({ text: files.conf, file: 'mosquitto.conf' });
    assert.equal(status, 200);
    assert.equal(answer.ok, true);
    const f = answer.form;
    assert.deepEqual(
      { bind: f.bind, port: f.port, wsPort: f.wsPort, usetls: f.usetls, allowAnonymous: f.allowAnonymous },
      { bind: 'all', port: '1884', wsPort: '9002', usetls: false, allowAnonymous: false },
    );
    assert.deepEqual(f.users, [
      { username: 'alice', hash: files.hashes.alice },
      { username: 'bob', hash: files.hashes.bob },
    ]);
    assert.match(files.hashes.alice, /^\$7\$/, 'mosquitto_passwd wrote a $7$ hash');
    assert.equal(f.acl, files.acl);
    assert.deepEqual(
      [f.maxConnections, f.messageSizeLimit, f.maxQueuedMessages, f.maxInflightMessages, f.sysInterval, f.maxPacketSize, f.persistence, f.persistenceDir],
      ['200', '262144', '5000', '40', '60', '0', true, `${files.dir}/data/`],
    );
    assert.deepEqual(f.bridges, [
      {
        name: 'cloud',
        address: 'broker.example.com:8883',
        remoteClientId: 'gateway-7',
        protocolVersion: 'mqttv50',
        topics: 'plant/# out 1 "" site7/\ncmd/7/# in 2',
        username: 'gw-7',
        password: 'gw-7-secret',
        localClientId: '',
        localUsername: '',
        cleanSession: true,
        keepalive: '45',
        restartTimeout: '5 60',
        tryPrivate: false,
        notifications: true,
        notificationTopic: 'gw/7/bridge',
      },
    ]);
    // What the node cannot hold, each with the line that set it.
    const warnings = answer.warnings.map((w) => [w.line, w.message]);
    const expected: Array<[number, RegExp]> = [
      [4, /listener on port 8884 is not imported: the node has one MQTT port and one WebSocket port/],
      [15, /'max_keepalive' is not imported/],
      [18, /'log_type' is not imported/],
      [21, new RegExp(`bridge cloud: TLS to the remote broker: make a TLS configuration node with the CA certificate ${files.dir}/ca\\.crt`)],
      [31, /bridge cloud: option 'round_robin' is not imported/],
    ];
    assert.equal(warnings.length, expected.length, JSON.stringify(warnings, null, 1));
    expected.forEach(([line, re], i) => {
      assert.equal(warnings[i][0], line, JSON.stringify(warnings[i]));
      assert.match(String(warnings[i][1]), re);
    });
    assert.ok(answer.warnings.every((w) => w.file === 'mosquitto.conf'));
  });

  test('a TLS listener is named with its certificate paths; a second MQTT listener and an unknown option are listed', async () => {
    const text = ['port 8883', 'certfile /etc/mosquitto/certs/server.crt', 'keyfile /etc/mosquitto/certs/server.key', 'listener 1883 127.0.0.1', 'frobnicate 1', ''].join('\n');
    const { status, answer } = await post({ text });
    assert.equal(status, 200);
    assert.deepEqual([answer.form.port, answer.form.usetls, answer.form.bind, answer.form.allowAnonymous], ['8883', true, 'all', false]);
    const lines = answer.warnings.map((w) => `${w.line}: ${w.message}`);
    assert.match(lines[0], /^1: listener on port 8883 uses TLS: make a TLS configuration node with the certificate \/etc\/mosquitto\/certs\/server\.crt, private key \/etc\/mosquitto\/certs\/server\.key/);
    assert.match(lines[0], /not readable on the Node-RED host/);
    assert.match(lines[1], /^4: listener on port 1883 is not imported/);
    assert.match(lines[2], /^5: option 'frobnicate' is not supported yet and is ignored/);
    assert.equal(lines.length, 3);
  });

  test("per_listener_settings true: the MQTT listener's security options are imported, the WebSocket listener's own are named", async () => {
    const passwd = path.join(files.dir, 'passwd');
    const text = ['per_listener_settings true', 'listener 1885', 'allow_anonymous false', `password_file ${passwd}`, 'listener 9003', 'protocol websockets', 'allow_anonymous true', ''].join('\n');
    const { status, answer } = await post({ text });
    assert.equal(status, 200);
    assert.deepEqual([answer.form.port, answer.form.wsPort, answer.form.allowAnonymous], ['1885', '9003', false]);
    assert.deepEqual(answer.form.users.map((u: { username: string }) => u.username), ['alice', 'bob']);
    assert.deepEqual(answer.warnings.map((w) => w.line), [5]);
    assert.match(answer.warnings[0].message, /WebSocket listener's own security options \(per_listener_settings true\) are not imported/);
  });

  test('bridge options without a field in the form are each named with their line; start_type automatic is what the node does', async () => {
    const text = ['listener 1883', 'connection a', 'address h:1', 'topic x/# out', 'start_type automatic', 'connection b', 'address h:2', 'topic y/# out', 'start_type lazy', 'idle_timeout 30', 'bridge_bind_address 127.0.0.1', ''].join('\n');
    const { answer } = await post({ text });
    assert.equal(answer.ok, true);
    assert.deepEqual(answer.warnings.map((w) => [w.line, w.message.startsWith('bridge b')]), [
      [9, true],
      [10, true],
      [11, true],
    ]);
  });

  test('files the Node-RED host cannot read: a warning naming each, the rest imported', async () => {
    const text = ['listener 1883', 'password_file /nonexistent/passwd', 'acl_file /nonexistent/acl', ''].join('\n');
    const { status, answer } = await post({ text });
    assert.equal(status, 200);
    assert.deepEqual(answer.form.users, []);
    assert.equal(answer.form.allowAnonymous, false, 'a password_file turns anonymous access off, as in Mosquitto 2');
    assert.deepEqual(
      answer.warnings.map((w) => [w.line, /cannot be read on the Node-RED host/.test(w.message), w.message.includes('/nonexistent/')]),
      [
        [2, true, true],
        [3, true, true],
      ],
    );
  });

  test('errors are answered with their lines (ok: false), nothing of the form comes back; a request without text is a 400', async () => {
    const text = ['listener 1883', 'max_connections lots', 'foo 1', 'capath /etc/ssl/certs', 'connection b', 'topic x/# sideways', ''].join('\n');
    const { status, answer } = await post({ text, file: 'gw.conf' });
    assert.equal(status, 200);
    assert.equal(answer.ok, false);
    assert.equal(answer.form, undefined);
    assert.deepEqual(
      answer.errors!.map((e) => [e.file, e.line]),
      [
        ['gw.conf', 2],
        ['gw.conf', 4],
        ['gw.conf', 5],
        ['gw.conf', 6],
      ],
    );
    assert.match(answer.errors![0].message, /invalid value 'lots' for 'max_connections'/);
    assert.match(answer.errors![1].message, /security option 'capath' is not supported/);
    assert.match(answer.errors![2].message, /bridge b: no address/);
    assert.match(answer.errors![3].message, /invalid direction 'sideways'/);
    assert.deepEqual(answer.warnings.map((w) => w.line), [3]);
    assert.equal((await post({ nothing: true })).status, 400);
  });
});

describe('users imported with their Mosquitto hashes', { skip }, () => {
  let dir: string;
  const clients: mqtt.MqttClient[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-hash-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload();
  });

  function hashOf(user: string, password: string): string {
    const file = path.join(dir, `pw-${user}`);
    execFileSync('mosquitto_passwd', ['-c', '-b', file, user, password]);
    const line = fs.readFileSync(file, 'utf8').trim();
    return line.slice(line.indexOf(':') + 1);
  }

  test('a user kept as a $7$ hash logs in with the password; a wrong one gets CONNACK 0x86; a typed-password user still works', async () => {
    const port = await freePort();
    await helper.load(
      allNodes,
      [
        { id: 'f1', type: 'tab', label: 'test' },
        { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', bind: 'loopback', port: String(port), sysInterval: '0', allowAnonymous: false, brokerUsers: [{ username: 'alice' }, { username: 'carol' }], wires: [[]] },
      ],
      { broker: { passwords: JSON.stringify({ alice: { hash: hashOf('alice', 'alice-secret') }, carol: 'carol-typed' }) } },
    );
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'green', 'listening');
    const url = `mqtt://127.0.0.1:${port}`;
    const ok = await mqtt.connectAsync(url, { username: 'alice', password: 'alice-secret', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(ok);
    assert.equal(ok.connected, true);
    await assert.rejects(mqtt.connectAsync(url, { username: 'alice', password: 'wrong', protocolVersion: 5, reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 0x86);
    // The hash is no password: sending it as one is refused.
    await assert.rejects(mqtt.connectAsync(url, { username: 'alice', password: hashOf('x', 'y'), protocolVersion: 5, reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 0x86);
    const carol = await mqtt.connectAsync(url, { username: 'carol', password: 'carol-typed', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(carol);
    assert.equal(carol.connected, true);
  });

  test('a stored hash that is not $7$ or $6$: red status, the broker does not start', async () => {
    const port = await freePort();
    await helper.load(
      allNodes,
      [
        { id: 'f1', type: 'tab', label: 'test' },
        { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', bind: 'loopback', port: String(port), sysInterval: '0', allowAnonymous: false, brokerUsers: [{ username: 'alice' }], wires: [[]] },
      ],
      { broker: { passwords: JSON.stringify({ alice: { hash: '$1$not-mosquitto' } }) } },
    );
    await waitForStatus(helper.getNode('broker'), (s) => s.fill === 'red', 'bad settings');
  });
});
