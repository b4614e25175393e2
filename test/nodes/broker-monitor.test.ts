// The sidebar's broker monitor costs nothing per message while nobody looks: it listens to the
// broker's published messages and pushes snapshots only within the watch window a viewer opened.
// A real broker and real MQTT.js clients; the comms channel is a list the test reads.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createBroker, type Broker } from '../../src/broker';
import { BrokerMonitor, previewPayload } from '../../nodes/lib/broker-monitor';
import { freePort, waitUntil } from '../helpers/net';

describe('broker monitor', () => {
  let broker: Broker | undefined;
  let monitor: BrokerMonitor | undefined;
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    monitor?.detach();
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await broker?.close();
  });

  test('idle: no listener on published messages, nothing pushed; watched: both; after the window: neither', async () => {
    const port = await freePort();
    broker = createBroker({ listeners: [{ host: '127.0.0.1', port }], sysInterval: 0 });
    await broker.listen();
    const pushes: Array<{ topic: string; at: number }> = [];
    const comms = { publish: (topic: string) => pushes.push({ topic, at: Date.now() }) };
    monitor = new BrokerMonitor({ comms }, { id: 'b1', name: 'b', debug: () => undefined }, { watchMs: 2500 });
    monitor.attach(broker);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'm1', reconnectPeriod: 0 });
    clients.push(c);

    assert.equal(broker.listenerCount('published'), 0, 'idle: not listening to messages');
    await c.publishAsync('idle/topic', 'unseen', { qos: 1 });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(pushes.length, 0, 'idle: nothing pushed');
    assert.deepEqual((await monitor.snapshot()).topics, [], 'a message while idle is not remembered');

    const watchedFrom = Date.now();
    monitor.watch();
    assert.equal(broker.listenerCount('published'), 1, 'watched: listening');
    await c.publishAsync('watched/topic', '{"a":1}', { qos: 1 });
    const topics = (await monitor.snapshot()).topics;
    assert.deepEqual(topics.map((t) => [t.topic, t.payload.kind, t.payload.text]), [['watched/topic', 'json', '{"a":1}']]);
    await waitUntil(() => pushes.length >= 1, 4000, 'a push');
    assert.ok(pushes.every((p) => p.topic === 'mqtt-hub/b1'));
    await waitUntil(() => !monitor!.watching, 6000, 'the watch window to close');
    // At most one push a second (a loaded machine pushes fewer, never more).
    assert.ok(pushes.length <= Math.ceil((Date.now() - watchedFrom) / 1000) + 1, `${pushes.length} pushes`);
    assert.equal(broker.listenerCount('published'), 0, 'after the window: not listening');
    const count = pushes.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pushes.length, count, 'after the window: nothing pushed');
  });

  test('clients that leave are remembered with the reason, newest first, even while idle', async () => {
    const port = await freePort();
    broker = createBroker({ listeners: [{ host: '127.0.0.1', port }], sysInterval: 0 });
    await broker.listen();
    monitor = new BrokerMonitor({ comms: { publish: () => undefined } }, { id: 'b2', name: '', debug: () => undefined });
    monitor.attach(broker);
    const a = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'first', reconnectPeriod: 0 });
    await a.endAsync();
    const b = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'second', reconnectPeriod: 0 });
    (b.stream as unknown as { destroy(): void }).destroy();
    await waitUntil(async () => (await monitor!.snapshot()).gone.length === 2, 5000, 'two gone');
    await b.endAsync(true);
    assert.deepEqual((await monitor.snapshot()).gone.map((g) => [g.id, g.reason]), [['second', 'closed'], ['first', 'disconnect']]);
  });

  test('payload previews: JSON, text, hex for binary, empty', () => {
    assert.deepEqual(previewPayload(Buffer.from(' { "x" : [1, 2] } ')), { kind: 'json', text: '{"x":[1,2]}', size: 18 });
    assert.deepEqual(previewPayload(Buffer.from('21.5 °C')), { kind: 'text', text: '21.5 °C', size: 8 });
    assert.deepEqual(previewPayload(Buffer.from('hello world')), { kind: 'text', text: 'hello world', size: 11 });
    assert.deepEqual(previewPayload(Buffer.from([0x00, 0x01, 0xfe])), { kind: 'hex', text: '00 01 fe', size: 3 });
    assert.deepEqual(previewPayload(Buffer.alloc(0)), { kind: 'empty', text: '', size: 0 });
    // 255 bytes of ASCII then a 3-byte character cut at byte 256: still text.
    const cut = previewPayload(Buffer.from('a'.repeat(255) + '温度'));
    assert.deepEqual([cut.kind, cut.text, cut.size], ['text', 'a'.repeat(255), 261]);
    const long = previewPayload(Buffer.alloc(1000, 'a'));
    assert.deepEqual([long.kind, long.text.length, long.size], ['text', 256, 1000]);
  });
});
