// 03-publish: QoS 0, 1 and 2 flows in both directions (client to broker, broker to subscriber).
// MQTT 3.1.1 §3.3-3.7, §4.3, §4.6 and MQTT 5.0 §3.3-3.7, §4.3, §4.6.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, needsBrokerObject, versionName } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';

for (const version of VERSIONS) {
  describe(`03-publish ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();
    const topic = () => `${uniqueId('t')}/p`;

    test('[MQTT-3.3.4-1] QoS 0: delivered, and nothing is sent back to the publisher', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 2);
      await pub.publish(t, 'zero', 0);
      const p = await sub.expect('publish');
      assert.equal(p.qos, 0);
      assert.equal(p.payload.toString(), 'zero');
      assert.equal(p.messageId, undefined, '[MQTT-2.3.1-5] no packet id at QoS 0');
      assert.equal(p.dup, false, '[MQTT-3.3.1-2] DUP 0 on every QoS 0 message');
      assert.ok(await pub.silentFor(200), 'no acknowledgement of QoS 0');
    });

    test('[MQTT-4.3.2-2] [MQTT-3.4.0-1] QoS 1 from the client: PUBACK with the same packet id', async () => {
      const { client: pub } = await h.raw(version);
      pub.send({ cmd: 'publish', topic: topic(), payload: 'one', qos: 1, retain: false, dup: false, messageId: 321 });
      const puback = await pub.expect('puback');
      assert.equal(puback.messageId, 321);
      if (version === 5) assert.ok((puback.reasonCode ?? 0) === 0 || puback.reasonCode === 0x10, 'Success or No matching subscribers');
    });

    test('[MQTT-4.3.3-2] [MQTT-4.3.3-9] QoS 2 from the client: PUBREC, PUBREL, PUBCOMP with the same packet id', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 2);
      pub.send({ cmd: 'publish', topic: t, payload: 'two', qos: 2, retain: false, dup: false, messageId: 77 });
      const pubrec = await pub.expect('pubrec');
      assert.equal(pubrec.messageId, 77);
      pub.send({ cmd: 'pubrel', messageId: 77 });
      const pubcomp = await pub.expect('pubcomp');
      assert.equal(pubcomp.messageId, 77);
      const p = await sub.receive();
      assert.equal(p.payload.toString(), 'two');
      assert.equal(p.qos, 2);
    });

    test('[MQTT-4.3.3-3] QoS 2: a PUBLISH repeated before PUBREL is not delivered twice', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 2);
      pub.send({ cmd: 'publish', topic: t, payload: 'once', qos: 2, retain: false, dup: false, messageId: 9 });
      await pub.expect('pubrec');
      pub.send({ cmd: 'publish', topic: t, payload: 'once', qos: 2, retain: false, dup: true, messageId: 9 });
      const again = await pub.expect('pubrec');
      assert.equal(again.messageId, 9);
      pub.send({ cmd: 'pubrel', messageId: 9 });
      await pub.expect('pubcomp');
      assert.equal((await sub.receive()).payload.toString(), 'once');
      assert.ok(await sub.silentFor(300), 'exactly once');
    });

    test('[MQTT-4.3.3-11] PUBREL for an unknown packet id is answered with PUBCOMP (5.0: 0x92)', async () => {
      const { client } = await h.raw(version);
      client.send({ cmd: 'pubrel', messageId: 999 });
      const pubcomp = await client.expect('pubcomp');
      assert.equal(pubcomp.messageId, 999);
      if (version === 5) assert.equal(pubcomp.reasonCode, 0x92, 'Packet Identifier not found');
    });

    test('[MQTT-4.3.2-1] QoS 1 to the subscriber: PUBLISH with a packet id, DUP 0, until PUBACK', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 1);
      await pub.publish(t, 'q1', 1);
      const p = await sub.expect('publish');
      assert.equal(p.qos, 1);
      assert.equal(p.dup, false);
      assert.ok(typeof p.messageId === 'number' && p.messageId > 0, '[MQTT-2.3.1-1] non-zero packet id');
      sub.send({ cmd: 'puback', messageId: p.messageId });
      sub.send({ cmd: 'pingreq' });
      await sub.expect('pingresp');
    });

    test('[MQTT-4.3.3-1] QoS 2 to the subscriber: PUBLISH, PUBREC, PUBREL, PUBCOMP', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 2);
      await pub.publish(t, 'q2', 2);
      const p = await sub.expect('publish');
      assert.equal(p.qos, 2);
      assert.equal(p.dup, false);
      sub.send({ cmd: 'pubrec', messageId: p.messageId! });
      const pubrel = await sub.expect('pubrel');
      assert.equal(pubrel.messageId, p.messageId);
      sub.send({ cmd: 'pubcomp', messageId: p.messageId! });
      sub.send({ cmd: 'pingreq' });
      await sub.expect('pingresp');
    });

    test('[MQTT-2.3.1-2] [MQTT-2.2.1-3] unacknowledged messages in flight use distinct packet ids', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 2);
      for (let i = 0; i < 3; i++) await pub.publish(t, `m${i}`, 1);
      for (let i = 0; i < 3; i++) await pub.publish(t, `n${i}`, 2);
      const ids = new Set<number>();
      for (let i = 0; i < 6; i++) ids.add((await sub.expect('publish')).messageId!);
      assert.equal(ids.size, 6);
    });

    if (version === 5) {
      test('[MQTT-4.4.0-1] an unacknowledged message is not resent on the same connection', async () => {
        const { client: sub } = await h.raw(version);
        const { client: pub } = await h.raw(version);
        const t = topic();
        await sub.subscribe(t, 1);
        await pub.publish(t, 'no-resend', 1);
        await sub.expect('publish');
        assert.ok(await sub.silentFor(700));
      });

      test('$SYS is closed to clients but for $SYS/broker/connection/{id}/state (a remote bridge\'s state), $share topics too: 0x87', async () => {
        const { client: sub } = await h.raw(version);
        await sub.subscribe('$SYS/broker/connection/+/state', 1);
        const { client: pub } = await h.raw(version);
        assert.equal((await pub.publish('$SYS/broker/connection/remote-1/state', '1', 1))?.reasonCode ?? 0, 0);
        assert.equal((await sub.receive()).payload.toString(), '1');
        assert.equal((await pub.publish('$SYS/broker/uptime', '1', 1))?.reasonCode, 0x87);
        assert.equal((await pub.publish('$SYS/broker/connection/remote-1', '1', 1))?.reasonCode, 0x87);
        assert.equal((await pub.publish('$share/g/t', '1', 1))?.reasonCode, 0x87);
      });
    }

    test('[MQTT-4.6.0-6] messages on one topic reach a subscriber in the order published', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 1);
      const n = 30;
      for (let i = 0; i < n; i++) pub.send({ cmd: 'publish', topic: t, payload: String(i), qos: 1, retain: false, dup: false, messageId: i + 1 });
      const got: string[] = [];
      for (let i = 0; i < n; i++) got.push((await sub.receive()).payload.toString());
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => String(i)));
    });

    test('[MQTT-3.3.3-1] zero-length and large payloads arrive unchanged', async () => {
      const { client: sub } = await h.raw(version);
      const { client: pub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 1);
      await pub.publish(t, Buffer.alloc(0), 1);
      assert.equal((await sub.receive()).payload.length, 0);
      const big = Buffer.alloc(200_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      await pub.publish(t, big, 1);
      assert.ok(Buffer.from((await sub.receive(5000)).payload).equals(big));
    });

    test('MQTT.js: QoS 0, 1 and 2 round trips through the broker', async () => {
      const a = await h.js(version);
      const b = await h.js(version);
      const t = topic();
      await b.client.subscribeAsync(t, { qos: 2 });
      for (const qos of [0, 1, 2] as const) {
        await a.client.publishAsync(t, `qos${qos}`, { qos });
        const m = await b.nextMessage();
        assert.equal(m.payload.toString(), `qos${qos}`);
        assert.equal(m.packet.qos, qos);
      }
    });

    test('broker.publish injects a message that subscribers receive', { skip: needsBrokerObject }, async () => {
      const { client: sub } = await h.raw(version);
      const t = topic();
      await sub.subscribe(t, 1);
      await h.broker.publish({ topic: t, payload: Buffer.from('injected'), qos: 1 });
      const p = await sub.receive();
      assert.equal(p.payload.toString(), 'injected');
      assert.equal(p.qos, 1);
    });
  });
}

describe('03-publish MQTT 5.0: 0x10 No matching subscribers', { timeout: 30_000 }, () => {
  const h = useBroker();

  test('QoS 1: PUBACK says 0x10 when no subscription matches, 0x00 when one does (section 3.4.2.1, as Mosquitto)', async () => {
    const { client: pub } = await h.raw(5);
    const t = `${uniqueId('nomatch')}/t`;
    pub.send({ cmd: 'publish', topic: t, payload: 'x', qos: 1, retain: false, dup: false, messageId: 1 });
    assert.equal((await pub.expect('puback')).reasonCode, 0x10);
    const { client: sub } = await h.raw(5);
    await sub.subscribe(t, 1);
    pub.send({ cmd: 'publish', topic: t, payload: 'y', qos: 1, retain: false, dup: false, messageId: 2 });
    assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0);
    assert.equal((await sub.receive()).payload.toString(), 'y');
  });

  test("QoS 1: the publisher's own No Local subscription counts as a match (0x00, as Mosquitto)", async () => {
    const { client } = await h.raw(5);
    const t = `${uniqueId('nolocal')}/t`;
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: t, qos: 1, nl: true }] } as never);
    await client.expect('suback');
    client.send({ cmd: 'publish', topic: t, payload: 'x', qos: 1, retain: false, dup: false, messageId: 2 });
    assert.equal((await client.expect('puback')).reasonCode ?? 0, 0);
  });

  test('QoS 2: PUBREC stays 0x00 without subscribers (as Mosquitto)', async () => {
    const { client: pub } = await h.raw(5);
    pub.send({ cmd: 'publish', topic: `${uniqueId('nomatch')}/q2`, payload: 'x', qos: 2, retain: false, dup: false, messageId: 1 });
    assert.equal((await pub.expect('pubrec')).reasonCode ?? 0, 0);
  });
});

for (const version of VERSIONS) {
  describe(`03-publish ${versionName(version)}: the wrong acknowledgement for a delivery in flight closes the connection`, { timeout: 30_000 }, () => {
    const h = useBroker();
    const cases: [string, 1 | 2, ('pubrec' | 'pubcomp' | 'puback')[]][] = [
      ['[MQTT-4.3.2-1] PUBREC for a QoS 1 delivery', 1, ['pubrec']],
      ['[MQTT-4.3.2-1] PUBCOMP for a QoS 1 delivery', 1, ['pubcomp']],
      ['[MQTT-4.3.3-1] PUBACK for a QoS 2 delivery', 2, ['puback']],
      ['[MQTT-4.3.3-1] PUBCOMP for a QoS 2 delivery before PUBREC', 2, ['pubcomp']],
      ['[MQTT-4.3.3-1] PUBACK for a QoS 2 delivery after PUBREL', 2, ['pubrec', 'puback']],
    ];
    for (const [name, qos, acks] of cases) {
      test(name, async () => {
        const { client: sub } = await h.raw(version);
        const { client: pub } = await h.raw(version);
        const t = `${uniqueId('badack')}/t`;
        await sub.subscribe(t, qos);
        await pub.publish(t, 'm', qos);
        const p = await sub.expect('publish');
        for (const [i, cmd] of acks.entries()) {
          sub.send({ cmd, messageId: p.messageId } as never);
          if (i < acks.length - 1) await sub.expect('pubrel'); // a right PUBREC first
        }
        const before = await sub.closedByBroker();
        assert.deepEqual(before.map((x) => [x.cmd, (x as { reasonCode?: number }).reasonCode]), version === 5 ? [['disconnect', 0x82]] : []);
      });
    }

    test('an acknowledgement for an unknown packet id is ignored', async () => {
      const { client } = await h.raw(version);
      client.send({ cmd: 'puback', messageId: 4242 } as never);
      client.send({ cmd: 'pubcomp', messageId: 4243 } as never);
      client.send({ cmd: 'pingreq' });
      await client.expect('pingresp');
    });
  });
}
