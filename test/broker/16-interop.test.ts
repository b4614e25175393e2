// 16-interop: Mosquitto's own command line clients (mosquitto_pub, mosquitto_sub) against our broker,
// for MQTT 3.1.1 (-V 311) and 5.0 (-V 5): QoS 0/1/2 both ways, retained messages, wills.
import { describe, test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';
import { killAll, run, start, until, type Running } from './helpers/processes';
import { mosquittoAvailable } from '../helpers/mosquitto';

const skip = mosquittoAvailable() ? false : 'mosquitto clients are not installed';

for (const version of VERSIONS) {
  const V = version === 5 ? '5' : '311';
  describe(`16-interop ${versionName(version)}`, { timeout: 60_000, skip }, () => {
    const h = useBroker();
    afterEach(killAll);
    const common = () => ['-h', '127.0.0.1', '-p', String(h.port), '-V', V];

    /** mosquitto_sub, running until it has printed what the test waits for. */
    async function subscriber(filter: string, extra: string[] = []): Promise<Running> {
      const sub = start('mosquitto_sub', [...common(), '-t', filter, '-F', '%t %q %r %p', ...extra]);
      // Subscribed once a probe published to a matching topic comes out.
      const { client: prober } = await h.raw(version);
      const probeTopic = filter.replace(/#$/, 'probe').replace(/\+/g, 'probe');
      await until(
        () => {
          if (sub.lines().some((l) => l.endsWith(' PROBE'))) return true;
          if (sub.child.exitCode !== null) throw new Error(`mosquitto_sub exited: ${sub.stderr()}`);
          prober.send({ cmd: 'publish', topic: probeTopic, payload: 'PROBE', qos: 0, retain: false, dup: false });
          return false;
        },
        5000,
        'mosquitto_sub to subscribe',
      );
      prober.disconnect();
      return sub;
    }

    test('mosquitto_pub QoS 0, 1, 2 reach a subscriber at that QoS', async () => {
      const t = `${uniqueId('i')}/pub`;
      const { client: sub } = await h.raw(version);
      await sub.subscribe(t, 2);
      for (const qos of [0, 1, 2]) {
        const r = await run('mosquitto_pub', [...common(), '-t', t, '-m', `qos${qos}`, '-q', String(qos), '-i', uniqueId('mp')]);
        assert.equal(r.code, 0, r.stderr);
        const p = await sub.receive();
        assert.equal(p.payload.toString(), `qos${qos}`);
        assert.equal(p.qos, qos);
      }
    });

    test('mosquitto_sub receives QoS 0, 1, 2 from a publisher', async () => {
      const base = uniqueId('i');
      const sub = await subscriber(`${base}/#`, ['-q', '2']);
      const { client: pub } = await h.raw(version);
      for (const qos of [0, 1, 2] as const) await pub.publish(`${base}/m`, `q${qos}`, qos);
      await until(() => sub.lines().filter((l) => l.startsWith(`${base}/m `)).length === 3, 5000, 'three messages');
      assert.deepEqual(
        sub.lines().filter((l) => l.startsWith(`${base}/m `)),
        [`${base}/m 0 0 q0`, `${base}/m 1 0 q1`, `${base}/m 2 0 q2`],
      );
      const r = await sub.kill('SIGTERM');
      assert.ok(r.code === 0 || r.signal === 'SIGTERM');
    });

    test('a retained message from mosquitto_pub -r reaches a later mosquitto_sub with the retain flag', async () => {
      const t = `${uniqueId('i')}/ret`;
      const p = await run('mosquitto_pub', [...common(), '-t', t, '-m', 'kept', '-q', '1', '-r']);
      assert.equal(p.code, 0, p.stderr);
      const s = await run('mosquitto_sub', [...common(), '-t', t, '-C', '1', '-W', '5', '-F', '%t %q %r %p', '-q', '1']);
      assert.equal(s.code, 0, s.stderr);
      assert.equal(s.stdout.trim(), `${t} 1 1 kept`);
      await run('mosquitto_pub', [...common(), '-t', t, '-n', '-r']);
    });

    test('the will given by mosquitto_sub --will-* is published when it dies without DISCONNECT', async () => {
      const base = uniqueId('i');
      const { client: watcher } = await h.raw(version);
      await watcher.subscribe(`${base}/will`, 1);
      const dying = await subscriber(`${base}/x/#`, ['--will-topic', `${base}/will`, '--will-payload', 'went-away', '--will-qos', '1']);
      await dying.kill('SIGKILL');
      const p = await watcher.receive(3000);
      assert.equal(p.payload.toString(), 'went-away');
      assert.equal(p.qos, 1);
    });

    test('no will when mosquitto_sub ends normally (-C 1 sends DISCONNECT)', async () => {
      const base = uniqueId('i');
      const { client: watcher } = await h.raw(version);
      await watcher.subscribe(`${base}/will`, 1);
      const sub = start('mosquitto_sub', [...common(), '-t', `${base}/x`, '-C', '1', '-W', '5', '--will-topic', `${base}/will`, '--will-payload', 'nope']);
      const { client: pub } = await h.raw(version);
      await until(
        () => {
          if (sub.child.exitCode !== null) return true;
          pub.send({ cmd: 'publish', topic: `${base}/x`, payload: 'one', qos: 0, retain: false, dup: false });
          return false;
        },
        5000,
        'mosquitto_sub -C 1 to finish',
      );
      const r = await sub.exited;
      assert.equal(r.code, 0, r.stderr);
      if (!(await watcher.silentFor(500))) assert.fail(`the will was published: ${JSON.stringify(await watcher.next())}`);
    });

    if (version === 5) {
      test('mosquitto_pub -V 5 -D publish user-property: the property reaches a 5.0 subscriber', async () => {
        const t = `${uniqueId('i')}/up`;
        const { client: sub } = await h.raw(version);
        await sub.subscribe(t, 1);
        const r = await run('mosquitto_pub', [...common(), '-t', t, '-m', 'with-props', '-q', '1', '-D', 'publish', 'user-property', 'origin', 'cli', '-D', 'publish', 'content-type', 'text/plain']);
        assert.equal(r.code, 0, r.stderr);
        const p = await sub.receive();
        assert.deepEqual({ ...p.properties?.userProperties }, { origin: 'cli' });
        assert.equal(p.properties?.contentType, 'text/plain');
      });
    }
  });
}
