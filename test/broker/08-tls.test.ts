// 08-tls: mqtts and wss listeners (certificates made at test time), client certificates required or
// optional, use_identity_as_username, and MQTT over WebSocket framing [MQTT-6.0.0-1..4].
import { describe, test, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { loadBrokerModule, needsBrokerObject, VERSIONS, versionName, type BrokerLike } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';
import { wrap, type TestClient } from './helpers/mqttjs';
import { makeTestCerts, type TestCerts } from '../helpers/certs';

const skip = needsBrokerObject;

interface Pem {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  strangerCert: string;
  strangerKey: string;
}

function readPem(c: TestCerts): Pem {
  const r = (p: string) => fs.readFileSync(p, 'utf8');
  return {
    ca: r(c.caCert),
    serverCert: r(c.serverCert),
    serverKey: r(c.serverKey),
    clientCert: r(c.clientCert),
    clientKey: r(c.clientKey),
    strangerCert: r(c.strangerCert),
    strangerKey: r(c.strangerKey),
  };
}

type Outcome = { connected: true; client: TestClient } | { connected: false; reasonCode?: number; error?: string };

/** Connects MQTT.js and tells whether the broker accepted it (CONNACK 0) or what stopped it. */
function tryConnect(url: string, opts: IClientOptions, cleanups: Array<() => void>): Promise<Outcome> {
  const client: MqttClient = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 4000, clientId: uniqueId('tls'), ...opts });
  cleanups.push(() => client.end(true));
  const wrapped = wrap(client);
  return new Promise<Outcome>((resolve) => {
    client.once('connect', () => resolve({ connected: true, client: wrapped }));
    client.once('error', (err: Error & { code?: number | string }) =>
      resolve({ connected: false, reasonCode: typeof err.code === 'number' ? err.code : undefined, error: err.message }),
    );
    client.once('close', () => resolve({ connected: false, error: 'closed' }));
  });
}

const why = (o: Outcome): string => (o.connected ? '' : `refused: ${o.error ?? ''} ${o.reasonCode ?? ''}`);

