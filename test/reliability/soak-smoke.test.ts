// The soak run (bench/soak-run.ts, `npm run soak`) cut to 20 s for every test run: a broker child
// under steady load and client churn, sampled every 2 s; after the warm-up its heap (after a full
// collection) may grow by at most 16 MB and its RSS by at most 64 MB; nothing acknowledged is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SOAK, runSoak } from '../../bench/soak-run';

const SECONDS = Number(process.env.RELIABILITY_SOAK_SECONDS ?? 20);

test(`soak smoke: ${SECONDS} s of steady load and client churn, memory flat after the warm-up, nothing lost`, async (t) => {
  const result = await runSoak({
    ...DEFAULT_SOAK,
    durationMs: SECONDS * 1000,
    sampleMs: 2000,
    warmupShare: 0.4,
    log: (line) => t.diagnostic(line),
  });
  assert.ok(result.samples.length >= 5, `samples taken: ${result.samples.length}`);
  assert.ok(result.samples[result.samples.length - 1].churnCycles > 0, 'clients churned');
  assert.equal(result.lost, 0);
  assert.deepEqual(result.failures, []);
  assert.ok(result.ok);
});
