// Connect, subscribe, publish at QoS 0/1/2 against a real Mosquitto under MQTT 3.1, 3.1.1 and 5.0.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, MqttError } from '../../src/client';
import type { ProtocolVersion } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';

let mq: MosquittoInstance;
let url: string;
const pool = new ClientPool();

before(async () => {
  mq = await startMosquitto();
  url = `mqtt://127.0.0.1:${mq.port}`;
});
after(async () => {
  await disposeMosquitto(mq);
});
afterEach(() => pool.endAll());

const versions: [ProtocolVersion, string][] = [
  [3, 'MQTT 3.1'],
  [4, 'MQTT 3.1.1'],
  [5, 'MQTT 5.0'],
];

for (const [protocolVersion, name] of versions) {
  describe(`${name} against Mosquitto`, () => {
    test('connects, subscribes and receives QoS 0, 1 and 2 publishes with the right flags', async () => {
      const sub = await pool.connected(url, { protocolVersion });
      assert.equal(sub.state, 'connected');
      assert.equal(sub.connack?.reasonCode, 0);
      const topic = `v${protocolVersion}/qos`;
      const granted = await sub.subscribe(`${topic}/#`, { qos: 2 });
      // [MQTT-3.9.3-1]: one code per filter, the granted QoS.
      assert.deepEqual(granted, [{ topicFilter: `${topic}/#`, qos: 2, reasonCode: 2 }]);
      const got = collectMessages(sub);

      const pub = await pool.connected(url, { protocolVersion });
      assert.equal(await pub.publish(`${topic}/0`, 'zero', { qos: 0 }), undefined);
      // QoS 1 resolves with the PUBACK, QoS 2 with the PUBCOMP [MQTT-4.3.2-1], [MQTT-4.3.3-1].
      assert.equal((await pub.publish(`${topic}/1`, Buffer.from('one'), { qos: 1 }))?.type, 'puback');
      assert.equal((await pub.publish(`${topic}/2`, new Uint8Array([0x74, 0x77, 0x6f]), { qos: 2 }))?.type, 'pubcomp');
      await waitUntil(() => got.length === 3, 5000, 'three messages');
      assert.deepEqual(
        got.map((m) => [m.topic, m.payload, m.qos, m.retain, m.dup]),
        [
          [`${topic}/0`, 'zero', 0, false, false],
          [`${topic}/1`, 'one', 1, false, false],
          [`${topic}/2`, 'two', 2, false, false],
        ],
      );
      assert.equal(pub.inFlightCount, 0);
    });

    test('retained message reaches a later subscriber with retain set; unsubscribe stops delivery', async () => {
      const topic = `v${protocolVersion}/retained`;
      const pub = await pool.connected(url, { protocolVersion });
      await pub.publish(topic, 'kept', { qos: 1, retain: true });
      const sub = await pool.connected(url, { protocolVersion });
      const got = collectMessages(sub);
      await sub.subscribe([topic, `v${protocolVersion}/barrier`], { qos: 1 });
      await waitUntil(() => got.length === 1, 5000, 'retained message');
      // [MQTT-3.3.1-6]: a retained message sent for a new subscription has RETAIN 1.
      assert.deepEqual([got[0].topic, got[0].payload, got[0].retain], [topic, 'kept', true]);
      const unsub = await sub.unsubscribe(topic);
      assert.deepEqual(unsub, [{ topicFilter: topic, reasonCode: 0 }]);
      await pub.publish(topic, 'not for you', { qos: 1 });
      await pub.publish(`v${protocolVersion}/barrier`, 'after', { qos: 1 });
      await waitUntil(() => got.length === 2, 5000, 'barrier message');
      assert.deepEqual(got[1].payload, 'after');
      await pub.publish(topic, '', { qos: 1, retain: true }); // clear it
    });

    test('a will is published when the client goes away without DISCONNECT', async () => {
      const topic = `v${protocolVersion}/will`;
      const watcher = await pool.connected(url, { protocolVersion });
      await watcher.subscribe(topic, { qos: 1 });
      const got = collectMessages(watcher);
      const will = { topic, payload: 'gone', qos: 1 as const, retain: false, properties: protocolVersion === 5 ? { contentType: 'text/plain', userProperties: [['k', 'v']] as [string, string][] } : undefined };
      const dying = await pool.connected(url, { protocolVersion, will });
      await dying.end({ force: true });
      await waitUntil(() => got.length === 1, 5000, 'will message');
      assert.equal(got[0].payload, 'gone');
      if (protocolVersion === 5) {
        const props = got[0].properties as { contentType?: string; userProperties?: [string, string][] };
        assert.equal(props.contentType, 'text/plain');
        assert.deepEqual(props.userProperties, [['k', 'v']]);
      }
    });
  });
}

