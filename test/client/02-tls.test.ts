// mqtts:// against Mosquitto's TLS listener, with certificates made at test time.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { connect, MqttError } from '../../src/client';
import type { TestCerts } from '../helpers/certs';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { makeReadableTestCerts } from './helpers/certs';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';

let certs: TestCerts;
let mq: MosquittoInstance;
let mqClientCert: MosquittoInstance;
let mqTls13: MosquittoInstance;
const pool = new ClientPool();

before(async () => {
  certs = makeReadableTestCerts();
  mq = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey } });
  // tls_version is the lowest version the listener accepts: this one speaks TLS 1.3 only.
  mqTls13 = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey }, extraConfig: ['tls_version tlsv1.3'] });
  mqClientCert = await startMosquitto({
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireCertificate: true },
  });
});
after(async () => {
  await disposeMosquitto(mq);
  await disposeMosquitto(mqClientCert);
  await disposeMosquitto(mqTls13);
  certs.cleanup();
});
afterEach(() => pool.endAll());

describe('TLS', () => {
  for (const protocolVersion of [4, 5] as const) {
    test(`mqtts with the CA verifies the server and carries QoS 1 traffic (protocol ${protocolVersion})`, async () => {
      const c = await pool.connected(`mqtts://localhost:${mq.tlsPort}`, {
        protocolVersion,
        ca: fs.readFileSync(certs.caCert),
        ALPNProtocols: ['mqtt'],
      });
      const got = collectMessages(c);
      await c.subscribe('tls/t', { qos: 1 });
      await c.publish('tls/t', 'secret', { qos: 1 });
      await waitUntil(() => got.length === 1, 5000, 'message over TLS');
      assert.equal(got[0].payload, 'secret');
    });
  }

  test('an untrusted server certificate fails with a clear TRANSPORT_ERROR (rejectUnauthorized defaults to true)', async () => {
    const c = pool.open(`mqtts://localhost:${mq.tlsPort}`);
    const [err] = await nextEvent(c, 'error');
    assert.equal(err.code, 'TRANSPORT_ERROR');
    assert.match(err.message, /unable to verify the first certificate/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await waitUntil(() => c.state === 'closed', 5000, 'closed');
    assert.equal(c.connack, undefined);
  });

  test('TLS options the TLS layer refuses outright make connect() throw a TRANSPORT_ERROR', () => {
    assert.throws(
      () => connect(`mqtts://localhost:${mq.tlsPort}`, { key: 'not a key', cert: 'not a certificate' }),
      (e: unknown) => e instanceof MqttError && e.code === 'TRANSPORT_ERROR' && /PEM/.test(e.message),
    );
  });

  test('rejectUnauthorized: false connects without the CA', async () => {
    const c = await pool.connected(`mqtts://127.0.0.1:${mq.tlsPort}`, { rejectUnauthorized: false });
    assert.equal(c.state, 'connected');
  });

  test('the servername (SNI) is checked against the certificate', async () => {
    const c = pool.open(`mqtts://127.0.0.1:${mq.tlsPort}`, { ca: fs.readFileSync(certs.caCert), servername: 'not-this-host.example' });
    const [err] = await nextEvent(c, 'error');
    assert.equal(err.code, 'TRANSPORT_ERROR');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const ok = await pool.connected(`mqtts://127.0.0.1:${mq.tlsPort}`, { ca: fs.readFileSync(certs.caCert), servername: 'localhost' });
    assert.equal(ok.state, 'connected');
  });

  test('SNI and ALPN are offered as configured', async (t) => {
    const seen: { servername: string | false; alpn: string | false | null }[] = [];
    const server = tls.createServer({ cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ALPNProtocols: ['mqtt'] }, (socket) => {
      seen.push({ servername: (socket as tls.TLSSocket & { servername: string | false }).servername, alpn: socket.alpnProtocol });
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const c = pool.open(`mqtts://127.0.0.1:${port}`, { ca: fs.readFileSync(certs.caCert), servername: 'localhost', ALPNProtocols: ['mqtt'] });
    c.on('error', () => undefined);
    await waitUntil(() => seen.length === 1, 5000, 'a TLS handshake');
    assert.deepEqual(seen[0], { servername: 'localhost', alpn: 'mqtt' });
  });

  test('a listener that requires a client certificate accepts ours', async () => {
    const c = await pool.connected(`mqtts://localhost:${mqClientCert.tlsPort}`, {
      ca: fs.readFileSync(certs.caCert),
      cert: fs.readFileSync(certs.clientCert),
      key: fs.readFileSync(certs.clientKey),
    });
    assert.equal(await c.publish('tls/cert', 'x', { qos: 1 }).then((a) => a?.type), 'puback');
  });

  test('a listener that requires a client certificate refuses a client without one', async () => {
    const c = pool.open(`mqtts://localhost:${mqClientCert.tlsPort}`, { ca: fs.readFileSync(certs.caCert) });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await waitUntil(() => c.state === 'closed', 5000, 'closed');
    assert.equal(c.connack, undefined);
    assert.ok(errors.length > 0 && errors.every((e) => (e as { code?: string }).code === 'TRANSPORT_ERROR'), errors.map((e) => e.message).join('; '));
  });

  // 127.1 is 127.0.0.1 to the resolver but a name that is not in the certificate (localhost, 127.0.0.1).
  test('checkServerIdentity replaces the host name check, and only that', async () => {
    const ca = fs.readFileSync(certs.caCert);
    const byDefault = pool.open(`mqtts://127.1:${mq.tlsPort}`, { ca });
    const [err] = await nextEvent(byDefault, 'error');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');

    const checked: { host: string; subject: string }[] = [];
    const c = await pool.connected(`mqtts://127.1:${mq.tlsPort}`, {
      ca,
      checkServerIdentity: (host, cert) => {
        checked.push({ host, subject: String(cert.subject.CN) });
        return undefined;
      },
    });
    assert.deepEqual(checked, [{ host: '127.1', subject: 'localhost' }]);
    assert.equal((await c.publish('tls/identity', 'x', { qos: 1 }))?.type, 'puback');

    // The chain is still verified: without the CA the certificate is refused whatever the hook says.
    const untrusted = pool.open(`mqtts://127.1:${mq.tlsPort}`, { checkServerIdentity: () => undefined });
    const [chainErr] = await nextEvent(untrusted, 'error');
    assert.equal((chainErr.cause as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');

    // A hook that answers with an Error refuses a host the default check would accept.
    const refusal = new Error('not the pinned certificate');
    const refused = pool.open(`mqtts://localhost:${mq.tlsPort}`, { ca, checkServerIdentity: () => refusal });
    const [refusedErr] = await nextEvent(refused, 'error');
    assert.equal(refusedErr.code, 'TRANSPORT_ERROR');
    assert.equal(refusedErr.cause, refusal);
  });

  test('minVersion and maxVersion bound the TLS version: a TLS 1.3-only listener refuses maxVersion TLSv1.2', async () => {
    const ca = fs.readFileSync(certs.caCert);
    const tooOld = pool.open(`mqtts://localhost:${mqTls13.tlsPort}`, { ca, maxVersion: 'TLSv1.2' });
    const [err] = await nextEvent(tooOld, 'error');
    assert.equal(err.code, 'TRANSPORT_ERROR');
    // The server's alert 70 "protocol_version" (RFC 8446 section 6.2), which Node reports as EPROTO.
    assert.match(err.message, /alert protocol version/);
    const modern = await pool.connected(`mqtts://localhost:${mqTls13.tlsPort}`, { ca, minVersion: 'TLSv1.3' });
    assert.equal((await modern.publish('tls/v13', 'x', { qos: 1 }))?.type, 'puback');
    // The same bound against a listener that still speaks TLS 1.2 connects: the version was the cause.
    const old = await pool.connected(`mqtts://localhost:${mq.tlsPort}`, { ca, maxVersion: 'TLSv1.2' });
    assert.equal(old.state, 'connected');
  });
});
