// kill -9 of a process writing to the store as fast as it can: after each kill, the store opened on
// the same directory holds every write whose promise had resolved, byte for byte, and nothing torn.
import { type TestContext, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { DiskStore, type FsyncMode } from '../../src/persistence';
import { IN_FLIGHT_WINDOW, QUEUE_EPOCH, WRITER_CLIENTS, payloadFor } from './helpers/store-writer';
import { captureLogger, tempDir } from './helpers/temp-dir';
import { prng } from './helpers/workload';

const LONG = process.env.MQTT_HUB_LONG === '1';
const ROUNDS = LONG ? 25 : 4;
const children = new Set<ChildProcess>();
const removals: (() => void)[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const r of removals.splice(0)) r();
});

interface Acked {
  /** Last acknowledged enqueue per client: [epoch, seq]. */
  queues: Map<string, [number, number]>;
  /** Last acknowledged clear per client: the epoch it began. */
  cleared: Map<string, number>;
  retained: number;
  put: Set<number>;
  deleted: Set<number>;
  count: number;
}

/** Runs the writer until the kill, returns what it reported as written and the ms it wrote for. */
async function runAndKill(dir: string, killAfterMs: number, firstEpoch: number, fsync: FsyncMode): Promise<{ acked: Acked; ms: number; stderr: string }> {
  const script = path.join(__dirname, 'helpers', 'store-writer.js');
  const child = spawn(process.execPath, [script, dir, String(48 * 1024), String(firstEpoch), fsync], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const acked: Acked = { queues: new Map(), cleared: new Map(), retained: -1, put: new Set(), deleted: new Set(), count: 0 };
  let stderr = '';
  let buffered = '';
  let readyAt = 0;
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ready') {
        readyAt = Date.now();
        onReady();
      } else if (kind === 'q') acked.queues.set(a, [Number(b), Number(c)]);
      else if (kind === 'c') acked.cleared.set(a, Number(b));
      else if (kind === 'r') acked.retained = Number(a);
      else if (kind === 'put') acked.put.add(Number(a));
      else if (kind === 'del') acked.deleted.add(Number(a));
      if (kind !== 'ready') acked.count++;
    }
  });
  // 'close', not 'exit': lines still in the pipe when the process died are read before it
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  await Promise.race([ready, exited]);
  assert.ok(readyAt > 0, `the writer started: ${stderr}`);
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
  // a line may arrive cut at the kill: only whole lines count (the last partial one is ignored)
  return { acked, ms: Date.now() - readyAt, stderr };
}

/** Rounds of writing, each ended by SIGKILL at a seeded random moment, checked by reopening. */
async function killRounds(t: TestContext, fsync: FsyncMode, rounds: number): Promise<void> {
  const temp = tempDir();
  removals.push(temp.remove);
  const random = prng(20261126);
  let totalAcked = 0;
  let totalMs = 0;
  for (let round = 0; round < rounds; round++) {
    const killAfter = 100 + Math.floor(random() * 900);
    const { acked, ms, stderr } = await runAndKill(temp.dir, killAfter, round * 1000, fsync);
    totalAcked += acked.count;
    totalMs += ms;
    const logger = captureLogger();
    const store = await DiskStore.open({ directory: temp.dir, logger });
    for (const client of WRITER_CLIENTS) {
      const queue = await store.getQueued(client);
      const [ackedEpoch, ackedSeq] = acked.queues.get(client) ?? [-1, -1];
      const clearedEpoch = acked.cleared.get(client) ?? -1;
      const epoch = queue.length === 0 ? -1 : queue[0].message.payload.readUInt16BE(14);
      // a queue is one epoch, 0..n-1 in order, byte for byte: nothing lost, duplicated or torn
      queue.forEach((d, seq) => assert.ok(d.message.payload.equals(payloadFor(client, epoch, seq)), `round ${round}: ${client} #${seq}`));
      const why = `round ${round}: ${client} acknowledged ${ackedEpoch}/${ackedSeq}, cleared ${clearedEpoch}, recovered epoch ${epoch} with ${queue.length}`;
      if (ackedEpoch >= 0) {
        const kept = epoch === ackedEpoch && queue.length > ackedSeq;
        // after the last message of an epoch comes a clear, that may be on the disk unacknowledged
        const clearedAfter = ackedSeq === QUEUE_EPOCH - 1 && (queue.length === 0 || epoch === ackedEpoch + 1);
        assert.ok(kept || clearedAfter, why);
      }
      if (queue.length > 0) assert.ok(epoch >= clearedEpoch, why);
    }
    const counter = await store.getRetained('r/counter');
    if (acked.retained >= 0) assert.ok(counter !== undefined && counter.payload.readUInt32BE(0) >= acked.retained, `round ${round}: retained counter`);
    const inflight = new Set((await store.getInflight('inflight')).map((e) => e.packetId));
    // remove(id) is only issued once put(id + window) was acknowledged: before that, id must be there
    for (const id of acked.put) if (!acked.put.has(id + IN_FLIGHT_WINDOW)) assert.ok(inflight.has(id), `round ${round}: in-flight ${id} was put; recovered ${[...inflight].join(',')}; ${logger.lines.join(' | ')}; ${stderr}`);
    for (const id of inflight) assert.ok(!acked.deleted.has(id), `round ${round}: in-flight ${id} was removed`);
    const files = await store.files();
    t.diagnostic(`round ${round}: killed after ${killAfter} ms, ${acked.count} writes acknowledged, all recovered; queues at ${WRITER_CLIENTS.map((c) => (acked.queues.get(c) ?? [-1, -1]).join('/')).join(',')}; files ${files.map((f) => `${f.name}=${f.bytes}`).join(' ')}${logger.lines.length > 0 ? `; ${logger.lines.join(' | ')}` : ''}`);
    await store.close();
  }
  t.diagnostic(`${totalAcked} acknowledged writes in ${totalMs} ms: ${Math.round((totalAcked * 1000) / totalMs)} acknowledged writes/s with fsync '${fsync}', 14 writers`);
  assert.ok(totalAcked > rounds, 'the writer got writes through before each kill');
}

describe('disk store: kill -9 while writing', () => {
  test(`fsync 'always': every write whose promise resolved is there after SIGKILL (${ROUNDS} rounds)`, { timeout: LONG ? 600_000 : 120_000 }, async (t) => {
    await killRounds(t, 'always', ROUNDS);
  });

  // a killed process leaves what it wrote in the system's cache: 'interval' survives that too (not a power cut)
  test(`fsync 'interval': every write whose promise resolved is there after SIGKILL of the process (${Math.ceil(ROUNDS / 2)} rounds)`, { timeout: LONG ? 600_000 : 120_000 }, async (t) => {
    await killRounds(t, 'interval', Math.ceil(ROUNDS / 2));
  });
});