describe('options', () => {
  test('connect by an options object instead of a URL', async () => {
    const c = connect({ protocol: 'mqtt', host: '127.0.0.1', port: mq.port, protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const [connack] = await nextEvent(c, 'connect');
      assert.equal(connack.reasonCode, 0);
      assert.equal(c.options.protocolVersion, 5);
    } finally {
      await c.end();
    }
  });

  test('URL options merge with the options object, which wins', async () => {
    const c = pool.open(`mqtt://someone:pw@127.0.0.1:${mq.port}`, { username: 'other', keepalive: 5 });
    assert.equal(c.options.username, 'other');
    assert.equal(c.options.password, 'pw');
    assert.equal(c.options.keepalive, 5);
    assert.equal(c.options.port, mq.port);
    await nextEvent(c, 'connect');
  });

  test('a password without a user name is refused before 5.0 [MQTT-3.1.2-22]', () => {
    assert.throws(() => connect({ host: '127.0.0.1', port: mq.port, password: 'x' }), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
  });
});

describe('client identifiers', () => {
  test('an empty client id is replaced by a generated mqtthub_xxxxxxxx one under 3.1.1', async () => {
    const c = await pool.connected(url, { clientId: '' });
    assert.match(c.clientId, /^mqtthub_[0-9a-f]{8}$/);
    // The id really went out: a second connection with it takes the session over [MQTT-3.1.4-2].
    const closed = nextEvent(c, 'close');
    await pool.connected(url, { clientId: c.clientId });
    await closed;
  });

  test('under 5.0 an empty client id is sent and the Assigned Client Identifier adopted [MQTT-3.2.2-16]', async () => {
    const c = await pool.connected(url, { protocolVersion: 5, clientId: '' });
    const assigned = c.connack?.properties?.assignedClientIdentifier;
    assert.ok(assigned, 'Mosquitto assigns an identifier');
    assert.equal(c.clientId, assigned);
  });
});

describe('failures', () => {
  test('bad options and bad arguments are typed errors', async () => {
    assert.throws(() => connect('http://127.0.0.1:1'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    const c = await pool.connected(url);
    await assert.rejects(c.publish('a/+/b', 'x'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(c.publish('', 'x'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(c.subscribe('a/#/b'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(c.subscribe([]), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(c.publish('a', 'x', { qos: 3 as 0 }), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    // A topic already published to is not checked again, but a different (or missing) one is.
    await c.publish('fine/topic', 'x');
    await assert.rejects(c.publish('', 'x'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    const fresh = await pool.connected(url, { protocolVersion: 5 });
    await assert.rejects(fresh.publish(undefined as unknown as string, 'x'), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    // An empty topic needs an alias set earlier on this connection.
    await assert.rejects(fresh.publish('', 'x', { qos: 1, properties: { topicAlias: 1 } }), (e: unknown) => e instanceof MqttError && e.code === 'INVALID_ARGUMENT');
    await fresh.publish('aliased/topic', 'x', { qos: 1, properties: { topicAlias: 1 } });
    assert.equal((await fresh.publish('', 'y', { qos: 1, properties: { topicAlias: 1 } }))?.type, 'puback');
    assert.equal(fresh.state, 'connected');
  });

  test('end() resolves with the client closed; later calls reject with CLIENT_ENDED', async () => {
    const c = await pool.connected(url);
    const ended = nextEvent(c, 'end');
    await c.end();
    await ended;
    assert.equal(c.state, 'closed');
    await assert.rejects(c.publish('a', 'x'), (e: unknown) => e instanceof MqttError && e.code === 'CLIENT_ENDED');
    await c.end(); // again: resolves at once
  });

  test('no CONNACK within connectTimeout fails with CONNECT_TIMEOUT', async (t) => {
    const port = await freePort();
    // It reads (and drops) what comes, so the client's close is seen and the server can close.
    const silent = net.createServer((s) => s.on('error', () => undefined).resume());
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => silent.close(() => r())));
    const c = pool.open(`mqtt://127.0.0.1:${port}`, { connectTimeout: 200 });
    const [err] = await nextEvent(c, 'error');
    assert.equal(err.code, 'CONNECT_TIMEOUT');
    await waitUntil(() => c.state === 'closed', 5000, 'closed');
  });

  describe('with a password file', () => {
    let secured: MosquittoInstance;
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-pw-'));
      const file = path.join(dir, 'passwords');
      execFileSync('mosquitto_passwd', ['-c', '-b', file, 'alice', 's3cret'], { stdio: 'ignore' });
      // Mosquitto started as root drops to its own user, which must be able to read the file.
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(file, 0o644);
      secured = await startMosquitto({ extraConfig: [`password_file ${file}`, 'allow_anonymous false'] });
    });
    after(async () => {
      await disposeMosquitto(secured);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('username and password are accepted', async () => {
      const c = await pool.connected(`mqtt://alice:s3cret@127.0.0.1:${secured.port}`);
      assert.equal(c.connack?.reasonCode, 0);
    });

    // Mosquitto 2.0 answers a wrong password with "not authorized": 5 (3.1.1) / 0x87 (5.0).
    for (const [protocolVersion, code] of [[4, 5], [5, 0x87]] as const) {
      test(`a wrong password is CONNACK_REFUSED carrying the server's code ${code} under protocol ${protocolVersion}`, async () => {
        const c = pool.open(`mqtt://127.0.0.1:${secured.port}`, { protocolVersion, username: 'alice', password: 'wrong' });
        const [err] = await nextEvent(c, 'error');
        assert.equal(err.code, 'CONNACK_REFUSED');
        assert.equal(err.reasonCode, code);
        await waitUntil(() => c.state === 'closed', 5000, 'closed');
      });
    }
  });
});
