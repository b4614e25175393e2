// A crash can leave the log's last records half written, and a disk can return damaged bytes: the
// store must start anyway, with every complete record before the damage and nothing after it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryStore } from '../../src/broker/store';
import { DiskStore } from '../../src/persistence';
import { captureLogger, tempDir } from './helpers/temp-dir';
import { type Change, dump, makeChanges } from './helpers/workload';

const removals: (() => void)[] = [];
after(() => {
  for (const r of removals.splice(0)) r();
});

const LOG = 'log-00000001.mqhl';
const SNAPSHOT = 'snapshot-00000001.mqhs';
const HEADER = 16;

interface Written {
  dir: string;
  log: Buffer;
  /** Offset where record i ends (record i spans ends[i-1]..ends[i], ends[-1] = header). */
  ends: number[];
  /** The expected dump after the first k records, for k = 0..n. */
  states: unknown[];
  changes: Change[];
}

async function writeWorkload(seed: number, count: number): Promise<Written> {
  const t = tempDir();
  removals.push(t.remove);
  const reference = new MemoryStore();
  const changes = await makeChanges(seed, count, reference);
  const replay = new MemoryStore();
  const states: unknown[] = [await dump(replay)];
  const store = await DiskStore.open({ directory: t.dir, logger: captureLogger() });
  for (const change of changes) {
    await change(store);
    await change(replay);
    states.push(await dump(replay));
  }
  assert.deepEqual(await dump(store), states[states.length - 1]);
  await store.close();
  const log = fs.readFileSync(path.join(t.dir, LOG));
  const ends: number[] = [];
  for (let pos = HEADER; pos < log.length; ) {
    pos += 8 + log.readUInt32BE(pos);
    ends.push(pos);
  }
  assert.equal(ends.length, changes.length, 'one record per change');
  assert.equal(ends[ends.length - 1], log.length);
  return { dir: t.dir, log, ends, states, changes };
}

/** A directory holding the workload's snapshot and the given bytes as its log. */
function damagedCopy(w: Written, log: Buffer): string {
  const t = tempDir();
  removals.push(t.remove);
  fs.copyFileSync(path.join(w.dir, SNAPSHOT), path.join(t.dir, SNAPSHOT));
  fs.writeFileSync(path.join(t.dir, LOG), log);
  return t.dir;
}

