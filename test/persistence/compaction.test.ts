// Compaction: the log is rewritten as a snapshot (temporary file, fsync, rename, directory fsync)
// and begins again; one older generation stays as the fallback for a damaged snapshot.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryStore } from '../../src/broker/store';
import { DiskStore } from '../../src/persistence';
import { captureLogger, tempDir } from './helpers/temp-dir';
import { dump, makeChanges, prng } from './helpers/workload';

const removals: (() => void)[] = [];
after(() => {
  for (const r of removals.splice(0)) r();
});

function freshDir(): string {
  const t = tempDir();
  removals.push(t.remove);
  return t.dir;
}

const names = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n !== 'LOCK').sort();
const snapshots = (dir: string): string[] => names(dir).filter((n) => /^snapshot-\d+\.mqhs$/.test(n));
const logs = (dir: string): string[] => names(dir).filter((n) => /^log-\d+\.mqhl$/.test(n));

/** A store with three generations of snapshots written, and changes in the newest log. */
async function threeGenerations(dir: string, reference: MemoryStore): Promise<void> {
  const store = await DiskStore.open({ directory: dir, logger: captureLogger() });
  const changes = await makeChanges(3, 150, reference);
  for (let i = 0; i < changes.length; i++) {
    await changes[i](store);
    if (i === 50 || i === 100) await store.compact();
  }
  await store.close();
  // generation 1 is removed once snapshot 3 is written: 2 stays as the fallback of 3
  assert.deepEqual(snapshots(dir), ['snapshot-00000002.mqhs', 'snapshot-00000003.mqhs']);
  assert.deepEqual(logs(dir), ['log-00000002.mqhl', 'log-00000003.mqhl']);
}

