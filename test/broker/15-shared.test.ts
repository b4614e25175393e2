// 15-shared: shared subscriptions ($share/{ShareName}/{filter}), MQTT 5.0 §4.8.2; also offered to
// 3.1.1 clients (as Mosquitto does).
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName } from './helpers/broker';
import { uniqueId, type RawClient } from './helpers/raw-client';

async function drain(client: RawClient, quietMs = 150): Promise<string[]> {
  const got: string[] = [];
  while (!(await client.silentFor(quietMs))) got.push((await client.receive()).payload.toString());
  return got;
}

for (const version of VERSIONS) {
  describe(`15-shared ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();

    test('§4.8.2 each message goes to one member of the group, round robin', async () => {
      const t = `${uniqueId('sh')}/work`;
      const { client: a } = await h.raw(version);
      const { client: b } = await h.raw(version);
      const { client: plain } = await h.raw(version);
      const suba = await a.subscribe(`$share/g1/${t}`, 1);
      assert.deepEqual(suba.granted, [1]);
      await b.subscribe(`$share/g1/${t}`, 1);
      await plain.subscribe(t, 1);
      const { client: pub } = await h.raw(version);
      const sent = Array.from({ length: 6 }, (_, i) => `job${i}`);
      for (const m of sent) await pub.publish(t, m, 1);
      const gotA = await drain(a);
      const gotB = await drain(b);
      assert.deepEqual([...gotA, ...gotB].sort(), sent, 'every message once across the group');
      assert.equal(gotA.length, 3, 'round robin: half each');
      assert.equal(gotB.length, 3);
      assert.deepEqual(await drain(plain), sent, 'a non-shared subscription still gets every message');
    });

    test('two groups on one filter each get every message', async () => {
      const t = `${uniqueId('sh')}/multi`;
      const { client: a } = await h.raw(version);
      const { client: b } = await h.raw(version);
      await a.subscribe(`$share/ga/${t}`, 1);
      await b.subscribe(`$share/gb/${t}`, 1);
      const { client: pub } = await h.raw(version);
      for (const m of ['x', 'y']) await pub.publish(t, m, 1);
      assert.deepEqual(await drain(a), ['x', 'y']);
      assert.deepEqual(await drain(b), ['x', 'y']);
    });

    test('a member that leaves (unsubscribe or disconnect) no longer receives; the rest get everything', async () => {
      const t = `${uniqueId('sh')}/leave`;
      const { client: a } = await h.raw(version);
      const { client: b } = await h.raw(version);
      const { client: c } = await h.raw(version);
      for (const m of [a, b, c]) await m.subscribe(`$share/g/${t}`, 1);
      await b.unsubscribe([`$share/g/${t}`]);
      c.disconnect();
      await c.closedByBroker();
      const { client: pub } = await h.raw(version);
      for (const m of ['1', '2', '3']) await pub.publish(t, m, 1);
      assert.deepEqual(await drain(a), ['1', '2', '3']);
      assert.deepEqual(await drain(b), []);
    });

    test('§3.3.1.3 retained messages are not sent to a new shared subscription', async () => {
      const t = `${uniqueId('sh')}/ret`;
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'retained', 1, { retain: true });
      const { client: a } = await h.raw(version);
      await a.subscribe(`$share/g/${t}`, 1);
      assert.ok(await a.silentFor(300));
      await pub.publish(t, Buffer.alloc(0), 1, { retain: true });
    });

    test('[MQTT-4.8.2-1] [MQTT-4.8.2-2] an invalid shared subscription filter fails (0x80 / 0x8F) or closes', async () => {
      const { client } = await h.raw(version);
      for (const bad of ['$share/g+x/t', '$share/g']) {
        if (client.closed) break;
        const r = await client.subscribe(bad, 1).catch(() => 'closed' as const);
        if (r === 'closed') break;
        assert.ok(r.granted[0] === 0x80 || r.granted[0] === 0x8f, `${bad}: got ${r.granted[0]}`);
      }
    });

    if (version === 5) {
      test('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error', async () => {
        const { client } = await h.raw(version);
        client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/nl', qos: 1, nl: true }] });
        const before = await client.closedByBroker();
        assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x82]]);
      });

      test('CONNACK says Shared Subscription Available', async () => {
        const { connack } = await h.raw(version);
        assert.notEqual(connack.properties?.sharedSubscriptionAvailable, false);
      });
    }
  });
}

describe(`15-shared across versions`, { timeout: 30_000 }, () => {
  const h = useBroker();
  test('a 3.1.1 and a 5.0 client share one group', async () => {
    const t = `${uniqueId('sh')}/mixed`;
    const { client: v4 } = await h.raw(4);
    const { client: v5 } = await h.raw(5);
    await v4.subscribe(`$share/mix/${t}`, 1);
    await v5.subscribe(`$share/mix/${t}`, 1);
    const { client: pub } = await h.raw(5);
    for (const m of ['a', 'b', 'c', 'd']) await pub.publish(t, m, 1);
    const got4 = await drain(v4);
    const got5 = await drain(v5);
    assert.deepEqual([...got4, ...got5].sort(), ['a', 'b', 'c', 'd']);
    assert.ok(got4.length > 0 && got5.length > 0, `${versionName(4)} and ${versionName(5)} both served`);
  });
});
