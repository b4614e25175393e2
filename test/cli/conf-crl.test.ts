// `mqtt-hub broker -c` with `crlfile` (a CRL made by `openssl ca`): a revoked client certificate is
// refused, a good one from the same intermediate CA accepted, though only the intermediate has a CRL
// (Mosquitto checks the client certificate against its issuer's CRL only); a certificate revoked later
// is refused after SIGHUP; and `use_identity_as_username` without `require_certificate` starts and lets
// in only clients with a verified, unrevoked certificate; `use_subject_as_username` gives the ACL the
// subject as Mosquitto spells it (checked against a real Mosquitto with the same ACL). Clients are the
// real mosquitto_pub.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitUntil } from '../helpers/net';
import { disposeMosquitto, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto';
import { issueCert, makeCrl, makeTestCerts, type IssuedCert, type TestCerts } from '../helpers/certs';
import { killAll, run, type Running } from '../broker/helpers/processes';
import { MAIN, removeTmpDirs, startBroker, tmpConf } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let certs: TestCerts;
let intermediate: IssuedCert;
let good: IssuedCert;
let revoked: IssuedCert;
let later: IssuedCert;
let subject: IssuedCert;
let caFile: string;
let crl: string;

before(() => {
  if (skip) return;
  certs = makeTestCerts();
  intermediate = issueCert(certs, 'intermediate', 'mqtt-hub test intermediate CA', { ca: true });
  good = issueCert(certs, 'good', 'good-device', { issuer: intermediate });
  revoked = issueCert(certs, 'revoked', 'revoked-device', { issuer: intermediate });
  later = issueCert(certs, 'later', 'later-device', { issuer: intermediate });
  subject = issueCert(certs, 'subject', 'subject-device/O=Plant, Inc./C=GB');
  caFile = path.join(certs.dir, 'chain-ca.crt');
  fs.writeFileSync(caFile, Buffer.concat([fs.readFileSync(certs.caCert), fs.readFileSync(intermediate.cert)]));
  crl = makeCrl(certs, [revoked.cert], intermediate);
});
after(async () => {
  await killAll();
  removeTmpDirs();
  certs?.cleanup();
});

/** mosquitto_pub over TLS with this client certificate (or none); its exit code and stderr. */
async function pub(port: number, cert: IssuedCert | undefined, extra: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const tls = ['--cafile', certs.caCert, ...(cert ? ['--cert', cert.cert, '--key', cert.key] : [])];
  const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...tls, '-t', 'crl/t', '-m', 'x', '-q', '1', ...extra], 15_000);
  return { code: r.code, stderr: r.stderr };
}

describe('mqtt-hub broker -c: crlfile, use_identity_as_username, use_subject_as_username', { timeout: 90_000, skip }, () => {
  test('crlfile: a revoked certificate is refused, a good one accepted; one revoked later is refused after SIGHUP', async () => {
    const port = await freePort();
    const conf = tmpConf([`listener ${port} 127.0.0.1`, `cafile ${caFile}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, 'require_certificate true', `crlfile ${crl}`, 'allow_anonymous true']);
    const b: Running = await startBroker(conf);
    assert.equal((await pub(port, good)).code, 0);
    assert.equal((await pub(port, later)).code, 0);
    assert.notEqual((await pub(port, revoked)).code, 0);
    assert.notEqual((await pub(port, undefined)).code, 0, 'no certificate at all');

    makeCrl(certs, [later.cert], intermediate); // the same file, now revoking `later` too
    const before = b.stdout().split('Reloading config.').length;
    b.child.kill('SIGHUP');
    await waitUntil(() => b.stdout().split('Reloading config.').length > before, 10_000, 'the reload');
    await waitUntil(async () => (await pub(port, later)).code !== 0, 10_000, 'the new CRL to refuse `later`');
    assert.equal((await pub(port, good)).code, 0, 'a good certificate still gets in');
    assert.equal(b.child.exitCode, null);
  });

  test('use_identity_as_username without require_certificate: starts; without a certificate refused (4), with one in as its CN', async () => {
    const port = await freePort();
    const acl = tmpConf(['user good-device', 'topic write crl/#']);
    const conf = tmpConf([
      `listener ${port} 127.0.0.1`, `cafile ${caFile}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`,
      'use_identity_as_username true', `crlfile ${crl}`, `acl_file ${acl}`,
    ]);
    const b = await startBroker(conf);
    const none = await pub(port, undefined);
    assert.equal(none.code, 4, none.stderr); // CONNACK 4, Bad user name or password, as Mosquitto
    assert.equal((await pub(port, good)).code, 0);
    assert.equal((await pub(port, revoked)).code, 4, 'a revoked certificate counts as none');
    // 5.0: the CN is the username the ACL sees: good-device may not write elsewhere
    const denied = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', certs.caCert, '--cert', good.cert, '--key', good.key, '-t', 'other/t', '-m', 'x', '-q', '1', '-V', '5'], 15_000);
    assert.match(denied.stderr, /Not authorized/);
    assert.equal(b.child.exitCode, null);
  });

  test('use_subject_as_username: the ACL sees the subject in RFC 2253 form, as a real Mosquitto does', async () => {
    const acl = tmpConf(['user C=GB,O=Plant\\, Inc.,CN=subject-device', 'topic write crl/#']);
    const mosquitto = await startMosquitto({
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireCertificate: true },
      extraConfig: ['use_subject_as_username true', `acl_file ${acl}`],
    });
    try {
      const port = await freePort();
      const conf = tmpConf([`listener ${port} 127.0.0.1`, `cafile ${certs.caCert}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, 'require_certificate true', 'use_subject_as_username true', `acl_file ${acl}`]);
      await startBroker(conf);
      for (const [name, p] of [['mosquitto', mosquitto.tlsPort!], ['mqtt-hub', port]] as const) {
        const allowed = await pub(p, subject, ['-V', '5']);
        assert.equal(allowed.code, 0, `${name}: ${allowed.stderr}`);
        const denied = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(p), '--cafile', certs.caCert, '--cert', subject.cert, '--key', subject.key, '-t', 'other/t', '-m', 'x', '-q', '1', '-V', '5'], 15_000);
        assert.match(denied.stderr, /Not authorized/, name);
      }
    } finally {
      await disposeMosquitto(mosquitto);
    }
  });

  test('a crlfile that is not a CRL, or signed by no CA of the cafile, stops the start with exit 3 and its line', async () => {
    for (const [file, why] of [
      [certs.serverCert, /crlfile: no "X509 CRL" PEM block/],
      [makeCrl(certs, []), /crlfile: the CRL is issued by no CA of the cafile/],
    ] as const) {
      const port = await freePort();
      const conf = tmpConf([`listener ${port} 127.0.0.1`, `cafile ${intermediate.cert}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, 'require_certificate true', `crlfile ${file}`]);
      const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /line 2: listener on port/);
    }
  });
});
