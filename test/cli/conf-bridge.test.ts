// `mqtt-hub broker -c` with a `connection` section bridging to a real Mosquitto: messages go out and
// come in with the prefixes of the topic lines, and SIGTERM stops the bridge before the broker.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { freePort } from '../helpers/net';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { killAll, run, start, until } from '../broker/helpers/processes';
import { tmpConf, removeTmpDirs, startBroker, MAIN } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let mq: MosquittoInstance | undefined;
before(async () => {
  if (!skip) mq = await startMosquitto();
});
after(async () => {
  if (mq) await disposeMosquitto(mq);
});
afterEach(async () => {
  await killAll();
  removeTmpDirs();
});

/**
 * A persistent QoS 1 session subscribed and gone (-E): what matches queues for it, so nothing depends
 * on a subscriber being in place in time. `receive` collects it.
 */
async function subscribe(port: number, id: string, topics: string[]): Promise<void> {
  const r = await run('mosquitto_sub', ['-p', String(port), '-i', id, '-c', '-q', '1', ...topics.flatMap((t) => ['-t', t]), '-E']);
  assert.equal(r.code, 0, r.stderr);
}
async function receive(port: number, id: string, topics: string[], count: number): Promise<string[]> {
  const r = await run('mosquitto_sub', ['-p', String(port), '-i', id, '-c', '-q', '1', ...topics.flatMap((t) => ['-t', t]), '-C', String(count), '-v', '-W', '20'], 30_000);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

describe('mqtt-hub broker -c with a bridge to Mosquitto', { timeout: 60_000, skip }, () => {
  test('out and in, with local and remote prefixes; the notification topic says connected, then disconnected after SIGTERM', async () => {
    const remote = mq as MosquittoInstance;
    const port = await freePort();
    const b = await startBroker(tmpConf([
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'connection cli-up',
      `address 127.0.0.1:${remote.port}`,
      'remote_clientid cli-bridge',
      'topic sensors/# out 1 site/ edge/',
      'topic cmd/# in 1 site/ edge/',
      'cleansession true',
      'restart_timeout 1',
    ]));
    await until(() => b.stdout().includes(`Bridge cli-up connected to 127.0.0.1:${remote.port}.`), 15_000, 'the bridge to connect');
    const state = await run('mosquitto_sub', ['-p', String(remote.port), '-t', '$SYS/broker/connection/cli-bridge/state', '-C', '1', '-W', '10']);
    assert.equal(state.stdout.trim(), '1');

    // out: local site/sensors/... arrives on Mosquitto as edge/sensors/...
    // The remote subscriber also listens where a message not named by a topic line would go.
    const remoteTopics = ['edge/#', 'site/#', 'other/#'];
    await subscribe(remote.port, 'remote-sub', remoteTopics);
    await subscribe(port, 'local-sub', ['site/#']);
    for (const [topic, payload] of [['site/other/x', 'stays-local'], ['site/sensors/t1', '21.5']]) {
      const r = await run('mosquitto_pub', ['-p', String(port), '-t', topic, '-m', payload, '-q', '1']);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await receive(remote.port, 'remote-sub', remoteTopics, 1), ['edge/sensors/t1 21.5'], 'only what the out line names, with the remote prefix');

    // in: Mosquitto's edge/cmd/... arrives locally as site/cmd/...; edge/sensors/... is out only.
    for (const [topic, payload] of [['edge/sensors/t2', 'stays-remote'], ['edge/cmd/open', 'now']]) {
      const r = await run('mosquitto_pub', ['-p', String(remote.port), '-t', topic, '-m', payload, '-q', '1']);
      assert.equal(r.code, 0, r.stderr);
    }
    // (the local session also has the two local publishes; edge/sensors/t2 would come before the command)
    assert.deepEqual(await receive(port, 'local-sub', ['site/#'], 3), ['site/other/x stays-local', 'site/sensors/t1 21.5', 'site/cmd/open now']);

    const stop = await b.kill('SIGTERM');
    assert.equal(stop.code, 0, stop.stderr);
    const after = await run('mosquitto_sub', ['-p', String(remote.port), '-t', '$SYS/broker/connection/cli-bridge/state', '-C', '1', '-W', '10']);
    assert.equal(after.stdout.trim(), '0', 'the bridge said goodbye before the broker closed');
  });

  test('a bridge section without a topic stops the start with exit 3 at the connection line', async () => {
    const port = await freePort();
    const conf = tmpConf([`listener ${port} 127.0.0.1`, 'connection broken', 'address 127.0.0.1:1']);
    const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(`${conf} line 2: bridge broken: no topic`), r.stderr);
  });
});
