// The client facing a server that does exactly what each test scripts: server DISCONNECT, inbound
// topic aliases, incoming QoS 2 redelivery, unknown acks, malformed packets, refused
// subscriptions, Server Keep Alive and enhanced authentication.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttError } from '../../src/client';
import type { ProtocolVersion } from '../../src/codec/types';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { collectMessages, nextEvent } from './helpers/events';
import { ScriptedServer } from './helpers/scripted-server';

let server: ScriptedServer;
const pool = new ClientPool();

beforeEach(async () => {
  server = await ScriptedServer.start();
});
afterEach(async () => {
  await pool.endAll();
  await server.close();
});

async function connected(protocolVersion: ProtocolVersion, options = {}, connack = {}) {
  const client = pool.open(server.url, { protocolVersion, ...options });
  const errors: MqttError[] = [];
  client.on('error', (e) => errors.push(e));
  const conn = await server.connection();
  const connect = await conn.accept(connack);
  await nextEvent(client, 'connect');
  return { client, conn, errors, connect };
}

describe('scripted server', () => {
  test("a server DISCONNECT is surfaced as a 'disconnect' event and an error with its reason code", async () => {
    const { client, conn, errors } = await connected(5);
    const disconnect = nextEvent(client, 'disconnect');
    conn.send({ type: 'disconnect', reasonCode: 0x98, properties: { reasonString: 'maintenance' } });
    const [packet] = await disconnect;
    assert.equal(packet.reasonCode, 0x98);
    await waitUntil(() => client.state === 'closed', 5000, 'closed');
    assert.equal(errors[0].code, 'SERVER_DISCONNECT');
    assert.equal(errors[0].reasonCode, 0x98);
    assert.match(errors[0].message, /Administrative action.*maintenance/);
  });

  test('inbound topic aliases are resolved; an alias above our maximum is a protocol error (DISCONNECT 0x94) [MQTT-3.3.2-10]', async () => {
    const { client, conn, errors, connect } = await connected(5, { properties: { topicAliasMaximum: 2 } });
    assert.equal(connect.properties?.topicAliasMaximum, 2);
    const got = collectMessages(client);
    conn.send({ type: 'publish', topic: 'a/long/topic', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    conn.send({ type: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    await waitUntil(() => got.length === 2, 5000, 'two messages');
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['a/long/topic', '1'], ['a/long/topic', '2']]);
    conn.send({ type: 'publish', topic: 'x', payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    const disconnect = await conn.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x94);
    await waitUntil(() => conn.closed, 5000, 'connection closed');
    assert.equal(errors[0].code, 'PROTOCOL_ERROR');
    assert.equal(got.length, 2);
  });

  test('an alias never set on this connection is a protocol error (DISCONNECT 0x82)', async () => {
    const { conn } = await connected(5, { properties: { topicAliasMaximum: 5 } });
    conn.send({ type: 'publish', topic: '', payload: Buffer.from('?'), qos: 0, retain: false, dup: false, properties: { topicAlias: 4 } });
    assert.equal((await conn.next('disconnect')).reasonCode, 0x82);
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`incoming QoS 2 is delivered once although the server redelivers before PUBREL [MQTT-4.3.3-9] (protocol ${protocolVersion})`, async () => {
      const { client, conn } = await connected(protocolVersion);
      const got = collectMessages(client);
      const publish = { type: 'publish' as const, topic: 'q2', payload: Buffer.from('once'), qos: 2 as const, retain: false, dup: false, packetId: 7 };
      conn.send(publish);
      assert.equal((await conn.next('pubrec')).packetId, 7);
      conn.send({ ...publish, dup: true });
      assert.equal((await conn.next('pubrec')).packetId, 7, 'the redelivery is acknowledged again');
      conn.send({ type: 'pubrel', packetId: 7 });
      assert.equal((await conn.next('pubcomp')).packetId, 7);
      // After PUBREL the id is free: the same id is a new message.
      conn.send({ ...publish, payload: Buffer.from('new') });
      await conn.next('pubrec');
      assert.deepEqual(got.map((m) => m.payload), ['once', 'new']);
    });
  }

  test('QoS 1 is acknowledged with PUBACK after delivery', async () => {
    const { client, conn } = await connected(4);
    const got = collectMessages(client);
    conn.send({ type: 'publish', topic: 'q1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 9 });
    assert.equal((await conn.next('puback')).packetId, 9);
    assert.equal(got.length, 1);
  });

  test('an acknowledgement for an id not in flight is a typed error event, not a crash', async () => {
    const { client, conn, errors } = await connected(5);
    conn.send({ type: 'puback', packetId: 4242 });
    conn.send({ type: 'pubcomp', packetId: 4243 });
    conn.send({ type: 'suback', packetId: 4244, reasonCodes: [0] });
    await waitUntil(() => errors.length === 3, 5000, 'three errors');
    assert.deepEqual(errors.map((e) => e.code), ['UNKNOWN_ACK', 'UNKNOWN_ACK', 'UNKNOWN_ACK']);
    assert.equal(client.state, 'connected');
    // An unknown PUBREC still gets a PUBREL so the server can finish, with "not found" under 5.0.
    conn.send({ type: 'pubrec', packetId: 4245 });
    const pubrel = await conn.next('pubrel');
    assert.deepEqual([pubrel.packetId, pubrel.reasonCode], [4245, 0x92]);
  });

  test("PUBCOMP 'Packet Identifier not found' (the only failure PUBCOMP can carry) completes a QoS 2 flow", async () => {
    const { client, conn } = await connected(5);
    const done = client.publish('q2/out', 'a', { qos: 2 });
    const publish = await conn.next('publish');
    conn.send({ type: 'pubrec', packetId: publish.packetId as number });
    await conn.next('pubrel');
    conn.send({ type: 'pubcomp', packetId: publish.packetId as number, reasonCode: 0x92 });
    assert.equal((await done)?.reasonCode, 0x92);
    assert.equal(client.inFlightCount, 0);
  });

  test('a malformed packet from the server closes the connection with DISCONNECT 0x81 and a PROTOCOL_ERROR', async () => {
    const { client, conn, errors } = await connected(5);
    // PUBLISH QoS 3 is malformed [MQTT-3.3.1-4].
    conn.sendRaw(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
    const disconnect = await conn.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x81);
    await waitUntil(() => client.state === 'closed', 5000, 'closed');
    assert.equal(errors[0].code, 'PROTOCOL_ERROR');
    assert.equal(errors[0].reasonCode, 0x81);
  });

  test('a SUBACK failure code is returned per filter, and the failed filter is not resubscribed', async () => {
    const { client, conn } = await connected(5, { reconnectPeriod: 20 });
    const result = client.subscribe({ 'ok/#': 1, 'denied/#': 2 });
    const subscribe = await conn.next('subscribe');
    conn.send({ type: 'suback', packetId: subscribe.packetId, reasonCodes: [1, 0x87] });
    assert.deepEqual(await result, [
      { topicFilter: 'ok/#', qos: 1, reasonCode: 1 },
      { topicFilter: 'denied/#', qos: 2, reasonCode: 0x87 },
    ]);
    conn.close();
    const again = await server.connection(1);
    await again.accept({ sessionPresent: false });
    const resubscribe = await again.next('subscribe');
    assert.deepEqual(resubscribe.subscriptions.map((s) => s.topicFilter), ['ok/#']);
  });

  test('subscribe accepts a string, a list, a map and a list of subscriptions, with 5.0 options and properties', async () => {
    const { client, conn } = await connected(5);
    const answer = async () => {
      const sub = await conn.next('subscribe');
      conn.send({ type: 'suback', packetId: sub.packetId, reasonCodes: sub.subscriptions.map((s) => s.qos) });
      return sub;
    };
    const forms = [
      client.subscribe('one', { qos: 1, nl: true, rap: true, rh: 2, subscriptionIdentifier: 7, userProperties: [['u', 'v']] }),
      client.subscribe(['a', 'b'], { qos: 2 }),
      client.subscribe({ m1: 0, m2: { qos: 1, nl: true } }),
      client.subscribe([{ topicFilter: 'x/+', qos: 2, retainHandling: 1 }, { topic: 'y/#', qos: 0 }]),
    ];
    const packets = [await answer(), await answer(), await answer(), await answer()];
    await Promise.all(forms);
    assert.deepEqual(packets[0].subscriptions, [{ topicFilter: 'one', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }]);
    assert.deepEqual(packets[0].properties?.subscriptionIdentifiers, [7]);
    assert.deepEqual(packets[0].properties?.userProperties, [['u', 'v']]);
    assert.deepEqual(packets[1].subscriptions.map((s) => [s.topicFilter, s.qos]), [['a', 2], ['b', 2]]);
    assert.deepEqual(packets[2].subscriptions.map((s) => [s.topicFilter, s.qos, s.noLocal ?? false]), [['m1', 0, false], ['m2', 1, true]]);
    assert.deepEqual(packets[3].subscriptions.map((s) => [s.topicFilter, s.qos, s.retainHandling ?? 0]), [['x/+', 2, 1], ['y/#', 0, 0]]);
    const ids = new Set(packets.map((p) => p.packetId));
    assert.equal(ids.size, 4, 'four packet ids in flight at once, all different');
  });

  test("the server's Keep Alive replaces ours [MQTT-3.2.2-21]", async () => {
    const { client, conn, connect } = await connected(5, { keepalive: 600 }, { properties: { serverKeepAlive: 1 } });
    assert.equal(connect.keepalive, 600);
    await conn.next('pingreq', 4000);
    conn.send({ type: 'pingresp' });
    assert.equal(client.state, 'connected');
  });

  test('a server exceeding our Receive Maximum with QoS 2 gets DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const { conn } = await connected(5, { properties: { receiveMaximum: 2 } });
    for (const packetId of [1, 2, 3]) {
      conn.send({ type: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId });
    }
    assert.equal((await conn.next('disconnect')).reasonCode, 0x93);
  });

  test('enhanced authentication: AUTH exchange through the authenticate hook before CONNACK', async () => {
    const seen: (number | undefined)[] = [];
    const client = pool.open(server.url, {
      protocolVersion: 5,
      properties: { authenticationMethod: 'SCRAM-TEST', authenticationData: Buffer.from('client-first') },
      authenticate: async (auth) => {
        seen.push(auth.reasonCode);
        assert.equal(auth.properties?.authenticationData?.toString(), 'server-first');
        return { properties: { authenticationData: Buffer.from('client-final') } };
      },
    });
    const conn = await server.connection();
    const connect = await conn.next('connect');
    assert.equal(connect.properties?.authenticationMethod, 'SCRAM-TEST');
    conn.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-TEST', authenticationData: Buffer.from('server-first') } });
    const answer = await conn.next('auth');
    assert.equal(answer.reasonCode, 0x18);
    assert.equal(answer.properties?.authenticationMethod, 'SCRAM-TEST');
    assert.equal(answer.properties?.authenticationData?.toString(), 'client-final');
    conn.send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: { authenticationMethod: 'SCRAM-TEST' } });
    await nextEvent(client, 'connect');
    assert.deepEqual(seen, [0x18]);
    // Re-authentication starts with AUTH 0x19 and the same method [MQTT-4.12.1-1].
    client.reauthenticate({ authenticationData: Buffer.from('again') });
    const reauth = await conn.next('auth');
    assert.deepEqual([reauth.reasonCode, reauth.properties?.authenticationMethod], [0x19, 'SCRAM-TEST']);
  });

  test('a failing authenticate hook ends the attempt with AUTH_FAILED', async () => {
    const client = pool.open(server.url, {
      protocolVersion: 5,
      properties: { authenticationMethod: 'X' },
      authenticate: async () => {
        throw new Error('no credentials');
      },
    });
    const conn = await server.connection();
    await conn.next('connect');
    const error = nextEvent(client, 'error');
    conn.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'X' } });
    const [err] = await error;
    assert.equal(err.code, 'AUTH_FAILED');
    await waitUntil(() => client.state === 'closed', 5000, 'closed');
  });

  test('writes made within one tick leave together, not one write per packet', async () => {
    const { client, conn } = await connected(4);
    const before = conn.chunks;
    for (let i = 0; i < 200; i++) void client.publish('batch', `m${i}`);
    await waitUntil(() => conn.received.filter((p) => p.type === 'publish').length === 200, 5000, '200 publishes');
    // One batch of ~2 KB: loopback hands it over in one or a few reads, never 200.
    assert.ok(conn.chunks - before <= 5, `${conn.chunks - before} reads for 200 packets`);
  });

  test('QoS 0 publishes wait (and their promises with them) while the stream cannot take more', async () => {
    const { client, conn } = await connected(4);
    conn.pause();
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const settled: boolean[] = [];
    const all: Promise<unknown>[] = [];
    // Enough to fill the kernel's buffers and then the stream's: well over what loopback holds.
    for (let i = 0; i < 400; i++) {
      const index = i;
      all.push(client.publish('bulk', payload).then(() => (settled[index] = true)));
    }
    await waitUntil(() => client.queueLength > 0, 10000, 'publishes held back');
    assert.notEqual(settled.filter(Boolean).length, 400, 'not all resolved while nothing is read');
    conn.resume();
    await Promise.all(all);
    await waitUntil(() => conn.received.filter((p) => p.type === 'publish').length === 400, 10000, 'all 400 publishes at the server');
    assert.equal(client.queueLength, 0);
  });

  test('packets before CONNACK are a protocol error [MQTT-3.2.0-1]', async () => {
    const client = pool.open(server.url, { protocolVersion: 4 });
    const errors: MqttError[] = [];
    client.on('error', (e) => errors.push(e));
    const conn = await server.connection();
    await conn.next('connect');
    conn.send({ type: 'puback', packetId: 1 });
    await waitUntil(() => client.state === 'closed', 5000, 'closed');
    assert.equal(errors[0].code, 'PROTOCOL_ERROR');
  });
});
