// A QoS 2 message cut off mid-flow between the bridge and a real Mosquitto (a fault proxy between
// them tears the first connection at a chosen byte): the bridge's remote client keeps its session
// across the reconnection (packet ids, the message in flight, the PUBREL state) and Mosquitto keeps
// its own (cleansession false), so the message arrives exactly once, going out and coming in
// [MQTT-4.3.3-9], [MQTT-4.4.0-1].
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { encodedLength } from '../../src/codec';
import { FaultProxy, type Direction } from '../helpers/fault-proxy';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { Cleanups, arrival, count, localBroker, localClient, mosquitto, remoteClient, startBridge } from './helpers';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

const CLIENT_ID = 'cut-1';
const PAYLOAD = 'exactly-once';
// The first connection's bytes, 3.1.1: what the bridge sends up and Mosquitto sends down.
const CONNECT = encodedLength({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 60, clientId: CLIENT_ID, bridge: true }, 4);
const CONNACK = 4;
const ACK = 4; // PUBREC, PUBREL, PUBCOMP under 3.1.1
const publishLength = (topic: string) => encodedLength({ type: 'publish', topic, payload: Buffer.from(PAYLOAD), qos: 2, packetId: 1, retain: false, dup: false }, 4);
const SUBSCRIBE = encodedLength({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'in/#', qos: 2 }] }, 4);
const SUBACK = 5;

type Cut = Partial<Record<Direction, number>>;

describe('bridge: QoS 2 across a cut connection, against mosquitto', { skip, timeout: 30_000 }, () => {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  async function setUp(direction: 'out' | 'in', cut: Cut) {
    const { broker, port } = await localBroker(cleanups);
    const remote = await mosquitto(cleanups);
    const proxy = await FaultProxy.start(remote.port);
    cleanups.add(() => proxy.close());
    // only the first connection is torn; the bridge's next one goes through
    proxy.cutAfter((dir) => (proxy.accepted === 1 ? cut[dir] : undefined));
    const far = await remoteClient(cleanups, remote.port, 4);
    const local = await localClient(cleanups, port, 4);
    if (direction === 'out') await far.client.subscribeAsync('out/#', { qos: 2 });
    else await local.client.subscribe('in/#', { qos: 2 });
    const bridge = await startBridge(cleanups, broker, {
      name: 'cut',
      remoteClientId: CLIENT_ID,
      address: `127.0.0.1:${proxy.port}`,
      protocolVersion: 'mqttv311',
      cleanSession: false,
      notifications: false,
      attemptUnsubscribe: false,
      topics: [{ pattern: `${direction}/#`, direction, qos: 2 }],
    });
    return { broker, remote, proxy, far, local, bridge };
  }

  const outCuts: Array<[string, Cut]> = [
    ['PUBLISH taken by Mosquitto, its PUBREC lost', { up: CONNECT + publishLength('out/x') }],
    ['PUBREC torn on its way to the bridge', { down: CONNACK + 2 }],
    ['PUBREL taken by Mosquitto (which then delivers), its PUBCOMP lost', { up: CONNECT + publishLength('out/x') + ACK }],
  ];
  for (const [stage, cut] of outCuts) {
    test(`out: ${stage}: delivered once on Mosquitto, nothing lost`, async () => {
      const { proxy, far, local, bridge } = await setUp('out', cut);
      await local.client.publish('out/x', PAYLOAD, { qos: 2 });
      await waitUntil(() => proxy.cutsByLimit === 1, 5000, 'the cut');
      await waitUntil(() => bridge.pendingCount === 0, 10_000, 'the flow to complete on the next connection');
      // a message after it: once it is there, a duplicate of the first would be too
      await local.client.publish('out/x', 'marker', { qos: 2 });
      await arrival(far.received, 'marker');
      assert.equal(count(far.received, PAYLOAD), 1);
      assert.ok(proxy.accepted >= 2, 'the bridge reconnected');
    });
  }

  const inCuts: Array<[string, Cut]> = [
    ['PUBLISH delivered by the bridge, its PUBREC lost', { down: CONNACK + SUBACK + publishLength('in/x') }],
    ['PUBREC taken by Mosquitto, its PUBREL lost', { up: CONNECT + SUBSCRIBE + ACK }],
  ];
  for (const [stage, cut] of inCuts) {
    test(`in: ${stage}: delivered once on our broker, nothing lost`, async () => {
      const { proxy, far, local } = await setUp('in', cut);
      await far.client.publishAsync('in/x', PAYLOAD, { qos: 2 });
      await waitUntil(() => proxy.cutsByLimit === 1, 5000, 'the cut');
      await arrival(local.received, PAYLOAD);
      await waitUntil(() => proxy.accepted >= 2 && proxy.connectionCount === 1, 10_000, 'the bridge to reconnect');
      await far.client.publishAsync('in/x', 'marker', { qos: 2 });
      await arrival(local.received, 'marker');
      assert.equal(count(local.received, PAYLOAD), 1);
    });
  }
});
