// 04-retain: retained messages. MQTT 3.1.1 §3.3.1.3 and MQTT 5.0 §3.3.1.3 (numbering differs:
// each test names the statement of both versions).
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';

for (const version of VERSIONS) {
  describe(`04-retain ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();
    const topic = () => `${uniqueId('r')}/state`;

    test('3.1.1 [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] / 5.0 [MQTT-3.3.1-5] [MQTT-3.3.1-9]: a new subscriber gets the retained message with RETAIN 1', async () => {
      const { client: pub } = await h.raw(version);
      const t = topic();
      await pub.publish(t, 'kept', 1, { retain: true });
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 1);
      const p = await sub.receive();
      assert.equal(p.payload.toString(), 'kept');
      assert.equal(p.retain, true);
      assert.equal(p.qos, 1);
    });

    test('3.1.1 [MQTT-3.3.1-9] / 5.0 [MQTT-3.3.1-12]: live delivery to an existing subscription has RETAIN 0', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 0);
      await pub.publish(t, 'live', 1, { retain: true });
      const p = await sub.receive();
      assert.equal(p.payload.toString(), 'live');
      assert.equal(p.retain, false);
    });

    test('3.1.1 [MQTT-3.3.1-7]: a new retained message replaces the previous one', async () => {
      const { client: pub } = await h.raw(version);
      const t = topic();
      await pub.publish(t, 'first', 1, { retain: true });
      await pub.publish(t, 'second', 0, { retain: true });
      await pub.publish(t, 'not-retained', 1, { retain: false });
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 1);
      const p = await sub.receive();
      assert.equal(p.payload.toString(), 'second');
      assert.equal(p.qos, 0, 'the retained QoS 0 message is delivered at QoS 0');
      assert.ok(await sub.silentFor(200), 'only one retained message per topic');
    });

    test('3.1.1 [MQTT-3.3.1-10] [MQTT-3.3.1-11] / 5.0 [MQTT-3.3.1-6] [MQTT-3.3.1-7]: a zero-length retained message removes it and is not stored', async () => {
      const { client: pub } = await h.raw(version);
      const t = topic();
      await pub.publish(t, 'to-remove', 1, { retain: true });
      await pub.publish(t, Buffer.alloc(0), 1, { retain: true });
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 1);
      assert.ok(await sub.silentFor(300), 'nothing retained any more');
    });

    test('retained messages of every topic matching a wildcard filter are sent', async () => {
      const { client: pub } = await h.raw(version);
      const base = uniqueId('rw');
      await pub.publish(`${base}/a`, 'A', 1, { retain: true });
      await pub.publish(`${base}/b/c`, 'BC', 1, { retain: true });
      await pub.publish(`${base}/other/x`, 'X', 1, { retain: true });
      const { client: sub } = await h.raw(version);
      await sub.subscribe([
        { topic: `${base}/a`, qos: 1 },
        { topic: `${base}/b/#`, qos: 1 },
      ]);
      const got = [(await sub.receive()).payload.toString(), (await sub.receive()).payload.toString()].sort();
      assert.deepEqual(got, ['A', 'BC']);
      assert.ok(await sub.silentFor(200));
    });

    test('3.1.1 [MQTT-3.3.5-1]: a retained message is delivered at the minimum of its QoS and the granted QoS', async () => {
      const { client: pub } = await h.raw(version);
      const t = topic();
      await pub.publish(t, 'q2', 2, { retain: true });
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 1);
      const p = await sub.receive();
      assert.equal(p.qos, 1);
      assert.equal(p.retain, true);
    });

    test('[MQTT-3.8.4-3] re-subscribing to the same filter sends the retained message again (5.0: Retain Handling 0)', async () => {
      const { client: pub } = await h.raw(version);
      const t = topic();
      await pub.publish(t, 'again', 0, { retain: true });
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 0);
      assert.equal((await sub.receive()).payload.toString(), 'again');
      await sub.subscribe(t, 0);
      assert.equal((await sub.receive()).payload.toString(), 'again');
    });

    test('MQTT.js: retained message with a wildcard subscription', async () => {
      const a = await h.js(version);
      const t = topic();
      await a.client.publishAsync(t, 'js-retained', { qos: 1, retain: true });
      const b = await h.js(version);
      await b.client.subscribeAsync(t.replace(/\/state$/, '/+'), { qos: 1 });
      const m = await b.nextMessage();
      assert.equal(m.payload.toString(), 'js-retained');
      assert.equal(m.packet.retain, true);
    });
  });
}
