// `mqtt-hub broker -c` with `persistence true`: retained messages and a persistent session's queued
// QoS 1 messages outlive the process, stopped by SIGTERM or killed by SIGKILL.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, run } from '../broker/helpers/processes';
import { tmpDir, removeTmpDirs, startBroker } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto clients are not installed';

afterEach(async () => {
  await killAll();
  removeTmpDirs();
});

async function ok(args: string[]): Promise<string> {
  const r = await run(args[0], args.slice(1), 15_000);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

for (const [signal, extra] of [
  ['SIGTERM', []],
  ['SIGKILL', ['autosave_interval 60']],
] as [NodeJS.Signals, string[]][]) {
  describe(`mqtt-hub broker -c with persistence, stopped by ${signal}`, { timeout: 60_000, skip }, () => {
    test('a retained message and acknowledged QoS 1 messages for an offline persistent session are delivered after the restart', async () => {
      const dir = tmpDir();
      const store = path.join(dir, 'data');
      const port = await freePort();
      const conf = path.join(dir, 'mosquitto.conf');
      fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${store}/`, ...extra, ''].join('\n'));
      const p = String(port);

      let b = await startBroker(conf);
      assert.match(b.stdout(), /Persistence in /);
      // A persistent session subscribes at QoS 1 and goes away.
      await ok(['mosquitto_sub', '-p', p, '-i', 'offline-sub', '-c', '-q', '1', '-t', 'persist/q', '-E']);
      await ok(['mosquitto_pub', '-p', p, '-t', 'persist/r', '-m', 'kept', '-r', '-q', '1']);
      for (const n of [1, 2]) await ok(['mosquitto_pub', '-p', p, '-t', 'persist/q', '-m', `queued-${n}`, '-q', '1']);

      const stop = await b.kill(signal);
      if (signal === 'SIGTERM') assert.equal(stop.code, 0, stop.stderr);
      else assert.equal(stop.signal, 'SIGKILL');
      assert.ok(fs.readdirSync(store).length > 0, 'the store wrote its files in persistence_location');

      b = await startBroker(conf);
      const queued = await ok(['mosquitto_sub', '-p', p, '-i', 'offline-sub', '-c', '-q', '1', '-t', 'persist/q', '-C', '2', '-W', '10']);
      assert.deepEqual(queued.trim().split('\n'), ['queued-1', 'queued-2']);
      const retained = await ok(['mosquitto_sub', '-p', p, '-t', 'persist/r', '-C', '1', '-W', '10', '-F', '%r %p']);
      assert.equal(retained.trim(), '1 kept');
      assert.equal((await b.kill('SIGTERM')).code, 0);
    });
  });
}

describe('mqtt-hub broker -c without persistence', { timeout: 60_000, skip }, () => {
  test('a restart forgets the retained message (the control for the tests above)', async () => {
    const dir = tmpDir();
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    let b = await startBroker(conf);
    await ok(['mosquitto_pub', '-p', String(port), '-t', 'persist/r', '-m', 'kept', '-r', '-q', '1']);
    await b.kill('SIGTERM');
    b = await startBroker(conf);
    const r = await run('mosquitto_sub', ['-p', String(port), '-t', 'persist/r', '-C', '1', '-W', '1']);
    assert.equal(r.stdout, '', 'nothing retained');
    await b.kill('SIGTERM');
  });
});
