// The "Test connection" endpoint of the mqtt-hub-connection form, over HTTP against a running
// Node-RED: every outcome loopback can produce, against the broker node with users, a TLS broker
// node and Mosquitto with a password file.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort } from '../helpers/net';
import { startNodeRed, type NodeRedProcess } from './node-red-process';

interface TestResult {
  ok: boolean;
  outcome: string;
  message: string;
  reasonCode?: number;
  detail?: string;
}

describe('POST /mqtt-hub/test-connection', () => {
  let red: NodeRedProcess;
  let certs: TestCerts;
  let mosquitto: MosquittoInstance | undefined;
  let silent: net.Server;
  let silentPort: number;
  const silentSockets = new Set<net.Socket>();
  let port: number;
  let tlsPort: number;

  before(async () => {
    certs = makeTestCerts();
    // A server certificate from the trusted CA, but for another host name than the one dialled.
    const dir = certs.dir;
    fs.writeFileSync(path.join(dir, 'other.ext'), 'subjectAltName=DNS:mqtt.example\nextendedKeyUsage=serverAuth\n');
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=mqtt.example'], { cwd: dir, stdio: 'pipe' });
    execFileSync('openssl', ['x509', '-req', '-in', 'other.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'other.crt', '-days', '2', '-extfile', 'other.ext'], { cwd: dir, stdio: 'pipe' });
    port = await freePort();
    tlsPort = await freePort();
    // Accepts TCP and never answers: the client's connect timeout must fire.
    silent = net.createServer((socket) => silentSockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as net.AddressInfo).port;
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'tester' },
        { id: 'users', z: 'f1', type: 'mqtt-hub-broker', x: 100, y: 40, name: 'users', bind: 'loopback', port: String(port), sysInterval: '0', allowAnonymous: false, brokerUsers: [{ username: 'alice' }], wires: [[]] },
        { id: 'srvTls', type: 'tls-config', cert: path.join(dir, 'other.crt'), key: path.join(dir, 'other.key'), ca: '', verifyservercert: false },
        { id: 'tls', z: 'f1', type: 'mqtt-hub-broker', x: 100, y: 80, name: 'tls', bind: 'loopback', port: String(tlsPort), sysInterval: '0', usetls: true, tls: 'srvTls', wires: [[]] },
        { id: 'cliTls', type: 'tls-config', cert: '', key: '', ca: certs.caCert, verifyservercert: true },
        { id: 'saved', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', autoConnect: false },
      ],
      credentials: { users: { passwords: JSON.stringify({ alice: 'secret' }) }, saved: { user: 'alice', password: 'secret' } },
    });
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${port}`));
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${tlsPort}`));
    if (mosquittoAvailable()) {
      fs.writeFileSync(path.join(dir, 'passwords'), '');
      execFileSync('mosquitto_passwd', ['-b', path.join(dir, 'passwords'), 'bob', 'hunter2'], { stdio: 'pipe' });
      mosquitto = await startMosquitto({ extraConfig: ['allow_anonymous false', `password_file ${path.join(dir, 'passwords')}`] });
    }
  });

  after(async () => {
    await red?.stop();
    if (mosquitto) await disposeMosquitto(mosquitto);
    for (const socket of silentSockets) socket.destroy();
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
    certs?.cleanup();
  });

  async function tryConnect(body: Record<string, unknown>): Promise<TestResult> {
    const res = await fetch(`${red.baseUrl}mqtt-hub/test-connection`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serverType: 'host', host: '127.0.0.1', protocolVersion: '5', ...body }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as TestResult;
  }

  test('connected, with the credentials as typed', async () => {
    const r = await tryConnect({ port: String(port), user: 'alice', password: 'secret' });
    assert.equal(r.outcome, 'connected');
    assert.equal(r.ok, true);
    assert.equal(r.reasonCode, 0);
    assert.match(r.message, /^Connected: mqtt:\/\/127\.0\.0\.1:\d+ accepted the connection\.$/);
  });

  test('wrong username or password, with the CONNACK reason code (5.0 and 3.1.1)', async () => {
    const v5 = await tryConnect({ port: String(port), user: 'alice', password: 'wrong' });
    assert.deepEqual([v5.ok, v5.outcome, v5.reasonCode], [false, 'badCredentials', 0x86]);
    assert.equal(v5.message, 'Wrong username or password (reason code 0x86).');
    const v4 = await tryConnect({ port: String(port), protocolVersion: '4', user: 'mallory', password: 'secret' });
    assert.deepEqual([v4.outcome, v4.reasonCode], ['badCredentials', 4]);
    assert.equal(v4.message, 'Wrong username or password (reason code 0x04).');
  });

  test('not authorized: no username where the broker wants one', async () => {
    const r = await tryConnect({ port: String(port) });
    assert.deepEqual([r.ok, r.outcome, r.reasonCode], [false, 'notAuthorized', 0x87]);
    assert.match(r.message, /does not accept clients without a username \(reason code 0x87\)/);
  });

  test('a deployed node shows __PWRD__ for its password: the stored one is used, a newly typed one replaces it', async () => {
    const stored = await tryConnect({ id: 'saved', port: String(port), user: 'alice', password: '__PWRD__' });
    assert.equal(stored.outcome, 'connected');
    const typed = await tryConnect({ id: 'saved', port: String(port), user: 'alice', password: 'not-saved-yet' });
    assert.equal(typed.outcome, 'badCredentials');
  });

  test('"the broker node in this Node-RED" is dialled where it listens', async () => {
    const r = await tryConnect({ serverType: 'broker-node', brokerNode: 'users', user: 'alice', password: 'secret' });
    assert.equal(r.outcome, 'connected');
    assert.match(r.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test('connection refused, when nothing listens', async () => {
    const r = await tryConnect({ port: String(await freePort()) });
    assert.deepEqual([r.ok, r.outcome], [false, 'connectionRefused']);
    assert.equal(r.message, 'Connection refused: nothing listens on that host and port.');
    assert.match(r.detail ?? '', /ECONNREFUSED/);
  });

  test('timed out, when the server accepts TCP and never answers', async () => {
    const r = await tryConnect({ port: String(silentPort), connectTimeout: '1000' });
    assert.deepEqual([r.ok, r.outcome], [false, 'timeout']);
    assert.equal(r.message, 'Timed out: no answer from the server within 1 s.');
  });

  test('TLS: a certificate from an unknown CA is not trusted', async () => {
    const r = await tryConnect({ port: String(tlsPort), usetls: true });
    assert.deepEqual([r.ok, r.outcome], [false, 'tlsUntrusted']);
    assert.match(r.message, /TLS certificate is not trusted/);
  });

  test('TLS: a trusted certificate for another host name', async () => {
    const r = await tryConnect({ port: String(tlsPort), usetls: true, tls: 'cliTls' });
    assert.deepEqual([r.ok, r.outcome], [false, 'tlsHostname']);
    assert.match(r.message, /another host name/);
  });

  test('an unknown host name', async () => {
    const r = await tryConnect({ host: 'no-such-host.invalid', port: '1883' });
    assert.deepEqual([r.ok, r.outcome], [false, 'hostNotFound']);
  });

  test('settings that cannot be used say which', async () => {
    const r = await tryConnect({ serverType: 'url', url: 'http://example.com' });
    assert.equal(r.outcome, 'badSettings');
    assert.match(r.message, /not an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/);
  });

  test('Mosquitto with a password file: accepted, and a wrong password refused as not authorized (0x87 / 5)', { skip: !mosquittoAvailable() && 'mosquitto is not installed' }, async () => {
    const ok = await tryConnect({ port: String(mosquitto!.port), user: 'bob', password: 'hunter2' });
    assert.equal(ok.outcome, 'connected');
    const v5 = await tryConnect({ port: String(mosquitto!.port), user: 'bob', password: 'nope' });
    assert.deepEqual([v5.outcome, v5.reasonCode], ['notAuthorized', 0x87]);
    assert.match(v5.message, /^Not authorized: the server refused this user \(reason code 0x87\)/);
    const v4 = await tryConnect({ port: String(mosquitto!.port), protocolVersion: '4', user: 'bob', password: 'nope' });
    assert.deepEqual([v4.outcome, v4.reasonCode], ['notAuthorized', 5]);
  });
});
