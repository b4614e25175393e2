// 07-will: the Will Message. MQTT 3.1.1 §3.1.2.5-3.1.2.7 and MQTT 5.0 §3.1.2.5-3.1.2.7, §3.1.3.2.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IConnectPacket } from 'mqtt-packet';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName, type Version } from './helpers/broker';
import { uniqueId, type RawClient } from './helpers/raw-client';

function withWill(version: Version, topic: string, extra: Partial<NonNullable<IConnectPacket['will']>> = {}, connect: Partial<IConnectPacket> = {}): Partial<IConnectPacket> {
  return { will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false, ...extra }, ...connect };
}

for (const version of VERSIONS) {
  describe(`07-will ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();

    async function watcher(topic: string, qos: 0 | 1 | 2 = 2): Promise<RawClient> {
      const { client } = await h.raw(version);
      await client.subscribe(topic, qos);
      return client;
    }

    test('[MQTT-3.1.2-8] the will is published when the network connection closes without DISCONNECT', async () => {
      const t = `${uniqueId('w')}/will`;
      const w = await watcher(t);
      const { client } = await h.raw(version, withWill(version, t));
      client.destroy();
      const p = await w.receive();
      assert.equal(p.topic, t);
      assert.equal(p.payload.toString(), 'gone');
      assert.equal(p.qos, 1, '[MQTT-3.1.2-14] published at the will QoS');
      assert.equal(p.retain, false);
    });

    test('[MQTT-3.1.2-8] [MQTT-3.1.2-24] the will is published when keep alive expires', async () => {
      const t = `${uniqueId('w')}/will`;
      const w = await watcher(t);
      await h.raw(version, withWill(version, t, {}, { keepalive: 1 }));
      const p = await w.receive(7000);
      assert.equal(p.payload.toString(), 'gone');
    });

    test('[MQTT-3.1.2-8] the will is published when the server closes the connection for a protocol error', async () => {
      const t = `${uniqueId('w')}/will`;
      const w = await watcher(t);
      const { client } = await h.raw(version, withWill(version, t));
      client.sendBytes([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]); // PUBLISH with QoS 3: malformed
      await client.closedByBroker();
      assert.equal((await w.receive()).payload.toString(), 'gone');
    });

    test('3.1.1 [MQTT-3.1.2-10] / 5.0 [MQTT-3.1.2-10] [MQTT-3.14.4-3]: no will after a normal DISCONNECT', async () => {
      const t = `${uniqueId('w')}/will`;
      const w = await watcher(t);
      const { client } = await h.raw(version, withWill(version, t));
      client.disconnect(0x00);
      await client.closedByBroker();
      assert.ok(await w.silentFor(500));
    });

    test('[MQTT-3.1.2-17] a will with Will Retain 1 is published as a retained message', async () => {
      const t = `${uniqueId('w')}/will`;
      const { client } = await h.raw(version, withWill(version, t, { retain: true, qos: 2 }));
      client.destroy();
      // A subscriber that arrives afterwards still finds the will, retained.
      const { client: late } = await h.raw(version);
      const deadline = Date.now() + 3000;
      for (;;) {
        await late.subscribe(t, 2);
        const got = await late.silentFor(200);
        if (!got) break;
        if (Date.now() > deadline) assert.fail('the will was not retained');
      }
      const p = await late.receive();
      assert.equal(p.payload.toString(), 'gone');
      assert.equal(p.retain, true);
      assert.equal(p.qos, 2);
      await late.publish(t, Buffer.alloc(0), 0, { retain: true });
    });

    test('[MQTT-3.1.2-14] will QoS 0 is delivered at QoS 0', async () => {
      const t = `${uniqueId('w')}/will`;
      const w = await watcher(t, 2);
      const { client } = await h.raw(version, withWill(version, t, { qos: 0 }));
      client.destroy();
      assert.equal((await w.receive()).qos, 0);
    });

    if (version === 5) {
      test('[MQTT-3.14.2-1] DISCONNECT with 0x04 (Disconnect with Will Message) publishes the will', async () => {
        const t = `${uniqueId('w')}/will`;
        const w = await watcher(t);
        const { client } = await h.raw(version, withWill(version, t));
        client.disconnect(0x04);
        await client.closedByBroker();
        assert.equal((await w.receive()).payload.toString(), 'gone');
      });

      test('[MQTT-3.1.3-9] Will Delay Interval: published after the delay, not at once', async () => {
        const t = `${uniqueId('w')}/will`;
        const w = await watcher(t);
        const { client } = await h.raw(
          version,
          withWill(version, t, { properties: { willDelayInterval: 1 } }, { clean: false, properties: { sessionExpiryInterval: 30 } }),
        );
        client.destroy();
        assert.ok(await w.silentFor(500), 'not before the delay');
        assert.equal((await w.receive(3000)).payload.toString(), 'gone');
      });

      test('[MQTT-3.1.3-9] a client that reconnects within the Will Delay Interval suppresses its will', async () => {
        const t = `${uniqueId('w')}/will`;
        const clientId = uniqueId('wd');
        const w = await watcher(t);
        const { client } = await h.raw(
          version,
          withWill(version, t, { properties: { willDelayInterval: 1 } }, { clientId, clean: false, properties: { sessionExpiryInterval: 30 } }),
        );
        client.destroy();
        const back = await h.raw(version, { clientId, clean: false, properties: { sessionExpiryInterval: 30 } });
        assert.equal(back.connack.sessionPresent, true);
        assert.ok(await w.silentFor(1800), 'the will is not sent, even after the delay');
        back.client.disconnect(0);
      });

      test('[MQTT-3.1.2-8] [MQTT-3.1.3-9] a reconnection with Clean Start within the Will Delay Interval deletes the will, though it ends the session', async () => {
        const t = `${uniqueId('w')}/will`;
        const clientId = uniqueId('wd');
        const w = await watcher(t);
        const { client } = await h.raw(
          version,
          withWill(version, t, { properties: { willDelayInterval: 1 } }, { clientId, clean: false, properties: { sessionExpiryInterval: 30 } }),
        );
        client.destroy();
        // another client identifier connecting changes nothing for this will
        await h.raw(version, { clientId: uniqueId('other') });
        const back = await h.raw(version, { clientId, clean: true });
        assert.equal(back.connack.sessionPresent, false);
        assert.ok(await w.silentFor(1800), 'the will is not sent, at the reconnection nor after the delay');
        back.client.disconnect(0);
      });

      test('[MQTT-3.1.3-9] a connection taken over while its will has a delay: the will is not sent', async () => {
        const t = `${uniqueId('w')}/will`;
        const clientId = uniqueId('wt');
        const w = await watcher(t);
        const first = await h.raw(version, withWill(version, t, { properties: { willDelayInterval: 1 } }, { clientId, clean: true }));
        const second = await h.raw(version, { clientId, clean: true });
        assert.equal((await first.client.expect('disconnect')).reasonCode, 0x8e);
        assert.ok(await w.silentFor(1800), 'not at the takeover, nor after the delay');
        second.client.disconnect(0);
      });

      test('[MQTT-3.1.2-8] the will is published when the session ends before the Will Delay Interval', async () => {
        const t = `${uniqueId('w')}/will`;
        const w = await watcher(t);
        // Session Expiry Interval 0: the session ends with the connection, so the will goes at once.
        const { client } = await h.raw(version, withWill(version, t, { properties: { willDelayInterval: 30 } }));
        client.destroy();
        assert.equal((await w.receive(2000)).payload.toString(), 'gone');
      });

      test('[MQTT-3.1.3-10] will properties are forwarded with the will', async () => {
        const t = `${uniqueId('w')}/will`;
        const w = await watcher(t);
        const { client } = await h.raw(
          version,
          withWill(version, t, {
            properties: { contentType: 'text/plain', payloadFormatIndicator: true, userProperties: { origin: 'will' }, responseTopic: 'r/t' },
          }),
        );
        client.destroy();
        const p = await w.receive();
        assert.equal(p.properties?.contentType, 'text/plain');
        assert.equal(p.properties?.payloadFormatIndicator, true);
        assert.deepEqual({ ...p.properties?.userProperties }, { origin: 'will' });
        assert.equal(p.properties?.responseTopic, 'r/t');
      });
    }

    test('[MQTT-3.1.4-2] a session taken over by a connection that resumes it: the old connection\'s will is not sent', async () => {
      const t = `${uniqueId('w')}/will`;
      const clientId = uniqueId('wk');
      const w = await watcher(t);
      const persistent: Partial<IConnectPacket> = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) };
      const first = await h.raw(version, withWill(version, t, {}, persistent));
      const second = await h.raw(version, persistent);
      assert.equal(second.connack.sessionPresent, true);
      await first.client.closedByBroker();
      assert.ok(await w.silentFor(500), 'the client is still there: no will');
      second.client.disconnect(0);
    });

    test('[MQTT-3.1.4-2] [MQTT-3.1.2-8] a session taken over by a clean connection ends: the old connection\'s will is sent', async () => {
      const t = `${uniqueId('w')}/will`;
      const clientId = uniqueId('wc');
      const w = await watcher(t);
      const first = await h.raw(version, withWill(version, t, {}, { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) }));
      const second = await h.raw(version, { clientId, clean: true });
      await first.client.closedByBroker();
      assert.equal((await w.receive()).payload.toString(), 'gone');
      second.client.disconnect(0);
    });

    test('MQTT.js: the will of a client that vanishes reaches an MQTT.js subscriber', async () => {
      const t = `${uniqueId('w')}/js`;
      const sub = await h.js(version);
      await sub.client.subscribeAsync(t, { qos: 1 });
      const dying = await h.js(version, { will: { topic: t, payload: Buffer.from('js-will'), qos: 1, retain: false } });
      (dying.client.stream as unknown as { destroy(): void }).destroy();
      const m = await sub.nextMessage(3000);
      assert.equal(m.payload.toString(), 'js-will');
    });
  });
}
