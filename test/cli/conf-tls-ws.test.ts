// `mqtt-hub broker -c` with TLS and websockets listeners from mosquitto.conf, driven by
// mosquitto_pub/mosquitto_sub and MQTT.js.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { killAll, run, start, until } from '../broker/helpers/processes';
import { tmpConf, removeTmpDirs, startBroker, MAIN } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto clients are not installed';

let certs: TestCerts;
before(() => {
  certs = makeTestCerts('cert-user');
});
after(() => certs.cleanup());
afterEach(async () => {
  await killAll();
  removeTmpDirs();
});

describe('mqtt-hub broker -c: TLS and websockets listeners', { timeout: 60_000, skip }, () => {
  test('a TLS listener: mosquitto_pub --cafile reaches a subscriber on the plain listener; without the CA it fails', async () => {
    const plain = await freePort();
    const secure = await freePort();
    const b = await startBroker(tmpConf(['allow_anonymous true', `listener ${plain} 127.0.0.1`, `listener ${secure} 127.0.0.1`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`]));
    const sub = start('mosquitto_sub', ['-p', String(plain), '-t', 'tls/t', '-C', '1', '-q', '1']);
    await until(() => b.stdout().includes('New client connected'), 10_000, 'the subscriber');
    const ok = await run('mosquitto_pub', ['-p', String(secure), '--cafile', certs.caCert, '-h', '127.0.0.1', '-t', 'tls/t', '-m', 'over-tls', '-q', '1']);
    assert.equal(ok.code, 0, ok.stderr);
    const got = await sub.exited;
    assert.equal(got.stdout.trim(), 'over-tls');
    // The server's certificate comes from a CA the client does not know: the handshake fails.
    const untrusted = await run('mosquitto_pub', ['-p', String(secure), '--cafile', certs.strangerCert, '-h', '127.0.0.1', '-t', 'tls/t', '-m', 'x']);
    assert.notEqual(untrusted.code, 0);
    // Plain MQTT on the TLS port is no MQTT connection.
    const plainOnTls = await run('mosquitto_pub', ['-p', String(secure), '-h', '127.0.0.1', '-t', 'tls/t', '-m', 'x']);
    assert.notEqual(plainOnTls.code, 0);
  });

  test('require_certificate true: without a client certificate refused, with one signed by cafile accepted', async () => {
    const port = await freePort();
    await startBroker(tmpConf([
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `cafile ${certs.caCert}`,
      `certfile ${certs.serverCert}`,
      `keyfile ${certs.serverKey}`,
      'require_certificate true',
    ]));
    const base = ['-p', String(port), '-h', '127.0.0.1', '--cafile', certs.caCert, '-t', 'mtls/t', '-m', 'x', '-q', '1'];
    const without = await run('mosquitto_pub', base);
    assert.notEqual(without.code, 0, 'no client certificate');
    const stranger = await run('mosquitto_pub', [...base, '--cert', certs.strangerCert, '--key', certs.strangerKey]);
    assert.notEqual(stranger.code, 0, 'a certificate of another CA');
    const withCert = await run('mosquitto_pub', [...base, '--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal(withCert.code, 0, withCert.stderr);
  });

  test('use_identity_as_username with allow_anonymous false, a password_file and an acl_file: the certificate CN logs in without a password, the acl_file knows it; a password user on the plain listener needs the password', async () => {
    const plain = await freePort();
    const port = await freePort();
    const conf = tmpConf([
      'per_listener_settings false',
      'allow_anonymous false',
      `listener ${plain} 127.0.0.1`,
      `listener ${port} 127.0.0.1`,
      `cafile ${certs.caCert}`,
      `certfile ${certs.serverCert}`,
      `keyfile ${certs.serverKey}`,
      'require_certificate true',
      'use_identity_as_username true',
    ]);
    const dir = path.dirname(conf);
    const acl = path.join(dir, 'acl');
    fs.writeFileSync(acl, 'user cert-user\ntopic readwrite id/#\n\nuser alice\ntopic read id/#\n');
    const passwd = path.join(dir, 'passwd');
    assert.equal((await run('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'alice-pw'])).code, 0);
    fs.appendFileSync(conf, `acl_file ${acl}\npassword_file ${passwd}\n`);
    await startBroker(conf);
    const base = ['-p', String(port), '-h', '127.0.0.1', '--cafile', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey];
    // alice reads id/# on the plain listener, with her password only
    const aliceSub = ['-p', String(plain), '-h', '127.0.0.1', '-u', 'alice', '-t', 'id/#', '-q', '1', '-i', 'alice-reader', '-c'];
    assert.equal((await run('mosquitto_sub', [...aliceSub, '-P', 'wrong', '-E'])).code, 4, 'a wrong password: bad user name or password');
    assert.equal((await run('mosquitto_sub', ['-p', String(plain), '-h', '127.0.0.1', '-t', 'id/#', '-E'])).code, 5, 'anonymous: not authorised');
    assert.equal((await run('mosquitto_sub', [...aliceSub, '-P', 'alice-pw', '-E'])).code, 0);
    // the certificate client gives no username or password at all
    for (const topic of ['other/t', 'id/t']) {
      const r = await run('mosquitto_pub', [...base, '-t', topic, '-m', topic, '-q', '1']);
      assert.equal(r.code, 0, r.stderr);
    }
    const got = await run('mosquitto_sub', [...aliceSub, '-P', 'alice-pw', '-C', '1', '-W', '10']);
    assert.equal(got.stdout.trim(), 'id/t', 'cert-user may write id/# only');
    // a password does not replace the certificate on the TLS listener
    const noCert = await run('mosquitto_pub', ['-p', String(port), '-h', '127.0.0.1', '--cafile', certs.caCert, '-u', 'alice', '-P', 'alice-pw', '-t', 'id/x', '-m', 'x']);
    assert.notEqual(noCert.code, 0);
  });

  test('websockets and secure websockets listeners serve MQTT.js (ws:// and wss://)', async () => {
    const ws = await freePort();
    const wss = await freePort();
    const b = await startBroker(tmpConf([
      'allow_anonymous true',
      `listener ${ws} 127.0.0.1`,
      'protocol websockets',
      `listener ${wss} 127.0.0.1`,
      'protocol websockets',
      `certfile ${certs.serverCert}`,
      `keyfile ${certs.serverKey}`,
    ]));
    assert.match(b.stdout(), new RegExp(`Opening ipv4 websockets listen socket on 127\\.0\\.0\\.1 port ${ws}\\.`));
    const viaWs = await mqtt.connectAsync(`ws://127.0.0.1:${ws}/mqtt`, { reconnectPeriod: 0 });
    const viaWss = await mqtt.connectAsync(`wss://127.0.0.1:${wss}/mqtt`, { reconnectPeriod: 0, ca: fs.readFileSync(certs.caCert) });
    try {
      await viaWs.subscribeAsync('web/t', { qos: 1 });
      const got = new Promise<string>((resolve) => viaWs.once('message', (_t, p) => resolve(p.toString())));
      await viaWss.publishAsync('web/t', 'wss-to-ws', { qos: 1 });
      assert.equal(await got, 'wss-to-ws');
    } finally {
      await Promise.all([viaWs.endAsync(), viaWss.endAsync()]);
    }
  });

  test('a certfile that cannot be read stops the start with exit 3, naming the file and line', async () => {
    const port = await freePort();
    const conf = tmpConf([`listener ${port} 127.0.0.1`, 'certfile /definitely/not/server.crt', `keyfile ${certs.serverKey}`]);
    const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(`${conf} line 2: unable to read certfile '/definitely/not/server.crt'`), r.stderr);
    assert.doesNotMatch(r.stdout, / running/);
  });
});
