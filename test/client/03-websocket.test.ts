// ws:// and wss:// through a WebSocket-to-TCP relay in front of Mosquitto (MQTT over WebSocket,
// section 6 of both standards).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { TestCerts } from '../helpers/certs';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { makeReadableTestCerts } from './helpers/certs';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';
import { startWsRelay, WsRelay } from './helpers/ws-relay';
import { packetsInFrame } from '../broker/helpers/ws-frames';

let certs: TestCerts;
let mq: MosquittoInstance;
let relay: WsRelay;
let customPathRelay: WsRelay;
let secureRelay: WsRelay;
let coalescingRelay: WsRelay;
const pool = new ClientPool();

before(async () => {
  certs = makeReadableTestCerts();
  mq = await startMosquitto();
  relay = await startWsRelay({ targetPort: mq.port });
  customPathRelay = await startWsRelay({ targetPort: mq.port, path: '/custom/mqtt' });
  secureRelay = await startWsRelay({ targetPort: mq.port, tls: { cert: certs.serverCert, key: certs.serverKey } });
  coalescingRelay = await startWsRelay({ targetPort: mq.port, coalesceMs: 30 });
});
after(async () => {
  await relay.close();
  await customPathRelay.close();
  await secureRelay.close();
  await coalescingRelay.close();
  await disposeMosquitto(mq);
  certs.cleanup();
});
afterEach(() => pool.endAll());

async function roundTrip(url: string, protocolVersion: 4 | 5, options = {}): Promise<void> {
  const c = await pool.connected(url, { protocolVersion, ...options });
  const got = collectMessages(c);
  await c.subscribe('ws/#', { qos: 2 });
  await c.publish('ws/1', 'one', { qos: 1 });
  await c.publish('ws/2', 'two', { qos: 2 });
  await waitUntil(() => got.length === 2, 5000, 'two messages over WebSocket');
  assert.deepEqual(got.map((m) => m.payload), ['one', 'two']);
}

describe('WebSocket', () => {
  for (const protocolVersion of [4, 5] as const) {
    test(`ws:// on the default path /mqtt with subprotocol "mqtt" and binary frames only (protocol ${protocolVersion})`, async () => {
      const before = relay.offeredProtocols.length;
      await roundTrip(`ws://127.0.0.1:${relay.port}`, protocolVersion);
      // [MQTT-6.0.0-3]: the client offers "mqtt"; [MQTT-6.0.0-1]: binary frames.
      assert.deepEqual(relay.offeredProtocols.slice(before), [['mqtt']]);
      assert.equal(relay.requestedPaths.at(-1), '/mqtt');
      assert.ok(relay.binaryFrames > 0);
      assert.equal(relay.textFrames, 0);
    });
  }

  test('frames holding several packets, or a packet cut across frames, are read whole [MQTT-6.0.0-2]', async () => {
    const c = await pool.connected(`ws://127.0.0.1:${coalescingRelay.port}`, { protocolVersion: 5 });
    const got = collectMessages(c);
    await c.subscribe('burst/#', { qos: 1 });
    const publisher = await pool.connected(`mqtt://127.0.0.1:${mq.port}`, { protocolVersion: 5 });
    const big = Buffer.alloc(100_000, 0x61); // larger than a TCP chunk: it arrives cut, and joined with others
    const sent = Array.from({ length: 30 }, (_, i) => (i % 10 === 9 ? big.toString() : `m${i}`));
    await Promise.all(sent.map((p, i) => publisher.publish(`burst/${i}`, p, { qos: 1 })));
    await waitUntil(() => got.length === sent.length, 8000, 'the burst over WebSocket');
    assert.deepEqual(got.map((m) => m.payload), sent);
    assert.ok(coalescingRelay.framesToClients.some((f) => packetsInFrame(f).lengths.length > 1), 'a frame held several packets');
  });

  test('the path comes from the URL or the path option', async () => {
    await roundTrip(`ws://127.0.0.1:${customPathRelay.port}/custom/mqtt`, 4);
    await roundTrip(`ws://127.0.0.1:${customPathRelay.port}`, 5, { path: '/custom/mqtt' });
  });

  test('a refused WebSocket upgrade is a TRANSPORT_ERROR', async () => {
    const c = pool.open(`ws://127.0.0.1:${customPathRelay.port}/wrong`);
    const [err] = await nextEvent(c, 'error');
    assert.equal(err.code, 'TRANSPORT_ERROR');
    assert.match(err.message, /Unexpected server response: 40[01]/);
    await waitUntil(() => c.state === 'closed', 5000, 'closed');
  });

  test('wss:// verifies the server with the CA and carries traffic', async () => {
    await roundTrip(`wss://localhost:${secureRelay.port}`, 5, { ca: fs.readFileSync(certs.caCert) });
  });

  test('wss:// without the CA fails on the untrusted certificate', async () => {
    const c = pool.open(`wss://localhost:${secureRelay.port}`);
    const [err] = await nextEvent(c, 'error');
    assert.equal(err.code, 'TRANSPORT_ERROR');
    assert.match(err.message, /unable to verify the first certificate/);
    await waitUntil(() => c.state === 'closed', 5000, 'closed');
  });

  test('wss:// takes checkServerIdentity and the other TLS options like mqtts://', async () => {
    const ca = fs.readFileSync(certs.caCert);
    // A name the certificate does not carry fails the default check...
    const mismatch = pool.open(`wss://localhost:${secureRelay.port}`, { ca, servername: 'not-this-host.example' });
    const [err] = await nextEvent(mismatch, 'error');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    // ...and passes a hook that accepts it, which sees that name.
    const seen: string[] = [];
    await roundTrip(`wss://localhost:${secureRelay.port}`, 4, {
      ca,
      servername: 'not-this-host.example',
      minVersion: 'TLSv1.2',
      checkServerIdentity: (host: string) => {
        seen.push(host);
        return undefined;
      },
    });
    assert.deepEqual(seen, ['not-this-host.example']);
  });
});