/** Removes a directory made by damagedCopy at once (hundreds are made, one per offset). */
function discard(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Number of records that end at or before `offset`. */
function completeBefore(w: Written, offset: number): number {
  let k = 0;
  while (k < w.ends.length && w.ends[k] <= offset) k++;
  return k;
}

describe('disk store: damaged log tail', () => {
  test('truncated at every byte offset of the last records: starts with every complete record, truncates and logs the rest', async () => {
    const w = await writeWorkload(7, 60);
    const from = w.ends[w.ends.length - 4]; // the last three records, byte by byte
    let checked = 0;
    for (let offset = from; offset <= w.log.length; offset++) {
      const dir = damagedCopy(w, w.log.subarray(0, offset));
      const logger = captureLogger();
      // fsync 'never' only to keep hundreds of opens quick: recovery itself is the same
      const store = await DiskStore.open({ directory: dir, logger, fsync: 'never' });
      const k = completeBefore(w, offset);
      assert.deepEqual(await dump(store), w.states[k], `cut at byte ${offset}: ${k} records expected`);
      const atBoundary = w.ends.includes(offset);
      assert.equal(logger.lines.some((l) => l.includes('truncated')), !atBoundary, `cut at byte ${offset}: ${logger.lines.join('; ')}`);
      await store.close();
      assert.equal(fs.statSync(path.join(dir, LOG)).size, k === 0 ? HEADER : w.ends[k - 1], 'the damaged tail is cut off the file');
      discard(dir);
      checked++;
    }
    assert.ok(checked > 3 * 9, `${checked} offsets`);
  });

  test('after a torn tail is cut off, new records follow the last good one and survive the next restart', async () => {
    const w = await writeWorkload(11, 30);
    const cut = w.ends[w.ends.length - 2] + 5; // inside the last record's length and CRC
    const dir = damagedCopy(w, w.log.subarray(0, cut));
    const reference = new MemoryStore();
    for (const change of w.changes.slice(0, w.changes.length - 1)) await change(reference);
    let store = await DiskStore.open({ directory: dir, logger: captureLogger() });
    const extra = await makeChanges(99, 20, reference);
    for (const change of extra) await change(store);
    await store.close();
    store = await DiskStore.open({ directory: dir, logger: captureLogger() });
    assert.deepEqual(await dump(store), await dump(reference));
    await store.close();
  });

  test('a flipped byte anywhere in the last records: the record it hits and those after it are dropped, the ones before kept', async () => {
    const w = await writeWorkload(23, 40);
    const from = w.ends[w.ends.length - 3];
    for (let offset = from; offset < w.log.length; offset++) {
      // a low and a high bit on alternate bytes: a single-bit error and a sign-like flip, half the opens
      for (const mask of [offset % 2 === 0 ? 0x01 : 0x80]) {
        const damaged = Buffer.from(w.log);
        damaged[offset] ^= mask;
        const dir = damagedCopy(w, damaged);
        const logger = captureLogger();
        const store = await DiskStore.open({ directory: dir, logger, fsync: 'never' });
        const k = completeBefore(w, offset);
        assert.deepEqual(await dump(store), w.states[k], `byte ${offset} ^ ${mask}: ${k} records expected`);
        assert.ok(logger.lines.some((l) => l.startsWith('warn:')), `byte ${offset} ^ ${mask}: damage was logged`);
        await store.close();
        discard(dir);
      }
    }
  });

  test('changes made together (one turn of the event loop) are one group on the disk: a cut anywhere in it keeps none of them', async () => {
    const t = tempDir();
    removals.push(t.remove);
    const store = await DiskStore.open({ directory: t.dir, logger: captureLogger() });
    await store.saveSession({ clientId: 'sub', protocolVersion: 5, sessionExpiryInterval: 60 });
    const before = fs.statSync(path.join(t.dir, LOG)).size;
    // as a broker would for one PUBLISH: the message queued for two sessions and the publisher's state
    const message = { topic: 't', payload: Buffer.from([0, 1, 2]), qos: 2 as const, retain: false };
    await Promise.all([
      store.enqueue('sub', { message, qos: 2 }),
      store.enqueue('other', { message, qos: 1 }),
      store.saveSession({ clientId: 'pub', protocolVersion: 5, sessionExpiryInterval: 60 }),
    ]);
    await store.close();
    const log = fs.readFileSync(path.join(t.dir, LOG));
    assert.equal(before + 8 + log.readUInt32BE(before), log.length, 'one frame holds the three changes');
    for (let cut = before; cut <= log.length; cut++) {
      const copy = tempDir();
      removals.push(copy.remove);
      fs.copyFileSync(path.join(t.dir, SNAPSHOT), path.join(copy.dir, SNAPSHOT));
      fs.writeFileSync(path.join(copy.dir, LOG), log.subarray(0, cut));
      const reopened = await DiskStore.open({ directory: copy.dir, logger: captureLogger(), fsync: 'never' });
      const all = cut === log.length;
      assert.equal((await reopened.getQueued('sub')).length, all ? 1 : 0, `cut at ${cut}`);
      assert.equal((await reopened.getQueued('other')).length, all ? 1 : 0, `cut at ${cut}`);
      assert.equal((await reopened.getSession('pub')) !== undefined, all, `cut at ${cut}`);
      assert.equal((await reopened.getSession('sub'))?.sessionExpiryInterval, 60);
      await reopened.close();
      discard(copy.dir);
    }
  });

  test('a record whose bytes pass the CRC but whose length runs past the file is a torn tail, not a crash', async () => {
    const w = await writeWorkload(5, 10);
    // a huge length in the last frame: it claims bytes that do not exist
    const damaged = Buffer.from(w.log);
    damaged.writeUInt32BE(0x7fffffff, w.ends[w.ends.length - 2]);
    const dir = damagedCopy(w, damaged);
    const logger = captureLogger();
    const store = await DiskStore.open({ directory: dir, logger });
    assert.deepEqual(await dump(store), w.states[w.ends.length - 1]);
    assert.match(logger.lines.join('\n'), /record length|cut short/);
    await store.close();
  });
});
