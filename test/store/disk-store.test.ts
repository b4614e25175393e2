// The disk store runs the abstract store suite, and everything it holds is read back the same after
// the store is closed and opened again on its directory.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrokerMessage } from '../../src/broker/message';
import { DiskStore } from '../../src/persistence';
import { crc32 } from '../../src/persistence/crc32';
import { captureLogger, tempDir } from '../persistence/helpers/temp-dir';
import { runRestartSuite } from './abstract-restart';
import { runStoreSuite } from './abstract-store';

const dirs: (() => void)[] = [];
after(() => {
  for (const remove of dirs.splice(0)) remove();
});

function freshDir(): string {
  const t = tempDir();
  dirs.push(t.remove);
  return t.dir;
}

runStoreSuite('disk', () => DiskStore.open({ directory: freshDir(), logger: captureLogger() }));

// closed, then opened again on its directory: what comes back is what was on disk
const directories = new WeakMap<object, string>();
runRestartSuite(
  'disk',
  async () => {
    const directory = freshDir();
    const store = await DiskStore.open({ directory, logger: captureLogger() });
    directories.set(store, directory);
    return store;
  },
  async (store) => {
    await store.close();
    const directory = directories.get(store)!;
    const reopened = await DiskStore.open({ directory, logger: captureLogger() });
    directories.set(reopened, directory);
    return reopened;
  },
);

const binary = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x0d, 0xc3, 0x28, 0xfe, 0x00]);

function msg(topic: string, payload: Buffer | string, extra: Partial<BrokerMessage> = {}): BrokerMessage {
  return { topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos: 1, retain: true, ...extra };
}

