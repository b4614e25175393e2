// 05-session: clean and persistent sessions, Session Present, messages queued while offline,
// resending with DUP on resume, session expiry. MQTT 3.1.1 §3.1.2.4, §4.1, §4.4 and
// MQTT 5.0 §3.1.2.4, §3.1.2.11.2, §4.1, §4.4.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IConnectPacket } from 'mqtt-packet';
import { useBroker, type Harness } from './helpers/harness';
import { VERSIONS, againstMosquitto, versionName, type Version } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CONNECT fields for a session that outlives the connection, in either version. */
function persistent(version: Version, clientId: string, expiry = 300): Partial<IConnectPacket> {
  return version === 5
    ? { clientId, clean: false, properties: { sessionExpiryInterval: expiry } }
    : { clientId, clean: false };
}

async function ended(h: Harness, version: Version, clientId: string): Promise<void> {
  // A clean connect (then disconnect) removes any session left by earlier tests.
  const { client } = await h.raw(version, { clientId, clean: true });
  client.disconnect();
  await client.closedByBroker();
}

for (const version of VERSIONS) {
  describe(`05-session ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();

    test('3.1.1 [MQTT-3.2.2-2] [MQTT-3.1.2-4] / 5.0 [MQTT-3.2.2-3]: resuming a session sets Session Present and keeps subscriptions', async () => {
      const id = uniqueId('s');
      const t = `${id}/topic`;
      const first = await h.raw(version, persistent(version, id));
      assert.equal(first.connack.sessionPresent, false, 'no session existed');
      await first.client.subscribe(t, 1);
      first.client.disconnect();
      await first.client.closedByBroker();

      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'still-subscribed', 1);
      assert.equal((await second.client.receive()).payload.toString(), 'still-subscribed');
      await ended(h, version, id);
    });

    test('[MQTT-3.1.4-2] taking over a connected persistent session keeps it: Session Present 1, subscriptions intact', async () => {
      const id = uniqueId('s');
      const t = `${id}/takeover`;
      const first = await h.raw(version, persistent(version, id));
      await first.client.subscribe(t, 1);
      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      await first.client.closedByBroker();
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'after-takeover', 1);
      assert.equal((await second.client.receive()).payload.toString(), 'after-takeover');
      await ended(h, version, id);
    });

    test('3.1.1 [MQTT-3.1.2-6] [MQTT-3.2.2-1] / 5.0 [MQTT-3.1.2-4] [MQTT-3.2.2-2]: a clean start discards the session', async () => {
      const id = uniqueId('s');
      const t = `${id}/topic`;
      const first = await h.raw(version, persistent(version, id));
      await first.client.subscribe(t, 1);
      first.client.disconnect();
      await first.client.closedByBroker();

      const clean = await h.raw(version, { clientId: id, clean: true });
      assert.equal(clean.connack.sessionPresent, false);
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'not-for-you', 1);
      assert.ok(await clean.client.silentFor(300), 'the old subscription is gone');
      clean.client.disconnect();
      await clean.client.closedByBroker();
      const after = await h.raw(version, persistent(version, id));
      assert.equal(after.connack.sessionPresent, false);
      await ended(h, version, id);
    });

    test('3.1.1 [MQTT-3.1.2-5] / 5.0 [MQTT-3.1.2-5]: QoS 1 and 2 messages published while offline are delivered on resume', async () => {
      const id = uniqueId('s');
      const t = `${id}/q`;
      const first = await h.raw(version, persistent(version, id));
      await first.client.subscribe(t, 2);
      first.client.disconnect();
      await first.client.closedByBroker();

      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'offline-1', 1);
      await pub.publish(t, 'offline-2', 2);

      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      const a = await second.client.receive();
      const b = await second.client.receive();
      assert.deepEqual([a.payload.toString(), b.payload.toString()], ['offline-1', 'offline-2']);
      assert.deepEqual([a.qos, b.qos], [1, 2]);
      await ended(h, version, id);
    });

    test('[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged QoS 1 message is resent on resume with DUP 1 and the same packet id', async () => {
      const id = uniqueId('s');
      const t = `${id}/dup`;
      const first = await h.raw(version, persistent(version, id));
      await first.client.subscribe(t, 1);
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'unacked', 1);
      const original = await first.client.expect('publish');
      assert.equal(original.dup, false);
      first.client.destroy(); // no PUBACK

      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      const again = await second.client.expect('publish');
      assert.equal(again.payload.toString(), 'unacked');
      assert.equal(again.dup, true, '[MQTT-3.3.1-1] DUP on re-delivery');
      assert.equal(again.messageId, original.messageId, 'original packet id');
      second.client.send({ cmd: 'puback', messageId: again.messageId! });
      assert.ok(await second.client.silentFor(300), 'acknowledged: not sent again');
      await ended(h, version, id);
    });

    test('[MQTT-4.4.0-1] a PUBREL not completed is resent on resume', async () => {
      const id = uniqueId('s');
      const t = `${id}/rel`;
      const first = await h.raw(version, persistent(version, id));
      await first.client.subscribe(t, 2);
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'q2', 2);
      const p = await first.client.expect('publish');
      first.client.send({ cmd: 'pubrec', messageId: p.messageId! });
      await first.client.expect('pubrel');
      first.client.destroy(); // no PUBCOMP

      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      const pubrel = await second.client.expect('pubrel');
      assert.equal(pubrel.messageId, p.messageId);
      second.client.send({ cmd: 'pubcomp', messageId: p.messageId! });
      assert.ok(await second.client.silentFor(300), 'no second delivery of the message');
      await ended(h, version, id);
    });

    test('[MQTT-3.1.2-4] session state keeps a QoS 2 message received but not released across a reconnect of the publisher', async () => {
      const id = uniqueId('s');
      const t = `${id}/in`;
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 2);
      const first = await h.raw(version, persistent(version, id));
      first.client.send({ cmd: 'publish', topic: t, payload: 'in-flight', qos: 2, retain: false, dup: false, messageId: 5 });
      await first.client.expect('pubrec');
      first.client.destroy();
      const second = await h.raw(version, persistent(version, id));
      assert.equal(second.connack.sessionPresent, true);
      second.client.send({ cmd: 'pubrel', messageId: 5 });
      const pubcomp = await second.client.expect('pubcomp');
      assert.equal(pubcomp.messageId, 5);
      if (version === 5) assert.equal(pubcomp.reasonCode ?? 0, 0, 'the packet id was known: Success');
      assert.equal((await sub.receive()).payload.toString(), 'in-flight');
      assert.ok(await sub.silentFor(200), 'exactly once');
      await ended(h, version, id);
    });

    if (version === 5) {
      test('[MQTT-3.1.2-23] Session Expiry Interval 0 (absent): the session ends with the connection', async () => {
        const id = uniqueId('s');
        const first = await h.raw(version, { clientId: id, clean: false });
        await first.client.subscribe(`${id}/x`, 1);
        first.client.disconnect();
        await first.client.closedByBroker();
        const second = await h.raw(version, { clientId: id, clean: false });
        assert.equal(second.connack.sessionPresent, false);
      });

      test('[MQTT-4.1.0-2] a session with Session Expiry Interval 1 is gone after it expires', async () => {
        const id = uniqueId('s');
        const first = await h.raw(version, persistent(version, id, 1));
        await first.client.subscribe(`${id}/x`, 1);
        first.client.disconnect();
        await first.client.closedByBroker();
        await sleep(2500); // the interval under test, plus margin
        const second = await h.raw(version, persistent(version, id, 1));
        assert.equal(second.connack.sessionPresent, false);
      });

      test('[MQTT-3.14.2-2] DISCONNECT may lower the Session Expiry Interval to 0, ending the session', async () => {
        const id = uniqueId('s');
        const first = await h.raw(version, persistent(version, id, 300));
        first.client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
        await first.client.closedByBroker();
        const second = await h.raw(version, persistent(version, id, 300));
        assert.equal(second.connack.sessionPresent, false);
        await ended(h, version, id);
      });

      test('[MQTT-3.14.2-2] DISCONNECT setting a non-zero expiry after connecting with 0 is a protocol error', async () => {
        const id = uniqueId('s');
        const { client } = await h.raw(version, { clientId: id, clean: true });
        client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
        const before = await client.closedByBroker();
        for (const p of before) {
          assert.equal(p.cmd, 'disconnect');
          assert.equal((p as { reasonCode?: number }).reasonCode, 0x82, 'Protocol Error');
        }
        const again = await h.raw(version, { clientId: id, clean: false });
        assert.equal(again.connack.sessionPresent, false, 'the session did not survive');
      });
    }

    test('MQTT.js: persistent session receives what was published while it was offline', async () => {
      const clientId = uniqueId('js');
      const opts = version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 300 } } : { clientId, clean: false };
      const a = await h.js(version, opts);
      const t = `${clientId}/js`;
      await a.client.subscribeAsync(t, { qos: 1 });
      await a.client.endAsync();
      const { client: pub } = await h.raw(version);
      await pub.publish(t, 'while-away', 1);
      const b = await h.js(version, opts);
      const m = await b.nextMessage();
      assert.equal(m.payload.toString(), 'while-away');
      await b.end();
      await ended(h, version, clientId);
    });
  });
}

describe('05-session persistentClientExpiration (3.1.1)', { timeout: 30_000 }, () => {
  const h = useBroker({ persistentClientExpiration: 1 });
  test('a 3.1.1 persistent session expires after persistentClientExpiration seconds offline', { skip: againstMosquitto && 'Mosquitto counts this in hours at least' }, async () => {
    const id = uniqueId('s');
    const first = await h.raw(4, persistent(4, id));
    await first.client.subscribe(`${id}/x`, 1);
    first.client.disconnect();
    await first.client.closedByBroker();
    await sleep(2500); // the interval under test, plus margin
    const second = await h.raw(4, persistent(4, id));
    assert.equal(second.connack.sessionPresent, false);
  });
});