describe('08-tls', { timeout: 60_000, skip }, () => {
  let certs: TestCerts;
  let pem: Pem;
  const brokers: BrokerLike[] = [];
  let cleanups: Array<() => void> = [];
  before(() => {
    certs = makeTestCerts('device-42');
    pem = readPem(certs);
  });
  afterEach(() => {
    for (const c of cleanups.reverse()) c();
    cleanups = [];
  });
  after(async () => {
    for (const b of brokers) await b.close().catch(() => undefined);
    certs?.cleanup();
  });

  async function start(listener: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<{ broker: BrokerLike; port: number }> {
    const broker = loadBrokerModule().createBroker({
      connectTimeout: 3000,
      listeners: [{ host: '127.0.0.1', port: 0, ...listener }] as never,
      ...options,
    });
    brokers.push(broker);
    await broker.listen();
    return { broker, port: broker.addresses()[0].port };
  }
  const serverTls = (extra: Record<string, unknown> = {}) => ({ cert: pem.serverCert, key: pem.serverKey, ...extra });

  for (const version of VERSIONS) {
    test(`${versionName(version)}: MQTT.js over mqtts:// with the test CA publishes and receives`, async () => {
      const { broker, port } = await start({ protocol: 'mqtts', tls: serverTls() });
      assert.equal(broker.addresses()[0].protocol, 'mqtts');
      const o = await tryConnect(`mqtts://localhost:${port}`, { protocolVersion: version, ca: pem.ca }, cleanups);
      assert.ok(o.connected, why(o));
      const t = uniqueId('tls/t');
      await o.client.client.subscribeAsync(t, { qos: 1 });
      await o.client.client.publishAsync(t, 'secret', { qos: 1 });
      assert.equal((await o.client.nextMessage()).payload.toString(), 'secret');
    });

    test(`${versionName(version)}: MQTT.js over wss:// with the test CA publishes and receives`, async () => {
      const { broker, port } = await start({ protocol: 'wss', path: '/mqtt', tls: serverTls() });
      assert.equal(broker.addresses()[0].protocol, 'wss');
      const o = await tryConnect(`wss://localhost:${port}/mqtt`, { protocolVersion: version, ca: pem.ca }, cleanups);
      assert.ok(o.connected, why(o));
      const t = uniqueId('wss/t');
      await o.client.client.subscribeAsync(t, { qos: 2 });
      await o.client.client.publishAsync(t, Buffer.alloc(70_000, 7), { qos: 2 });
      const m = await o.client.nextMessage();
      assert.equal(m.payload.length, 70_000);
    });
  }

  test('a client that does not trust the server certificate does not connect', async () => {
    const { port } = await start({ protocol: 'mqtts', tls: serverTls() });
    const o = await tryConnect(`mqtts://localhost:${port}`, {}, cleanups); // no ca: the test CA is unknown
    assert.equal(o.connected, false);
  });

  describe('client certificate required', () => {
    let port = 0;
    const authenticated: Array<string | undefined> = [];
    before(async () => {
      ({ port } = await start(
        { protocol: 'mqtts', tls: serverTls({ ca: pem.ca, requireCertificate: true }) },
        { authenticate: (_c: unknown, username: string | undefined) => (authenticated.push(username), true) },
      ));
    });

    test('a certificate signed by the CA is accepted', async () => {
      const o = await tryConnect(`mqtts://localhost:${port}`, { ca: pem.ca, cert: pem.clientCert, key: pem.clientKey }, cleanups);
      assert.ok(o.connected, why(o));
    });

    test('no certificate: the handshake fails, nothing reaches authenticate', async () => {
      const before = authenticated.length;
      const o = await tryConnect(`mqtts://localhost:${port}`, { ca: pem.ca }, cleanups);
      assert.equal(o.connected, false);
      assert.equal(authenticated.length, before);
    });

    test('a certificate from another CA is refused', async () => {
      const before = authenticated.length;
      const o = await tryConnect(`mqtts://localhost:${port}`, { ca: pem.ca, cert: pem.strangerCert, key: pem.strangerKey }, cleanups);
      assert.equal(o.connected, false);
      assert.equal(authenticated.length, before);
    });

    test('wss with a required certificate: accepted with one, refused without', async () => {
      const w = await start({ protocol: 'wss', tls: serverTls({ ca: pem.ca, requireCertificate: true }) });
      const ok = await tryConnect(`wss://localhost:${w.port}/mqtt`, { ca: pem.ca, cert: pem.clientCert, key: pem.clientKey }, cleanups);
      assert.ok(ok.connected, why(ok));
      const no = await tryConnect(`wss://localhost:${w.port}/mqtt`, { ca: pem.ca }, cleanups);
      assert.equal(no.connected, false);
    });
  });

  for (const version of VERSIONS) {
    test(`${versionName(version)}: useIdentityAsUsername: the certificate CN arrives as username in authenticate`, async () => {
      const seen: Array<string | undefined> = [];
      const { port } = await start(
        { protocol: 'mqtts', useIdentityAsUsername: true, tls: serverTls({ ca: pem.ca, requestCertificate: true }) },
        { authenticate: (_c: unknown, username: string | undefined) => (seen.push(username), username === 'device-42') },
      );
      // the username in CONNECT does not count: the certificate speaks
      const o = await tryConnect(`mqtts://localhost:${port}`, { protocolVersion: version, ca: pem.ca, cert: pem.clientCert, key: pem.clientKey, username: 'admin' }, cleanups);
      assert.ok(o.connected, why(o));
      assert.deepEqual(seen, ['device-42']);
      // without a certificate: refused with 0x86 (5.0) / return code 4 (3.1.1), before authenticate, as Mosquitto
      const none = await tryConnect(`mqtts://localhost:${port}`, { protocolVersion: version, ca: pem.ca, username: 'device-42' }, cleanups);
      assert.equal(none.connected, false);
      assert.equal(none.reasonCode, version === 5 ? 0x86 : 4);
      // a certificate the CA did not sign counts as none
      const stranger = await tryConnect(`mqtts://localhost:${port}`, { protocolVersion: version, ca: pem.ca, cert: pem.strangerCert, key: pem.strangerKey, username: 'device-42' }, cleanups);
      assert.equal(stranger.connected, false);
      assert.equal(stranger.reasonCode, version === 5 ? 0x86 : 4);
      assert.deepEqual(seen, ['device-42']);
    });
  }

  describe('MQTT over WebSocket framing', () => {
    let port = 0;
    before(async () => {
      ({ port } = await start({ protocol: 'ws', path: '/mqtt' }));
    });

    /** A raw WebSocket client: frames as the test builds them, packets parsed with mqtt-packet. */
    async function rawWs(): Promise<{ ws: WebSocket; packets: mqttPacket.Packet[]; next(): Promise<mqttPacket.Packet>; closed: Promise<number> }> {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt']);
      cleanups.push(() => ws.terminate());
      const packets: mqttPacket.Packet[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let wake: (() => void) | undefined;
      parser.on('packet', (p: mqttPacket.Packet) => {
        packets.push(p);
        wake?.();
      });
      ws.on('message', (data: Buffer) => parser.parse(data));
      ws.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const next = async (): Promise<mqttPacket.Packet> => {
        const deadline = Date.now() + 4000;
        while (packets.length === 0) {
          if (Date.now() > deadline) throw new Error('no packet within 4000 ms');
          await new Promise<void>((r) => {
            const t = setTimeout(r, 100);
            wake = () => (clearTimeout(t), r());
          });
        }
        return packets.shift()!;
      };
      return { ws, packets, next, closed };
    }
    const gen = (p: mqttPacket.Packet): Buffer => mqttPacket.generate(p, { protocolVersion: 4 });
    const connect = (clientId: string): Buffer => gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId });

    test('the server selects the subprotocol "mqtt" [MQTT-6.0.0-4]', async () => {
      const c = await rawWs();
      assert.equal(c.ws.protocol, 'mqtt');
    });

    test('a CONNECT split over three binary frames is one packet [MQTT-6.0.0-2]', async () => {
      const c = await rawWs();
      const bytes = connect(uniqueId('split'));
      c.ws.send(bytes.subarray(0, 1), { binary: true });
      c.ws.send(bytes.subarray(1, 5), { binary: true });
      c.ws.send(bytes.subarray(5), { binary: true });
      const connack = await c.next();
      assert.equal(connack.cmd, 'connack');
      assert.equal((connack as mqttPacket.IConnackPacket).returnCode, 0);
    });

    test('CONNECT and SUBSCRIBE in one binary frame are two packets [MQTT-6.0.0-2]', async () => {
      const c = await rawWs();
      const t = uniqueId('ws/two');
      c.ws.send(Buffer.concat([connect(uniqueId('two')), gen({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: t, qos: 1 }] })]), { binary: true });
      assert.equal((await c.next()).cmd, 'connack');
      const suback = (await c.next()) as mqttPacket.ISubackPacket;
      assert.equal(suback.cmd, 'suback');
      assert.equal(suback.messageId, 7);
      assert.deepEqual(suback.granted, [1]);
    });

    test('the broker sends binary frames only [MQTT-6.0.0-1]', async () => {
      const c = await rawWs();
      const kinds: boolean[] = [];
      c.ws.on('message', (_d, isBinary) => kinds.push(isBinary));
      c.ws.send(connect(uniqueId('bin')), { binary: true });
      await c.next();
      assert.deepEqual(kinds, [true]);
    });

    test('a text frame closes the connection [MQTT-6.0.0-1]', async () => {
      const c = await rawWs();
      c.ws.send(connect(uniqueId('text')).toString('latin1')); // a text frame
      const code = await c.closed;
      assert.equal(c.packets.length, 0, 'no CONNACK for a CONNECT in a text frame');
      assert.notEqual(code, 1000);
    });
  });

  test('an mqtts listener without tls settings does not start', async () => {
    const broker = loadBrokerModule().createBroker({ listeners: [{ host: '127.0.0.1', port: 0, protocol: 'mqtts' }] as never });
    brokers.push(broker);
    await assert.rejects(broker.listen(), /tls/);
  });

});