describe('store: disk, reopened on the same directory', () => {
  const open: DiskStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  async function reopen(directory: string, compactEvery?: number): Promise<DiskStore> {
    const store = await DiskStore.open({ directory, compactEvery, logger: captureLogger() });
    open.push(store);
    return store;
  }

  for (const compactFirst of [false, true]) {
    test(`every kind of record comes back byte for byte${compactFirst ? ', from a snapshot' : ', from the log'}`, async () => {
      const directory = freshDir();
      const first = await DiskStore.open({ directory, logger: captureLogger() });
      const properties = {
        contentType: 'application/octet-stream',
        correlationData: Buffer.from([0, 1, 2, 0xff]),
        userProperties: [['k', 'v'], ['k', 'v2'], ['ünï', '']] as [string, string][],
        payloadFormatIndicator: 0,
        messageExpiryInterval: 30,
        responseTopic: 'reply/here',
      };
      await first.storeRetained(msg('r/binary', binary, { properties, expiresAt: 1_700_000_000_123, origin: 'pub' }));
      await first.storeRetained(msg('r/gone', 'x'));
      await first.storeRetained(msg('r/gone', ''));
      await first.storeRetained(msg('$SYS/keep', 'sys', { qos: 0 }));
      const will = { topic: 'will/t', payload: binary, qos: 2 as const, retain: true, properties: { willDelayInterval: 5, userProperties: [['w', '1']] as [string, string][] } };
      await first.saveSession({ clientId: 'c1', protocolVersion: 5, sessionExpiryInterval: 0xffffffff, disconnectedAt: 1234567890123, will });
      await first.saveSession({ clientId: 'c2', protocolVersion: 4, sessionExpiryInterval: 60 });
      await first.saveSession({ clientId: 'gone', protocolVersion: 4, sessionExpiryInterval: 60 });
      await first.enqueue('gone', { message: msg('a', 'x'), qos: 1 });
      await first.deleteSession('gone');
      await first.addSubscriptions('c1', [
        { topicFilter: 'a/+', qos: 1 },
        { topicFilter: 'b/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 268435455 },
        { topicFilter: '$share/g/c', qos: 0 },
      ]);
      await first.removeSubscriptions('c1', ['a/+']);
      for (let i = 0; i < 6; i++) await first.enqueue('c1', { message: msg('q', Buffer.from([i - 2, 0, 255])), qos: 2, retain: i === 2, subscriptionIdentifiers: i === 3 ? [1, 2] : undefined });
      await first.dequeue('c1', 2); // the first two went into flight
      await first.enqueue('c2', { message: msg('q2', 'cleared'), qos: 1 });
      await first.clearQueued('c2');
      await first.enqueue('c2', { message: msg('q2', 'after clear', { properties }), qos: 1 });
      await first.putInflight('c1', { packetId: 9, state: 'publish', qos: 2, message: msg('i', binary) });
      await first.putInflight('c1', { packetId: 3, state: 'publish', qos: 1, message: msg('i', 'three'), subscriptionIdentifiers: [7] });
      await first.putInflight('c1', { packetId: 9, state: 'pubrel', qos: 2, message: msg('i', binary) });
      await first.putInflight('c1', { packetId: 4, state: 'publish', qos: 1, message: msg('i', 'four') });
      await first.removeInflight('c1', 4);
      await first.putInflight('c2', { packetId: 1, state: 'publish', qos: 1, message: msg('i', 'cleared') });
      await first.clearInflight('c2');
      const expected = {
        retained: await first.matchRetained('#'),
        sys: await first.matchRetained('$SYS/#'),
        sessions: (await first.listSessions()).sort((a, b) => a.clientId.localeCompare(b.clientId)),
        subs: await first.getSubscriptions('c1'),
        queue1: await first.getQueued('c1'),
        queue2: await first.getQueued('c2'),
        inflight1: await first.getInflight('c1'),
        inflight2: await first.getInflight('c2'),
      };
      if (compactFirst) await first.compact();
      await first.close();

      const second = await reopen(directory);
      assert.deepEqual(await second.matchRetained('#'), expected.retained);
      assert.deepEqual(await second.matchRetained('$SYS/#'), expected.sys);
      assert.equal(await second.countRetained(), 2);
      const r = await second.getRetained('r/binary');
      assert.ok(r !== undefined && r.payload.equals(binary));
      assert.ok(r.properties?.correlationData?.equals(Buffer.from([0, 1, 2, 0xff])));
      assert.deepEqual(r.properties?.userProperties, [['k', 'v'], ['k', 'v2'], ['ünï', '']]);
      assert.equal(r.expiresAt, 1_700_000_000_123);
      assert.equal(r.origin, 'pub');
      assert.equal(await second.getRetained('r/gone'), undefined);
      assert.deepEqual((await second.listSessions()).sort((a, b) => a.clientId.localeCompare(b.clientId)), expected.sessions);
      const s1 = await second.getSession('c1');
      assert.ok(s1 !== undefined && s1.will !== undefined && s1.will.payload.equals(binary));
      assert.equal(s1.will.properties?.willDelayInterval, 5);
      assert.equal(s1.disconnectedAt, 1234567890123);
      assert.equal(s1.sessionExpiryInterval, 0xffffffff);
      assert.equal(await second.getSession('gone'), undefined);
      assert.deepEqual(await second.getQueued('gone'), []);
      assert.deepEqual(await second.getSubscriptions('c1'), expected.subs);
      assert.equal(expected.subs.length, 2);
      assert.deepEqual(await second.getQueued('c1'), expected.queue1);
      assert.deepEqual((await second.getQueued('c1')).map((d) => [...d.message.payload]), [0, 1, 2, 3].map((i) => [i, 0, 255]));
      assert.equal((await second.getQueued('c1'))[0].retain, true);
      assert.deepEqual((await second.getQueued('c1'))[1].subscriptionIdentifiers, [1, 2]);
      assert.deepEqual(await second.getQueued('c2'), expected.queue2);
      assert.equal(expected.queue2.length, 1);
      assert.deepEqual(await second.getInflight('c1'), expected.inflight1);
      assert.deepEqual((await second.getInflight('c1')).map((e) => [e.packetId, e.state]), [[9, 'pubrel'], [3, 'publish']]);
      assert.deepEqual(await second.getInflight('c2'), []);
      assert.deepEqual(expected.inflight2, []);

      // and it goes on from there: a change after reopening survives the next reopen
      await second.enqueue('c1', { message: msg('q', 'later'), qos: 1 });
      await second.close();
      open.length = 0;
      const third = await reopen(directory);
      assert.deepEqual((await third.getQueued('c1')).map((d) => d.message.payload.toString('latin1')).slice(-1), ['later']);
      assert.equal((await third.getQueued('c1')).length, 5);
    });
  }

  test('one store per directory: a second open is refused while the first runs, a lock left by a killed process is taken over', async () => {
    const directory = freshDir();
    const first = await DiskStore.open({ directory, logger: captureLogger() });
    await assert.rejects(DiskStore.open({ directory, logger: captureLogger() }), /already open in this process/);
    await first.close();
    // a process that runs: its lock holds
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(directory, 'LOCK'), `${other.pid}\n`);
      await assert.rejects(DiskStore.open({ directory, logger: captureLogger() }), new RegExp(`in use by process ${other.pid}`));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    // that process gone: its lock is stale
    const reopened = await DiskStore.open({ directory, logger: captureLogger() });
    assert.equal(fs.readFileSync(path.join(directory, 'LOCK'), 'utf8').trim(), String(process.pid));
    await reopened.close();
    assert.equal(fs.existsSync(path.join(directory, 'LOCK')), false);
    // our own pid with no store open here: a previous life of this process id (a container's pid 1)
    fs.writeFileSync(path.join(directory, 'LOCK'), `${process.pid}\n`);
    await (await DiskStore.open({ directory, logger: captureLogger() })).close();
  });

  test('a file of another format version stops the store instead of being repaired', async () => {
    const directory = freshDir();
    const store = await DiskStore.open({ directory, logger: captureLogger() });
    await store.storeRetained(msg('a', 'b'));
    await store.close();
    const log = path.join(directory, 'log-00000001.mqhl');
    const bytes = fs.readFileSync(log);
    bytes.writeUInt32BE(2, 4);
    bytes.writeUInt32BE(crc32(bytes, 0, 12), 12);
    fs.writeFileSync(log, bytes);
    await assert.rejects(DiskStore.open({ directory, logger: captureLogger() }), /store format 2/);
    assert.equal(fs.readFileSync(log).length, bytes.length, 'left as it was');
  });

  test('a store not opened, or closed, refuses reads and writes', async () => {
    const store = new DiskStore({ directory: freshDir() });
    await assert.rejects(store.listSessions(), /not open/);
    await assert.rejects(store.enqueue('c', { message: msg('a', 'b'), qos: 1 }), /not open/);
    await store.open();
    await store.close();
    await assert.rejects(store.getRetained('a'), /not open/);
    await assert.rejects(store.storeRetained(msg('a', 'b')), /not open/);
  });
});
