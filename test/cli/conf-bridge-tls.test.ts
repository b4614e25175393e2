// `mqtt-hub broker -c` bridging over TLS with the options Mosquitto has for it: bridge_identity and
// bridge_psk to Mosquitto's psk_hint/psk_file listener, bridge_capath, and bridge_tls_version (the
// lowest version accepted) against a TLS 1.2-only front of Mosquitto.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { freePort, waitForPort } from '../helpers/net';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { killAll, run, until } from '../broker/helpers/processes';
import { removeTmpDirs, startBroker, tmpConf, tmpDir } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';
const PSK = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';

let certs: TestCerts;
let mq: MosquittoInstance | undefined;
let pskPort = 0;
before(async () => {
  if (skip) return;
  certs = makeTestCerts('bridge-client');
  const dir = tmpDir();
  const pskFile = path.join(dir, 'psk');
  fs.writeFileSync(pskFile, `edge-7:${PSK}\n`);
  pskPort = await freePort();
  // `user root`: Mosquitto keeps the rights to read the test's private files
  mq = await startMosquitto({
    tls: { cert: certs.serverCert, key: certs.serverKey },
    extraConfig: ['user root', `listener ${pskPort} 127.0.0.1`, 'psk_hint mqtt-hub-tests', `psk_file ${pskFile}`],
  });
  await waitForPort(pskPort);
});
after(async () => {
  if (mq) await disposeMosquitto(mq);
  certs?.cleanup();
  removeTmpDirs();
});
afterEach(() => killAll());

/** Publishes locally until Mosquitto's subscriber (started first) gets one message; returns its line. */
async function crossesOut(localPort: number, remotePort: number, topic: string): Promise<string> {
  const sub = run('mosquitto_sub', ['-p', String(remotePort), '-t', `${topic}/#`, '-C', '1', '-v', '-W', '15'], 20_000);
  await new Promise((r) => setTimeout(r, 300)); // the subscriber's SUBSCRIBE first
  const pub = await run('mosquitto_pub', ['-p', String(localPort), '-t', `${topic}/x`, '-m', 'across', '-q', '1']);
  assert.equal(pub.code, 0, pub.stderr);
  const got = await sub;
  return got.stdout.trim();
}

describe('mqtt-hub broker -c: bridges over TLS-PSK, bridge_capath, bridge_tls_version', { timeout: 60_000, skip }, () => {
  test("bridge_identity and bridge_psk: TLS-PSK to Mosquitto's psk_hint/psk_file listener; a wrong key never connects", async () => {
    const remote = mq as MosquittoInstance;
    const port = await freePort();
    const b = await startBroker(tmpConf([
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection psk-up',
      `address 127.0.0.1:${pskPort}`,
      'bridge_identity edge-7',
      `bridge_psk ${PSK}`,
      'topic psk/# out 1',
      'restart_timeout 1',
    ]));
    await until(() => b.stdout().includes(`Bridge psk-up connected to 127.0.0.1:${pskPort}.`), 15_000, 'the PSK bridge to connect');
    assert.equal(await crossesOut(port, remote.port, 'psk'), 'psk/x across');

    const other = await freePort();
    const wrong = await startBroker(tmpConf([
      `listener ${other} 127.0.0.1`,
      'connection psk-wrong',
      `address 127.0.0.1:${pskPort}`,
      'bridge_identity edge-7',
      'bridge_psk 00112233',
      'topic psk/# out 1',
      'restart_timeout 1',
    ]));
    await until(() => /Warning: bridge psk-wrong: .*(alert|handshake|decrypt|ECONNRESET|socket)/i.test(wrong.stderr()), 15_000, 'the handshake failure to be reported');
    assert.doesNotMatch(wrong.stdout(), /Bridge psk-wrong connected/);
  });

  test('bridge_capath: the CA of a directory verifies the remote certificate; a directory without it does not', async () => {
    const remote = mq as MosquittoInstance;
    const caDir = tmpDir();
    fs.copyFileSync(certs.caCert, path.join(caDir, 'test-ca.crt'));
    const port = await freePort();
    const b = await startBroker(tmpConf([
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection capath-up',
      `address 127.0.0.1:${remote.tlsPort}`,
      `bridge_capath ${caDir}`,
      'topic capath/# out 1',
      'restart_timeout 1',
    ]));
    await until(() => b.stdout().includes(`Bridge capath-up connected to 127.0.0.1:${remote.tlsPort}.`), 15_000, 'the bridge to connect');
    assert.equal(await crossesOut(port, remote.port, 'capath'), 'capath/x across');

    const strangers = tmpDir();
    fs.copyFileSync(certs.strangerCert, path.join(strangers, 'stranger.crt'));
    const other = await freePort();
    const refused = await startBroker(tmpConf([
      `listener ${other} 127.0.0.1`,
      'connection capath-wrong',
      `address 127.0.0.1:${remote.tlsPort}`,
      `bridge_capath ${strangers}`,
      'topic capath/# out 1',
      'restart_timeout 1',
    ]));
    await until(() => /Warning: bridge capath-wrong: .*certificate/i.test(refused.stderr()), 15_000, 'the certificate error');
  });

  test('bridge_tls_version tlsv1.3 refuses a remote that speaks TLS 1.2 at most; tlsv1.2 connects to it', async () => {
    const remote = mq as MosquittoInstance;
    // a TLS 1.2-only front that hands the plain bytes to Mosquitto's plain listener
    const front = tls.createServer({ cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), maxVersion: 'TLSv1.2' }, (socket) => {
      const upstream = net.connect(remote.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
    const frontPort = (front.address() as net.AddressInfo).port;
    try {
      const section = (name: string, version: string) => [
        `connection ${name}`,
        `address 127.0.0.1:${frontPort}`,
        `bridge_cafile ${certs.caCert}`,
        `bridge_tls_version ${version}`,
        `topic ${name}/# out 1`,
        'restart_timeout 1',
      ];
      const port = await freePort();
      const b = await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...section('tls13', 'tlsv1.3'), ...section('tls12', 'tlsv1.2')]));
      await until(() => b.stdout().includes(`Bridge tls12 connected to 127.0.0.1:${frontPort}.`), 15_000, 'the TLS 1.2 bridge to connect');
      await until(() => /Warning: bridge tls13: .*(version|alert|handshake)/i.test(b.stderr()), 15_000, 'the TLS 1.3 bridge to fail its handshake');
      assert.doesNotMatch(b.stdout(), /Bridge tls13 connected/);
      assert.equal(await crossesOut(port, remote.port, 'tls12'), 'tls12/x across');
    } finally {
      front.close();
    }
  });
});
