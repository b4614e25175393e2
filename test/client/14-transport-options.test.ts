// Transport options a bridge needs: the local address the socket binds to, TLS-PSK against
// Mosquitto's PSK listener, and nextAttempt, which moves reconnections to another address and keeps
// the session (the unacknowledged QoS 1 message is sent again with DUP on the new connection).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBroker, type Broker } from '../../src/broker';
import { MqttError } from '../../src/client';
import { disposeMosquitto, type MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { freePort, waitForPort } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { nextEvent } from './helpers/events';
import { ScriptedServer } from './helpers/scripted-server';

const pool = new ClientPool();
afterEach(() => pool.endAll());

const PSK_KEY = '6d717474687562207073b16b6579'; // hex, as Mosquitto's psk_file and bridge_psk write it
let pskDir: string;
let mq: MosquittoInstance;
let pskPort: number;
before(async () => {
  pskDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-psk-'));
  fs.chmodSync(pskDir, 0o755);
  const pskFile = path.join(pskDir, 'psk');
  fs.writeFileSync(pskFile, `gateway-1:${PSK_KEY}\n`, { mode: 0o644 });
  pskPort = await freePort();
  mq = await startMosquitto({ extraConfig: [`listener ${pskPort} 127.0.0.1`, 'psk_hint mqtt-hub-test', `psk_file ${pskFile}`] });
  await waitForPort(pskPort);
});
after(async () => {
  await disposeMosquitto(mq);
  fs.rmSync(pskDir, { recursive: true, force: true });
});

async function broker(): Promise<{ broker: Broker; port: number }> {
  const b = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0 });
  await b.listen();
  return { broker: b, port: b.addresses()[0].port };
}

describe('client transport options', () => {
  test('localAddress: the socket leaves from the address given (127.0.0.2), as the broker sees', async () => {
    const { broker: b, port } = await broker();
    try {
      await pool.connected(`mqtt://127.0.0.1:${port}`, { clientId: 'bound', localAddress: '127.0.0.2' });
      assert.match(b.clients().find((c) => c.id === 'bound')!.address, /^127\.0\.0\.2:\d+$/);
      await pool.connected(`mqtt://127.0.0.1:${port}`, { clientId: 'unbound' });
      assert.match(b.clients().find((c) => c.id === 'unbound')!.address, /^127\.0\.0\.1:\d+$/);
    } finally {
      await pool.endAll();
      await b.close();
    }
  });

  test("psk: TLS-PSK to Mosquitto's psk_hint/psk_file listener; a wrong key fails the handshake", async () => {
    const client = pool.open({ protocol: 'mqtts', host: '127.0.0.1', port: pskPort, psk: { identity: 'gateway-1', key: Buffer.from(PSK_KEY, 'hex') } });
    await nextEvent(client, 'connect');
    await client.subscribe('psk/t', { qos: 1 });
    const got = nextEvent(client, 'message');
    await client.publish('psk/t', 'over psk', { qos: 1 });
    assert.equal((await got)[1].toString(), 'over psk');

    const wrong = pool.open({ protocol: 'mqtts', host: '127.0.0.1', port: pskPort, psk: { identity: 'gateway-1', key: Buffer.from('00112233', 'hex') } });
    const errors: MqttError[] = [];
    wrong.on('error', (e) => errors.push(e));
    await nextEvent(wrong, 'close');
    assert.equal(wrong.connected, false);
    assert.equal(errors[0]?.code, 'TRANSPORT_ERROR');
  });

  test('nextAttempt: a lost connection goes to the address it names; the unacknowledged QoS 1 message is sent again there with DUP and its packet id, the session being present [MQTT-4.4.0-1]', async () => {
    const first = await ScriptedServer.start();
    const second = await ScriptedServer.start();
    try {
      const attempts: number[] = [];
      const client = pool.open(first.url, {
        clientId: 'walker',
        clean: false,
        nextAttempt: (failed) => {
          attempts.push(failed);
          return { delay: 10, port: second.port };
        },
      });
      const one = await first.connection();
      await one.accept();
      await nextEvent(client, 'connect');
      const published = client.publish('walk/t', 'still here', { qos: 1 });
      const sent = await one.next('publish');
      one.close(); // gone before PUBACK
      const two = await second.connection();
      await two.accept({ sessionPresent: true });
      const again = await two.next('publish');
      assert.equal(again.dup, true);
      assert.equal(again.packetId, sent.packetId);
      assert.equal(again.payload.toString(), 'still here');
      two.send({ type: 'puback', packetId: again.packetId! });
      await published;
      assert.deepEqual(attempts, [0]);
    } finally {
      await pool.endAll();
      await first.close();
      await second.close();
    }
  });

  test('nextAttempt answering undefined ends the client as reconnectPeriod 0 would: the unacknowledged publish fails with SESSION_LOST', async () => {
    const server = await ScriptedServer.start();
    try {
      const client = pool.open(server.url, { nextAttempt: () => undefined, reconnectPeriod: 1000 });
      const one = await server.connection();
      await one.accept();
      await nextEvent(client, 'connect');
      const published = client.publish('x', 'y', { qos: 1 });
      await one.next('publish');
      const closed = nextEvent(client, 'close');
      one.close();
      await closed;
      assert.equal(client.state, 'closed');
      await assert.rejects(published, (err: MqttError) => err.code === 'SESSION_LOST');
    } finally {
      await server.close();
    }
  });
});
