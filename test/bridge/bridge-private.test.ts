// Two of Mosquitto's bridge options, each against a real Mosquitto: bridge_attempt_unsubscribe on our
// bridge (a topic line turned from in to out stops coming in from a kept remote session), and
// try_private on Mosquitto's bridge into our broker (the bridge bit in CONNECT: what the bridge
// publishes is not sent back to it, RETAIN is kept as published).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { PacketDecoder, encode, type Packet } from '../../src/codec';
import { RawClient, connectPacket, uniqueId } from '../broker/helpers/raw-client';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { Cleanups, arrival, count, localBroker, localClient, mosquitto, remoteClient, startBridge } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('bridge_attempt_unsubscribe', { skip }, () => {
  for (const attemptUnsubscribe of [true, false]) {
    test(`a line turned from in to out ${attemptUnsubscribe ? 'is unsubscribed from (default)' : 'keeps coming in from the kept session (false)'}`, async () => {
      const debug: string[] = [];
      const { broker } = await localBroker(cleanups, { logger: { debug: (m) => debug.push(m) } });
      const remote = await mosquitto(cleanups);
      const far = await remoteClient(cleanups, remote.port, 4);
      const base = { name: 'turned', address: `127.0.0.1:${remote.port}`, remoteClientId: `turned-${attemptUnsubscribe}`, cleanSession: false, notifications: false };
      // first configuration: t/# comes in; Mosquitto keeps the subscription in the bridge's session
      const before = await startBridge(cleanups, broker, { ...base, topics: [{ pattern: 't/#', direction: 'in', qos: 1 }] });
      await before.stop();
      // then t/# goes out only; s/# comes in, to know when what Mosquitto sent has arrived
      await startBridge(cleanups, broker, {
        ...base,
        attemptUnsubscribe,
        topics: [
          { pattern: 't/#', direction: 'out', qos: 1 },
          { pattern: 's/#', direction: 'in', qos: 1 },
        ],
      });
      const local = await localClient(cleanups, broker.addresses()[0].port);
      await local.client.subscribe('#', { qos: 1 });
      await far.client.publishAsync('t/stale', 'stale', { qos: 1 });
      await far.client.publishAsync('s/marker', 'marker', { qos: 1 });
      await arrival(local.received, 'marker');
      const dropped = debug.filter((m) => m.includes('dropped a message on t/stale'));
      // no topic line takes t/stale in, so it never reaches our clients; the difference is whether Mosquitto sent it
      assert.equal(count(local.received, 'stale'), 0);
      assert.equal(dropped.length, attemptUnsubscribe ? 0 : 1, debug.join('\n'));
    });
  }
});

/** A remote broker that answers CONNECT, SUBSCRIBE and UNSUBSCRIBE and records what the bridge sends, as decoded packets. */
async function recordingRemote(): Promise<{ port: number; packets: Packet[] }> {
  const packets: Packet[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const decoder = new PacketDecoder();
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== null && !(p instanceof Error); p = decoder.next()) {
        packets.push(p);
        const v = decoder.protocolVersion;
        if (p.type === 'connect') socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, v));
        if (p.type === 'subscribe') socket.write(encode({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((x) => x.qos) }, v));
        if (p.type === 'unsubscribe') socket.write(encode({ type: 'unsuback', packetId: p.packetId, reasonCodes: p.topicFilters.map(() => 0) }, v));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as net.AddressInfo).port, packets };
}

describe('what our bridge sends on connecting, as Mosquitto does', () => {
  for (const [protocolVersion, cleanSession] of [['mqttv311', true], ['mqttv50', false], ['mqttv50', true]] as const) {
    test(`${protocolVersion}, cleansession ${cleanSession}: one SUBSCRIBE or UNSUBSCRIBE per topic line, in their order, then the queued messages`, async () => {
      const { broker, port } = await localBroker(cleanups, { maxInflightMessages: 7 });
      const remote = await recordingRemote();
      const local = await localClient(cleanups, port);
      await startBridge(cleanups, broker, {
        name: 'wire',
        address: `127.0.0.1:${remote.port}`,
        remoteClientId: 'wire-1',
        protocolVersion,
        cleanSession,
        notifications: false,
        topics: [
          { pattern: 'a/#', direction: 'in', qos: 1 },
          { pattern: 'b/#', direction: 'out', qos: 1 },
          { pattern: 'c/#', direction: 'both', qos: 0 },
        ],
      }, false);
      // queued for the bridge before it connects
      await local.client.publish('b/queued', 'queued', { qos: 1 });
      await waitUntil(() => remote.packets.some((p) => p.type === 'publish'), 10_000, 'the queued PUBLISH');
      const sent = remote.packets.map((p) => (p.type === 'subscribe' ? `subscribe ${p.subscriptions.map((x) => x.topicFilter).join(',')}` : p.type === 'unsubscribe' ? `unsubscribe ${p.topicFilters.join(',')}` : p.type));
      assert.deepEqual(sent, ['connect', 'subscribe a/#', 'unsubscribe b/#', 'subscribe c/#', 'publish']);
      const connect = remote.packets[0];
      assert.ok(connect.type === 'connect');
      if (protocolVersion === 'mqttv50') {
        // Receive Maximum from max_inflight_messages; cleansession false keeps the remote session [MQTT-3.1.2-23]
        assert.equal(connect.properties?.receiveMaximum, 7);
        assert.equal(connect.properties?.sessionExpiryInterval, cleanSession ? undefined : 0xffffffff);
      } else {
        assert.equal(connect.bridge, true, 'try_private: the bridge bit (protocol level 0x84)');
      }
    });
  }
});

