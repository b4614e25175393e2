// 10-listener, WebSocket framing: the broker sends exactly one MQTT packet per WebSocket frame (Eclipse
// Paho C and JavaScript take a frame for a packet, though [MQTT-6.0.0-2] lets a frame hold several),
// while TCP keeps writing what a tick sends in few large writes. Frames are read as the `ws` package
// receives them; Debian's paho-mqtt (Python) runs QoS 0/1/2 bursts over WebSocket.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type * as mqttPacket from 'mqtt-packet';
import { type Broker, createBroker } from '../../src/broker';
import { packetsInFrame, WsFrameClient } from './helpers/ws-frames';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';
import { run } from './helpers/processes';
import { VERSIONS, versionName } from './helpers/broker';
import { waitUntil } from '../helpers/net';

/**
 * paho-mqtt 1.6 over WebSocket: a subscriber and a publisher on the broker; the publisher sends COUNT
 * messages at QOS without waiting, the subscriber must get them all, in order. argv: port path qos count.
 */
const PAHO_BURST = `
import sys, threading, time
import paho.mqtt.client as mqtt
port, path, qos, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
got, published, subscribed = [], [], threading.Event()
def make(cid):
    c = mqtt.Client(client_id=cid, transport="websockets")
    c.ws_set_options(path=path)
    return c
sub = make("paho-sub-%d" % qos)
sub.on_message = lambda c, u, m: got.append(m.payload.decode())
sub.on_subscribe = lambda c, u, mid, granted: subscribed.set()
sub.on_connect = lambda c, u, f, rc: c.subscribe("paho/burst", qos)
sub.connect("127.0.0.1", port)
sub.loop_start()
if not subscribed.wait(10): sys.exit("no SUBACK")
pub = make("paho-pub-%d" % qos)
pub.on_publish = lambda c, u, mid: published.append(mid)
pub.connect("127.0.0.1", port)
pub.loop_start()
for i in range(count): pub.publish("paho/burst", "m%d" % i, qos)
deadline = time.time() + 20
while time.time() < deadline and (len(got) < count or (qos > 0 and len(published) < count)):
    time.sleep(0.05)
pub.loop_stop(); sub.loop_stop()
expected = ["m%d" % i for i in range(count)]
print("qos %d: %d published, %d received%s" % (qos, len(published), len(got), " in order" if got == expected else ""))
sys.exit(0 if got == expected and len(published) == count else 1)
`;

/** Debian's python3-paho-mqtt, for the Python client's side; the test says so when it is missing. */
const pahoMissing = spawnSync('/usr/bin/python3', ['-c', 'import paho.mqtt.client']).status === 0 ? false : 'needs /usr/bin/python3 with python3-paho-mqtt';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(): Promise<{ broker: Broker; tcpPort: number; wsUrl: string }> {
  const broker = createBroker({
    listeners: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, protocol: 'ws', path: '/mqtt' }],
    sysInterval: 0,
  });
  await broker.listen();
  cleanups.push(() => broker.close());
  const [tcp, ws] = broker.addresses();
  return { broker, tcpPort: tcp.port, wsUrl: `ws://127.0.0.1:${ws.port}/mqtt` };
}

async function wsClient(url: string, version: 4 | 5, id: string): Promise<WsFrameClient> {
  const c = await WsFrameClient.open(url, version);
  cleanups.push(() => c.close());
  await c.connect(id);
  return c;
}

function assertOnePacketPerFrame(c: WsFrameClient, who: string): void {
  for (const [i, frame] of c.frames.entries()) {
    const { lengths, error } = packetsInFrame(frame);
    assert.equal(error, undefined, `${who}, frame ${i}: ${error}`);
    assert.equal(lengths.length, 1, `${who}, frame ${i} of ${frame.length} bytes holds ${lengths.length} packets`);
  }
}

const isPublish = (p: mqttPacket.Packet): boolean => p.cmd === 'publish';
const isPuback = (p: mqttPacket.Packet): boolean => p.cmd === 'puback';

describe('10-listener: one MQTT packet per WebSocket frame', () => {
  for (const version of VERSIONS) {
    test(`${versionName(version)}: a QoS 1 burst, its PUBACKs and its fan-out arrive one packet per frame; TCP still gathers`, async () => {
      const { tcpPort, wsUrl } = await start();
      const n = 100;
      const publisher = await wsClient(wsUrl, version, uniqueId('wspub'));
      const subscribers = [await wsClient(wsUrl, version, uniqueId('wss1')), await wsClient(wsUrl, version, uniqueId('wss2'))];
      // the publisher hears its own messages too: PUBLISHes and PUBACKs to it go out in the same ticks
      for (const [i, c] of [publisher, ...subscribers].entries()) {
        c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'burst/#', qos: 1 }] } as mqttPacket.ISubscribePacket);
        await c.waitFor((p) => p.cmd === 'suback', 1, `SUBACK ${i}`);
      }
      const tcp = await RawClient.open(tcpPort, version);
      cleanups.push(() => tcp.destroy());
      let tcpChunks = 0;
      tcp.socket.on('data', () => tcpChunks++);
      tcp.send(connectPacket(version, { clientId: uniqueId('tcp') }));
      await tcp.expect('connack');
      tcp.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'burst/#', qos: 0 }] });
      await tcp.expect('suback');
      tcpChunks = 0;

      // small payloads beside ones large enough to go out as header + payload (no copy on TCP)
      const publishes = Array.from({ length: n }, (_, i): mqttPacket.IPublishPacket => ({
        cmd: 'publish', topic: `burst/${i}`, qos: 1, messageId: i + 1, retain: false, dup: false,
        payload: Buffer.alloc(i % 10 === 0 ? 10_000 : 20, i),
      }));
      publisher.send(...publishes); // one frame holding all of them: the broker reads it whole
      await publisher.waitFor(isPuback, n, 'PUBACK to the publisher');
      for (const c of [publisher, ...subscribers]) await c.waitFor(isPublish, n, 'PUBLISH fanned out');
      await waitUntil(() => tcp.received.filter((p) => p.cmd === 'publish').length === n, 8000, 'the burst over TCP');

      for (const [i, c] of [publisher, ...subscribers].entries()) {
        assertOnePacketPerFrame(c, i === 0 ? 'publisher' : `subscriber ${i}`);
        const payloads = c.received.filter(isPublish).map((p) => (p as mqttPacket.IPublishPacket).payload as Buffer);
        assert.deepEqual(payloads, publishes.map((p) => p.payload));
      }
      // over TCP what a tick writes still goes out together: fewer reads than packets
      assert.ok(tcpChunks < n, `TCP: ${n} PUBLISHes came in ${tcpChunks} reads`);
    });
  }

  test('Debian paho-mqtt (Python) over WebSocket: bursts at QoS 0, 1 and 2 all arrive', { skip: pahoMissing }, async () => {
    const { wsUrl } = await start();
    const port = new URL(wsUrl).port;
    for (const qos of [0, 1, 2]) {
      const r = await run('/usr/bin/python3', ['-c', PAHO_BURST, port, '/mqtt', String(qos), '200'], 30_000);
      assert.equal(r.code, 0, `QoS ${qos}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^qos ${qos}: 200 published, 200 received in order$`, 'm'));
    }
  });
});