describe('disk store: compaction and snapshots', () => {
  test('a damaged newest snapshot falls back to the previous generation, and nothing is lost', async () => {
    for (const damage of ['flip', 'truncate', 'empty'] as const) {
      const dir = freshDir();
      const reference = new MemoryStore();
      await threeGenerations(dir, reference);
      const file = path.join(dir, 'snapshot-00000003.mqhs');
      const bytes = fs.readFileSync(file);
      if (damage === 'flip') bytes[Math.floor(bytes.length / 2)] ^= 0x20;
      fs.writeFileSync(file, damage === 'flip' ? bytes : damage === 'truncate' ? bytes.subarray(0, bytes.length - 3) : Buffer.alloc(0));
      const logger = captureLogger();
      const store = await DiskStore.open({ directory: dir, logger });
      // snapshot 2 + log 2 + log 3 hold every change
      assert.deepEqual(await dump(store), await dump(reference), damage);
      assert.match(logger.lines.join('\n'), /snapshot-00000003\.mqhs is damaged/);
      await store.close(); // waits for the snapshot that replaces the damaged one
      const again = await DiskStore.open({ directory: dir, logger: captureLogger() });
      assert.deepEqual(await dump(again), await dump(reference), `${damage}, reopened`);
      await again.close();
      assert.ok(snapshots(dir).includes('snapshot-00000004.mqhs'), `a good snapshot is written at once: ${names(dir).join(' ')}`);
    }
  });

  test('a compaction that failed (the snapshot could not be written) leaves the older generation as the fallback', async () => {
    const dir = freshDir();
    const reference = new MemoryStore();
    const changes = await makeChanges(29, 90, reference);
    const logger = captureLogger();
    const store = await DiskStore.open({ directory: dir, logger });
    for (const change of changes.slice(0, 30)) await change(store);
    // a directory where the temporary file goes: the snapshot of generation 2 cannot be written
    const blocker = path.join(dir, 'snapshot-00000002.mqhs.tmp');
    fs.mkdirSync(blocker);
    await store.compact();
    assert.match(logger.lines.join('\n'), /compaction into snapshot-00000002\.mqhs failed/);
    fs.rmdirSync(blocker);
    for (const change of changes.slice(30, 60)) await change(store);
    await store.compact();
    for (const change of changes.slice(60)) await change(store);
    await store.close();
    assert.deepEqual(snapshots(dir), ['snapshot-00000001.mqhs', 'snapshot-00000003.mqhs']);
    assert.deepEqual(logs(dir), ['log-00000001.mqhl', 'log-00000002.mqhl', 'log-00000003.mqhl']);
    // the newest snapshot damaged: generation 1 and the three logs still hold everything
    fs.writeFileSync(path.join(dir, 'snapshot-00000003.mqhs'), 'damaged');
    const reopened = await DiskStore.open({ directory: dir, logger: captureLogger() });
    assert.deepEqual(await dump(reopened), await dump(reference));
    await reopened.close();
  });

  test('every snapshot damaged: starts anyway from the logs there are, and says so', async () => {
    const dir = freshDir();
    const reference = new MemoryStore();
    await threeGenerations(dir, reference);
    for (const name of snapshots(dir)) fs.writeFileSync(path.join(dir, name), 'garbage');
    const logger = captureLogger();
    const store = await DiskStore.open({ directory: dir, logger });
    assert.match(logger.lines.join('\n'), /no usable snapshot/);
    await store.enqueue('after', { message: { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false }, qos: 1 });
    await store.close();
  });

  test('a compaction cut short leaves a temporary file that is ignored and removed', async () => {
    const dir = freshDir();
    const reference = new MemoryStore();
    await threeGenerations(dir, reference);
    fs.writeFileSync(path.join(dir, 'snapshot-00000004.mqhs.tmp'), Buffer.alloc(100, 1));
    const store = await DiskStore.open({ directory: dir, logger: captureLogger() });
    assert.deepEqual(await dump(store), await dump(reference));
    assert.ok(!names(dir).some((n) => n.endsWith('.tmp')));
    await store.close();
  });

  test('compaction while writes keep coming keeps every write, in order', async () => {
    const dir = freshDir();
    const reference = new MemoryStore();
    const changes = await makeChanges(17, 3000, reference);
    const store = await DiskStore.open({ directory: dir, logger: captureLogger(), compactEvery: 8 * 1024 });
    const random = prng(5);
    const pending: Promise<void>[] = [];
    let maxFiles = 0;
    for (let i = 0; i < changes.length; i++) {
      // changes are issued without waiting (as the broker does), in bursts, with compactions among them
      pending.push(changes[i](store));
      if (random() < 0.02) pending.push(store.compact());
      if (random() < 0.05) {
        await Promise.all(pending.splice(0));
        maxFiles = Math.max(maxFiles, names(dir).length);
      }
    }
    await Promise.all(pending);
    assert.deepEqual(await dump(store), await dump(reference));
    await store.close();
    const reopened = await DiskStore.open({ directory: dir, logger: captureLogger() });
    assert.deepEqual(await dump(reopened), await dump(reference));
    await reopened.close();
    assert.ok(Number(snapshots(dir).at(-1)?.slice(9, 17)) > 5, `compacted several times: ${names(dir).join(' ')}`);
    // two generations of a snapshot and a log, and while the next snapshot is being written its
    // temporary file and the log that follows it
    assert.ok(maxFiles <= 6, `at most 6 files at a time, saw ${maxFiles}`);
  });

  test('bounded: churn many times the size of what is kept, and the files stay small', async () => {
    const dir = freshDir();
    const compactEvery = 64 * 1024;
    const store = await DiskStore.open({ directory: dir, logger: captureLogger(), compactEvery });
    const payload = Buffer.alloc(500, 7);
    let written = 0;
    let largest = 0;
    for (let round = 0; round < 200; round++) {
      const batch: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        batch.push(store.enqueue('c', { message: { topic: 't', payload, qos: 1, retain: false }, qos: 1 }));
        batch.push(store.storeRetained({ topic: `r/${i}`, payload, qos: 0, retain: true }));
        written += 2 * payload.length;
      }
      batch.push(store.clearQueued('c'));
      await Promise.all(batch);
      const total = (await store.files()).reduce((n, f) => n + f.bytes, 0);
      largest = Math.max(largest, total);
    }
    await store.compact();
    const settled = (await store.files()).reduce((n, f) => n + f.bytes, 0);
    await store.close();
    // live data: 20 retained messages of 500 bytes. While a snapshot is written the log keeps growing
    // (how far depends on the disk), so the peak is only bounded loosely; after a compaction the
    // files are two small generations.
    assert.ok(written > 50 * compactEvery, `wrote ${written} bytes`);
    assert.ok(largest < written / 4, `directory peaked at ${largest} bytes of ${written} written`);
    assert.ok(settled < 3 * compactEvery, `${settled} bytes after compaction`);
  });
});