describe('try_private: Mosquitto bridging into our broker', { skip }, () => {
  test('what the bridge publishes is not sent back to it, and RETAIN is kept as published', async () => {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups, {
      extraConfig: [
        'connection into-ours',
        `address 127.0.0.1:${port}`,
        'remote_clientid mosquitto-into-ours',
        'bridge_protocol_version mqttv311',
        'try_private true',
        'cleansession true',
        'notifications false',
        'restart_timeout 1',
        'topic loop/# both 1',
      ],
    });
    await waitUntil(() => broker.clients().some((c) => c.id === 'mosquitto-into-ours'), 10_000, "Mosquitto's bridge to connect to ours");
    const far = await remoteClient(cleanups, remote.port, 4);
    await far.client.subscribeAsync('loop/#', { qos: 1 });
    const local = await localClient(cleanups, port, 4);
    await local.client.subscribe('loop/#', { qos: 1 });
    // Mosquitto subscribes to loop/# on ours once connected: wait until a message of ours crosses
    await waitUntil(async () => {
      await local.client.publish('loop/ready', 'ready', { qos: 1 });
      return count(far.received, 'ready') > 0;
    }, 10_000, 'the bridge subscription on ours');

    // from Mosquitto's side: in once on ours, not back to Mosquitto (which would deliver it again and send it on)
    await far.client.publishAsync('loop/a', 'from-mosquitto', { qos: 1 });
    await arrival(local.received, 'from-mosquitto');
    // from ours: over to Mosquitto once, not back
    await local.client.publish('loop/b', 'from-ours', { qos: 1 });
    await arrival(far.received, 'from-ours');
    // a later message on each side, in order behind the first: any copy sent back would have come before it
    await far.client.publishAsync('loop/a', 'after-mosquitto', { qos: 1 });
    await local.client.publish('loop/b', 'after-ours', { qos: 1 });
    await arrival(far.received, 'after-ours');
    await arrival(local.received, 'after-mosquitto');
    assert.equal(count(far.received, 'from-mosquitto'), 1, 'a message from Mosquitto came back to it');
    assert.equal(count(local.received, 'from-mosquitto'), 1);
    assert.equal(count(far.received, 'from-ours'), 1);
    assert.equal(count(local.received, 'from-ours'), 1, 'a message from ours came back to it');

    // RETAIN as published: a retained message published on ours is retained on Mosquitto too
    await local.client.publish('loop/kept', 'kept', { qos: 1, retain: true });
    await arrival(far.received, 'kept', 'kept, live at Mosquitto');
    const late = await remoteClient(cleanups, remote.port, 4);
    await late.client.subscribeAsync('loop/kept', { qos: 1 });
    const retained = await arrival(late.received, 'kept', 'kept, retained at Mosquitto');
    assert.equal(retained.retain, true);
  });
});

describe('try_private on our broker: only the bridge bit changes what a 3.1/3.1.1 subscriber gets', () => {
  async function raw(port: number, version: 3 | 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}): Promise<RawClient> {
    const c = await RawClient.open(port, version);
    cleanups.add(() => c.destroy());
    c.send(connectPacket(version, connect));
    await c.expect('connack');
    return c;
  }

  for (const version of [3, 4] as const) {
    test(`MQTT ${version === 3 ? '3.1' : '3.1.1'}: the bridge bit gives No Local and RETAIN as published; without it, its own message comes back with RETAIN 0 [MQTT-3.3.1-9]`, async () => {
      const { port } = await localBroker(cleanups);
      const topic = uniqueId('priv');
      const bridge = await raw(port, version, { bridgeMode: true } as never);
      const plain = await raw(port, version);
      await bridge.subscribe(`${topic}/#`, 1);
      await plain.subscribe(`${topic}/#`, 1);
      await bridge.publish(`${topic}/b`, 'from-bridge', 1, { retain: true });
      await plain.publish(`${topic}/p`, 'from-plain', 1, { retain: true });
      const atPlain = [await plain.receive(), await plain.receive()].map((p) => `${p.payload.toString()} r${Number(p.retain)}`).sort();
      assert.deepEqual(atPlain, ['from-bridge r0', 'from-plain r0']);
      const atBridge = await bridge.receive();
      assert.equal(`${atBridge.payload.toString()} r${Number(atBridge.retain)}`, 'from-plain r1');
      assert.equal(await bridge.silentFor(300), true, 'its own message came back to the bridge');
    });
  }

  test('a 5.0 session with Retain As Published, resumed by a 3.1.1 client without the bridge bit, gets RETAIN 0', async () => {
    const { port } = await localBroker(cleanups);
    const topic = uniqueId('rap');
    const clientId = uniqueId('resumer');
    const first = await raw(port, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
    await first.subscribe([{ topic: `${topic}/#`, qos: 1, rap: true }]);
    first.disconnect();
    const resumed = await raw(port, 4, { clientId, clean: false });
    const pub = await raw(port, 4);
    await pub.publish(`${topic}/x`, 'live', 1, { retain: true });
    const got = await resumed.receive();
    assert.deepEqual([got.payload.toString(), got.retain], ['live', false]);
  });
});
