// A bridge on a broker with users and an ACL: the bridge is part of the broker, so its own session
// enters as `internal` and is neither logged in nor filtered by the ACL, while every client still is
// (whatever its client id or the address it claims); nor is it one of the clients maxConnections bounds.
// Against a real Mosquitto, both directions.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { AclRules, PasswordFile } from '../../src/auth';
import { duplexPair } from '../../src/bridge/duplex-pair';
import { createSecurityHooks, type Broker } from '../../src/broker';
import { PacketDecoder, encode } from '../../src/codec';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { Cleanups, arrival, localBroker, mosquitto, remoteClient, startBridge, withTimeout } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

// alice may use the bridged topics; mallory may not touch them (only mallory/#)
const ACL = ['user alice', 'topic readwrite plant/#', 'topic readwrite cmd/#', 'user mallory', 'topic readwrite mallory/#'].join('\n');

let passwords: PasswordFile;
before(async () => {
  passwords = PasswordFile.empty();
  await passwords.setPassword('alice', 'alice-pw', { iterations: 1000 });
  await passwords.setPassword('mallory', 'mallory-pw', { iterations: 1000 });
});
after(() => cleanups.run());

/** MQTT.js on our broker with a user, recording what it receives. */
async function user(port: number, username: string, password: string, clientId?: string): Promise<{ client: mqtt.MqttClient; got: string[] }> {
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port, username, password, reconnectPeriod: 0, ...(clientId ? { clientId } : {}) });
  cleanups.add(() => client.endAsync(true));
  const got: string[] = [];
  client.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
  return { client, got };
}

async function refusal(port: number, options: mqtt.IClientOptions): Promise<number | string | undefined> {
  try {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    cleanups.add(() => c.endAsync(true));
    return undefined;
  } catch (err) {
    return (err as { code?: number | string }).code;
  }
}

