// 02-subscribe: SUBSCRIBE / SUBACK, UNSUBSCRIBE / UNSUBACK and topic matching.
// MQTT 3.1.1 §3.8-3.11, §4.7 and MQTT 5.0 §3.8-3.11, §4.7.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';

for (const version of VERSIONS) {
  describe(`02-subscribe ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();
    const base = () => uniqueId('t');

    test('[MQTT-3.8.4-1] [MQTT-3.8.4-2] SUBACK carries the SUBSCRIBE packet id', async () => {
      const { client } = await h.raw(version);
      client.send({ cmd: 'subscribe', messageId: 4242, subscriptions: [{ topic: `${base()}/a`, qos: 1 }] });
      const suback = await client.expect('suback');
      assert.equal(suback.messageId, 4242);
    });

    test('[MQTT-3.8.4-4] [MQTT-3.9.3-1] one return code per topic filter, in order, granted QoS as requested', async () => {
      const { client } = await h.raw(version);
      const t = base();
      const suback = await client.subscribe([
        { topic: `${t}/q0`, qos: 0 },
        { topic: `${t}/q2`, qos: 2 },
        { topic: `${t}/q1`, qos: 1 },
      ]);
      assert.deepEqual(suback.granted, [0, 2, 1]);
    });

    test('[MQTT-3.9.3-2] an invalid topic filter fails (0x80 / 0x8F) or closes the connection', async () => {
      const { client } = await h.raw(version);
      const t = base();
      client.send({
        cmd: 'subscribe',
        messageId: 7,
        subscriptions: [
          { topic: `${t}/ok`, qos: 1 },
          { topic: `${t}/#/bad`, qos: 1 },
        ],
      });
      const reply = await client.nextOrClose();
      if (reply === 'closed') return;
      if (reply.cmd === 'disconnect') {
        await client.closedByBroker();
        return;
      }
      assert.equal(reply.cmd, 'suback');
      const granted = (reply as { granted: number[] }).granted;
      assert.equal(granted[0], 1);
      if (version === 5) assert.ok(granted[1] === 0x8f || granted[1] === 0x80, `0x8F Topic Filter invalid, got ${granted[1]}`);
      else assert.equal(granted[1], 0x80);
    });

    test('[MQTT-3.3.5-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] single and multi level wildcards match', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = base();
      await sub.subscribe([
        { topic: `${t}/+/b`, qos: 0 },
        { topic: `${t}/m/#`, qos: 0 },
      ]);
      await pub.publish(`${t}/x/b`, 'plus', 1);
      await pub.publish(`${t}/x/c`, 'none', 1);
      await pub.publish(`${t}/m`, 'parent', 1); // "sport/#" also matches "sport"
      await pub.publish(`${t}/m/n/o`, 'deep', 1);
      const got = [(await sub.receive()).payload.toString(), (await sub.receive()).payload.toString(), (await sub.receive()).payload.toString()];
      assert.deepEqual(got, ['plus', 'parent', 'deep']);
      assert.ok(await sub.silentFor(200), 'no message for a topic no filter matches');
    });

    test('[MQTT-4.7.2-1] filters starting with a wildcard do not match topics starting with $', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = base();
      await sub.subscribe([
        { topic: '#', qos: 0 },
        { topic: '+/x', qos: 0 },
      ]);
      await pub.publish(`$${t}/x`, 'dollar', 1);
      await pub.publish(`${t}/x`, 'plain', 1);
      // '#' sees the plain one (and maybe others' traffic); never the $ topic.
      const seen: string[] = [];
      for (;;) {
        const p = await sub.receive();
        seen.push(p.topic);
        if (p.topic === `${t}/x`) break;
      }
      assert.ok(!seen.includes(`$${t}/x`));
      assert.ok(await sub.silentFor(200).then(() => !sub.received.some((p) => p.cmd === 'publish' && p.topic === `$${t}/x`)));
    });

    test('[MQTT-4.7.3-1] topic names are case sensitive', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = base();
      await sub.subscribe(`${t}/ACCOUNTS`, 0);
      await pub.publish(`${t}/accounts`, 'lower', 1);
      await pub.publish(`${t}/ACCOUNTS`, 'upper', 1);
      assert.equal((await sub.receive()).payload.toString(), 'upper');
    });

    test('[MQTT-3.8.4-3] a subscription with the same filter replaces the old one (new QoS, one copy)', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = `${base()}/same`;
      await sub.subscribe(t, 0);
      const again = await sub.subscribe(t, 1);
      assert.deepEqual(again.granted, [1]);
      await pub.publish(t, 'once', 1);
      const p = await sub.receive();
      assert.equal(p.qos, 1, 'delivered at the new QoS');
      assert.ok(await sub.silentFor(200), 'delivered once');
    });

    test('[MQTT-3.8.4-6] [MQTT-3.3.5-1] delivered at the minimum of published and granted QoS', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = base();
      await sub.subscribe([
        { topic: `${t}/s0`, qos: 0 },
        { topic: `${t}/s1`, qos: 1 },
        { topic: `${t}/s2`, qos: 2 },
      ]);
      await pub.publish(`${t}/s0`, 'a', 2);
      assert.equal((await sub.receive()).qos, 0);
      await pub.publish(`${t}/s1`, 'b', 2);
      assert.equal((await sub.receive()).qos, 1);
      await pub.publish(`${t}/s2`, 'c', 1);
      assert.equal((await sub.receive()).qos, 1);
      await pub.publish(`${t}/s2`, 'd', 2);
      assert.equal((await sub.receive()).qos, 2);
    });

    test('[MQTT-3.10.4-4] [MQTT-3.10.4-1] UNSUBACK carries the packet id and delivery stops', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = `${base()}/u`;
      await sub.subscribe(t, 1);
      const unsuback = await sub.unsubscribe([t]);
      assert.equal(unsuback.cmd, 'unsuback');
      if (version === 5) assert.deepEqual(unsuback.granted, [0x00], 'Success');
      await pub.publish(t, 'after', 1);
      assert.ok(await sub.silentFor(300));
    });

    test('[MQTT-3.10.4-5] unsubscribing a filter that was never subscribed still gets UNSUBACK', async () => {
      const { client } = await h.raw(version);
      const unsuback = await client.unsubscribe([`${base()}/never`]);
      assert.equal(unsuback.cmd, 'unsuback');
      if (version === 5) assert.deepEqual(unsuback.granted, [0x11], 'No subscription existed');
    });

    test('[MQTT-3.3.5-1] overlapping subscriptions deliver the message (5.0: once per subscription or once at max QoS)', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = base();
      await sub.subscribe([
        { topic: `${t}/#`, qos: 0 },
        { topic: `${t}/x`, qos: 2 },
      ]);
      await pub.publish(`${t}/x`, 'overlap', 2);
      const first = await sub.receive();
      const copies = [first];
      while (!(await sub.silentFor(200))) copies.push(await sub.receive());
      assert.ok(copies.length === 1 || copies.length === 2);
      // 3.1.1: "the Server MUST deliver the message ... respecting the maximum QoS of all the matching subscriptions"
      if (copies.length === 1) assert.equal(first.qos, 2);
      else assert.deepEqual(copies.map((c) => c.qos).sort(), [0, 2]);
    });

    test('MQTT.js subscribes and receives on wildcard filters', async () => {
      const a = await h.js(version);
      const t = base();
      const grants = await a.client.subscribeAsync({ [`${t}/+`]: { qos: 1 } });
      assert.equal(grants[0].qos, 1);
      await a.client.publishAsync(`${t}/k`, 'js', { qos: 1 });
      const m = await a.nextMessage();
      assert.equal(m.topic, `${t}/k`);
      assert.equal(m.payload.toString(), 'js');
    });
  });
}
