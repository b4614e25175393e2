// 14-sys: $SYS topics are published by the broker; clients cannot publish into $SYS, and '#' does not
// see them [MQTT-4.7.2-1].
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';

for (const version of VERSIONS) {
  describe(`14-sys ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker({ sysInterval: 1 });

    test('$SYS/broker/... topics are published: version, uptime, connected clients', async () => {
      const { client } = await h.raw(version);
      await client.subscribe('$SYS/#', 0);
      const seen = new Map<string, string>();
      const deadline = Date.now() + 4000;
      // The first values may be retained ones from before this client connected: read on until the
      // count includes it (the next round, sysInterval 1 s).
      while (Date.now() < deadline && !(seen.has('$SYS/broker/version') && seen.has('$SYS/broker/uptime') && Number(seen.get('$SYS/broker/clients/connected')) >= 1)) {
        const p = await client.receive(Math.max(1, deadline - Date.now()));
        seen.set(p.topic, p.payload.toString());
      }
      assert.ok(seen.get('$SYS/broker/version'), 'version');
      assert.match(seen.get('$SYS/broker/uptime') ?? '', /^\d+ seconds$/);
      assert.ok(Number(seen.get('$SYS/broker/clients/connected')) >= 1, 'this client is counted');
    });

    test('[MQTT-4.7.2-1] a "#" subscription does not receive $SYS topics', async () => {
      const { client } = await h.raw(version);
      await client.subscribe('#', 0);
      const deadline = Date.now() + 1200; // more than one sysInterval
      while (Date.now() < deadline) {
        const r = await client.nextOrClose(Math.max(1, deadline - Date.now())).catch(() => undefined);
        if (r === undefined || r === 'closed') break;
        if (r.cmd === 'publish') assert.ok(!r.topic.startsWith('$'), `got ${r.topic} on '#'`);
      }
    });

    test('clients cannot publish into $SYS', async () => {
      const { client: watcher } = await h.raw(version);
      const t = `$SYS/broker/${uniqueId('fake')}`;
      await watcher.subscribe(t, 1);
      const { client } = await h.raw(version);
      // The publish may be acknowledged (5.0: possibly with 0x87 Not authorized) or the client dropped;
      // either way nothing reaches subscribers.
      const ack = await client.publish(t, 'forged', 1, { retain: true }).catch(() => undefined);
      if (ack && version === 5) assert.ok((ack.reasonCode ?? 0) === 0 || (ack.reasonCode ?? 0) >= 0x80);
      assert.ok(await watcher.silentFor(500), 'the forged message is not delivered');
      const { client: late } = await h.raw(version);
      await late.subscribe(t, 1);
      assert.ok(await late.silentFor(300), 'and not retained');
    });
  });
}