describe('bridge on a broker with users and an ACL', { skip }, () => {
  for (const perListener of [false, true]) {
    test(`both directions cross with anonymous access off, a password file and an ACL${perListener ? ' (per-listener security)' : ''}`, async () => {
      const mosq = await mosquitto(cleanups);
      const hooks = createSecurityHooks({ passwordFile: passwords, acl: AclRules.parse(ACL), allowAnonymous: false, loginFailureDelayMs: 0 });
      // per_listener_settings: the listener has the hooks, the broker none of its own
      const { broker, port } = perListener
        ? await localBroker(cleanups, { listeners: [{ host: '127.0.0.1', port: 0, security: hooks }] })
        : await localBroker(cleanups, hooks);
      const bridge = await startBridge(cleanups, broker, {
        name: 'secured',
        address: `127.0.0.1:${mosq.port}`,
        localClientId: 'gw-bridge',
        topics: [
          { pattern: 'plant/#', direction: 'out', qos: 1 },
          { pattern: 'cmd/#', direction: 'in', qos: 1 },
        ],
      });
      assert.equal(bridge.state, 'connected');

      const remote = await remoteClient(cleanups, mosq.port, 4);
      await remote.client.subscribeAsync('plant/#', { qos: 1 });
      const alice = await user(port, 'alice', 'alice-pw');
      await alice.client.subscribeAsync('cmd/#', { qos: 1 });
      // out: a user's message on our broker reaches Mosquitto
      await alice.client.publishAsync('plant/line1', 'out-1', { qos: 1 });
      await arrival(remote.received, 'out-1');
      // in: a message on Mosquitto reaches the user on ours
      await waitUntil(async () => {
        await remote.client.publishAsync('cmd/line1', 'in-1', { qos: 1 });
        return alice.got.includes('cmd/line1=in-1');
      }, 8000, 'cmd/line1 to come in');

      // the ACL still holds for clients: mallory neither reads nor writes what the bridge carries
      const mallory = await user(port, 'mallory', 'mallory-pw');
      await assert.rejects(mallory.client.subscribeAsync(['cmd/#', 'plant/#'], { qos: 1 }), (err: { packet?: { granted?: number[] } }) => {
        assert.deepEqual(err.packet?.granted, [0x80, 0x80]); // refused, the connection stays
        return true;
      });
      await mallory.client.publishAsync('plant/line1', 'from-mallory', { qos: 1 });
      await remote.client.publishAsync('cmd/line1', 'in-2', { qos: 1 });
      await waitUntil(() => alice.got.includes('cmd/line1=in-2'), 8000, 'in-2 to reach alice');
      await alice.client.publishAsync('plant/line1', 'out-2', { qos: 1 });
      await arrival(remote.received, 'out-2');
      assert.deepEqual(mallory.got, []);
      assert.equal(remote.received.some((m) => m.payload === 'from-mallory'), false, 'an ACL-denied publish is not bridged');
    });
  }

  test('maxConnections reached by clients does not keep the bridge out: it is no client', async () => {
    const mosq = await mosquitto(cleanups);
    const { broker, port } = await localBroker(cleanups, { maxConnections: 1 });
    const only = await user(port, 'anyone', 'whatever');
    await only.client.subscribeAsync('cmd/#', { qos: 1 });
    assert.equal(await refusal(port, {}), 3); // a second client: 3.1.1 Server unavailable (5.0: 0x97)
    await startBridge(cleanups, broker, { name: 'full', address: `127.0.0.1:${mosq.port}`, topics: [{ pattern: 'cmd/#', direction: 'in', qos: 1 }] });
    const remote = await remoteClient(cleanups, mosq.port, 4);
    await waitUntil(async () => {
      await remote.client.publishAsync('cmd/go', 'through', { qos: 1 });
      return only.got.includes('cmd/go=through');
    }, 8000, 'cmd/go to come in');
  });

  test('maxPacketSize guards against clients, not the bridge: a 2 MiB message from the remote comes in over a 1 MiB broker', async () => {
    const mosq = await mosquitto(cleanups);
    const { broker, port } = await localBroker(cleanups, {});
    const local = await user(port, 'anyone', 'whatever');
    await local.client.subscribeAsync('big/#', { qos: 1 });
    await startBridge(cleanups, broker, { name: 'big', address: `127.0.0.1:${mosq.port}`, topics: [{ pattern: 'big/#', direction: 'in', qos: 1 }] });
    const remote = await remoteClient(cleanups, mosq.port, 4);
    const payload = 'z'.repeat(2 * 1024 * 1024);
    await waitUntil(async () => {
      await remote.client.publishAsync('big/picture', payload, { qos: 1 });
      return local.got.some((g) => g === `big/picture=${payload}`);
    }, 8000, 'the 2 MiB message to come in');
    // a client sending the same is refused at the fixed header (the 1 MiB default)
    const sender = await user(port, 'sender', 'x');
    const closed = new Promise<void>((resolve) => sender.client.once('close', () => resolve()));
    sender.client.publish('big/direct', payload, { qos: 0 });
    await withTimeout(closed, 5000, 'the client sending 2 MiB to be closed');
  });

  test('a network client cannot pass for the bridge: its client id and the address "bridge" get no login', async () => {
    const mosq = await mosquitto(cleanups);
    const hooks = createSecurityHooks({ passwordFile: passwords, acl: AclRules.parse(ACL), allowAnonymous: false, loginFailureDelayMs: 0 });
    const { broker, port } = await localBroker(cleanups, hooks);
    await startBridge(cleanups, broker, { name: 'b', address: `127.0.0.1:${mosq.port}`, localClientId: 'gw-bridge', topics: [{ pattern: 'plant/#', direction: 'out', qos: 1 }] });
    assert.equal(await refusal(port, { clientId: 'gw-bridge' }), 5); // 3.1.1 not authorized
    assert.equal(await refusal(port, { clientId: 'gw-bridge', protocolVersion: 5 }), 0x87);
    // a stream given to handle() without `internal`, even with the address a bridge used to have
    assert.equal(await inMemoryConnack(broker, { address: 'bridge' }, 'gw-bridge'), 0x87);
    assert.equal(await inMemoryConnack(broker, { address: 'bridge', internal: true }, 'other'), 0);
  });
});

/** CONNACK reason code for an MQTT 5 CONNECT without credentials over an in-memory pair. */
async function inMemoryConnack(broker: Broker, info: Parameters<Broker['handle']>[1], clientId: string): Promise<number> {
  const [ours, theirs] = duplexPair();
  cleanups.add(() => ours.destroy());
  const decoder = new PacketDecoder({ protocolVersion: 5 });
  const connack = new Promise<number>((resolve) =>
    ours.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      const p = decoder.next();
      if (p !== null && !(p instanceof Error) && p.type === 'connack') resolve(p.reasonCode);
    }),
  );
  broker.handle(theirs, info);
  ours.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId }, 5));
  return withTimeout(connack, 5000, 'CONNACK');
}
