// The broker benchmark's harness in smoke mode against Aedes: every scenario runs end to end over
// real sockets (broker process, load-generator processes), yields a number, and leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from '../../bench/broker.bench';
import { liveChildren } from '../../bench/load/children';
import { SCENARIOS } from '../../bench/load/scenarios';
import { waitUntil } from '../helpers/net';

/** Direct children of `pid`, from /proc. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** Running or sleeping; a zombie waiting to be reaped counts as gone. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('broker bench smoke run against Aedes measures every scenario and stops its processes', { timeout: 90_000 }, async () => {
  const progress: string[] = [];
  const result = await run({ quick: true, smoke: true, brokers: ['aedes'], log: (line) => progress.push(line) });

  assert.deepEqual(result.columns.slice(0, 7), ['scenario', 'metric', 'mqtt-hub', 'Aedes', 'Mosquitto', 'vs Aedes', 'vs Mosquitto']);
  assert.equal(result.rows.length, SCENARIOS.reduce((n, s) => n + s.metrics.length, 0));
  assert.deepEqual((result.notes ?? []).filter((n) => n.includes('failed')), []);
  for (const [scenario, metric, ours, aedes, mosquitto] of result.rows) {
    assert.equal(ours, '-', `${scenario} ${metric}: our broker was not asked for`);
    assert.equal(mosquitto, '-', `${scenario} ${metric}: Mosquitto was not asked for`);
    if (String(metric).startsWith('RSS bytes/conn')) {
      // Memory may even shrink between the two reads (a GC ran); it only has to be measured.
      assert.equal(typeof aedes, 'number', `${scenario} ${metric}: Aedes measured ${aedes}`);
    } else {
      assert.ok(typeof aedes === 'number' && aedes > 0, `${scenario} ${metric}: Aedes measured ${aedes}`);
    }
  }
  // One progress line per scenario (one round, one broker).
  assert.equal(progress.filter((l) => l.includes('· Aedes: ')).length, SCENARIOS.length);
  assert.deepEqual(liveChildren(), []);
});

test('SIGINT to a running bench kills its broker and load generator', { timeout: 30_000 }, async () => {
  const script = path.join(__dirname, '..', '..', 'bench', 'broker.bench.js');
  const bench = spawn(process.execPath, [script, '--smoke', '--brokers=aedes', '--scenarios=fan-in'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  bench.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
  try {
    // The broker (through bash's exec) and a generator are the bench's children while fan-in runs.
    let children: number[] = [];
    await waitUntil(() => (children = childPids(bench.pid!)).length >= 2, 20_000, 'a broker and a load generator under the bench');
    bench.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    await waitUntil(() => children.every((pid) => !running(pid)), 5000, `children ${children.join(', ')} to be gone`);
  } finally {
    bench.kill('SIGKILL');
  }
});
