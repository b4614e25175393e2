// The soak run (bench/soak-run.ts, `npm run soak`) cut to 20 s for every test run: a broker child
// under steady load and client churn, sampled every 2 s; after the warm-up its heap (after a full
// collection) may grow by at most 32 MB and its RSS by at most 96 MB; nothing acknowledged is lost.
// A control run with sessions that must pile up shows the check does see growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SOAK, runSoak } from '../../bench/soak-run';
import { MB } from './helpers/broker-process';

const SECONDS = Number(process.env.RELIABILITY_SOAK_SECONDS ?? 20);
/** The soak's bounds (heap +32 MB, RSS +96 MB after the warm-up), sampled every 2 s. */
const SMOKE = { ...DEFAULT_SOAK, sampleMs: 2000, warmupShare: 0.4 };

test(`soak smoke: ${SECONDS} s of steady load and client churn, memory flat after the warm-up, nothing lost`, async (t) => {
  const result = await runSoak({
    ...SMOKE,
    durationMs: SECONDS * 1000,
    log: (line) => t.diagnostic(line),
  });
  assert.ok(result.samples.length >= 5, `samples taken: ${result.samples.length}`);
  assert.ok(result.samples[result.samples.length - 1].churnCycles > 0, 'clients churned');
  assert.equal(result.lost, 0);
  assert.deepEqual(result.failures, []);
  assert.ok(result.ok);
});

test('soak control: the same run with sessions the broker must keep for ever is caught growing', async (t) => {
  const result = await runSoak({
    ...SMOKE,
    durationMs: 10_000,
    sampleMs: 1000,
    warmupShare: 0.2,
    // how much it grows in 10 s depends on how busy the machine is (28-60 MB seen): a tighter heap
    // bound here, the same check
    heapGrowthBytes: 8 * MB,
    load: { ...SMOKE.load, rate: 600, neverExpiringSessions: true },
    log: (line) => t.diagnostic(line),
  });
  assert.equal(result.ok, false);
  assert.ok(result.failures.some((f) => f.startsWith('heap grew')), `failures: ${result.failures.join('; ')}`);
});
