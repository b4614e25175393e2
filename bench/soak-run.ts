// A soak run: our broker in a child process under SoakLoad for a given time; its heap (after a full
// collection) and RSS sampled at a fixed interval and printed as a table; after the warm-up, growth
// beyond the stated bounds, a crash, lost QoS 1/2 messages or failing churn fail the run.
import { BrokerProcess, MB } from '../test/reliability/helpers/broker-process';
import { SoakLoad, type LoadOptions } from './soak-load';

export interface SoakOptions {
  durationMs: number;
  sampleMs: number;
  /** Share of the duration before the baseline is taken. */
  warmupShare: number;
  /** Allowed growth of the heap after a full collection, from the baseline to the end. */
  heapGrowthBytes: number;
  /** Allowed growth of the RSS, from the baseline to the end. */
  rssGrowthBytes: number;
  load: Omit<LoadOptions, 'port'>;
  log: (line: string) => void;
}

/**
 * The broker's heap after a full collection is not flat under this load but oscillates, by up to
 * ~25 MB with a period of about half a minute (4-minute runs: 8-35 MB with no trend over 100,000
 * churn cycles), so the bounds sit above that swing; a leak of a few KB per churn cycle passes them
 * within a minute (the control in test/reliability/soak-smoke.test.ts grows by 60 MB in 8 s).
 */
export const DEFAULT_SOAK: Omit<SoakOptions, 'durationMs' | 'log'> = {
  sampleMs: 5000,
  warmupShare: 0.3,
  heapGrowthBytes: 32 * MB,
  rssGrowthBytes: 96 * MB,
  load: { rate: 300, steadyPublishers: 4, steadySubscribers: 8, churnLoops: 8, payloadBytes: 256 },
};

export interface SoakSample {
  seconds: number;
  rss: number;
  heapUsed: number;
  clients: number;
  published: number;
  delivered: number;
  churnCycles: number;
}

export interface SoakResult {
  ok: boolean;
  failures: string[];
  samples: SoakSample[];
  baseline: SoakSample | undefined;
  lost: number;
}

const COLUMNS = ['time s', 'RSS MB', 'heap MB', 'clients', 'published', 'delivered', 'churn cycles'];

function row(s: SoakSample): string {
  const cells = [s.seconds.toFixed(0), (s.rss / MB).toFixed(1), (s.heapUsed / MB).toFixed(1), s.clients, s.published, s.delivered, s.churnCycles];
  return cells.map((c, i) => String(c).padStart(COLUMNS[i].length)).join('  ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const failures: string[] = [];
  const samples: SoakSample[] = [];
  const broker = await BrokerProcess.start({ maxQueuedMessages: 1000, sysInterval: 1 });
  const load = new SoakLoad({ port: broker.port, ...options.load });
  const started = Date.now();
  let lost = 0;
  try {
    await load.start();
    log(`soak: ${(options.durationMs / 1000).toFixed(0)} s, broker pid ${broker.pid}, ${options.load.rate} msg/s, ${options.load.churnLoops} churn loops; sample every ${options.sampleMs / 1000} s; warm-up ${(options.warmupShare * 100).toFixed(0)} %`);
    log(COLUMNS.join('  '));
    while (Date.now() - started < options.durationMs) {
      await new Promise((r) => setTimeout(r, Math.min(options.sampleMs, Math.max(0, options.durationMs - (Date.now() - started)))));
      if (!broker.alive) {
        failures.push(`broker died: ${broker.describeExit()}`);
        break;
      }
      const stats = await broker.stats(true);
      const c = load.counters;
      const sample: SoakSample = {
        seconds: (Date.now() - started) / 1000,
        rss: stats.rss,
        heapUsed: stats.heapUsed,
        clients: stats.clients,
        published: c.published,
        delivered: c.delivered,
        churnCycles: c.churnCycles,
      };
      samples.push(sample);
      log(row(sample));
    }
  } finally {
    lost = (await load.stop()).lost;
    await broker.stop();
  }
  const c = load.counters;
  // baseline and end are medians of the first and the last third of the samples after the warm-up:
  // one sample can catch a burst still being written, a leak moves the whole third
  const warm = samples.filter((s) => s.seconds * 1000 >= options.durationMs * options.warmupShare);
  const third = Math.max(1, Math.floor(warm.length / 3));
  let baseline: SoakSample | undefined;
  if (warm.length < 2) {
    failures.push(`too few samples after the warm-up (${warm.length}): run longer or sample more often`);
  } else {
    const first = warm.slice(0, third);
    const last = warm.slice(-third);
    baseline = { ...first[0], heapUsed: median(first.map((s) => s.heapUsed)), rss: median(first.map((s) => s.rss)) };
    const end = { heap: median(last.map((s) => s.heapUsed)), rss: median(last.map((s) => s.rss)) };
    const heapGrowth = end.heap - baseline.heapUsed;
    const rssGrowth = end.rss - baseline.rss;
    log(`after warm-up (medians of the first and last ${third} samples): heap ${(baseline.heapUsed / MB).toFixed(1)} -> ${(end.heap / MB).toFixed(1)} MB (growth ${(heapGrowth / MB).toFixed(1)}, bound ${(options.heapGrowthBytes / MB).toFixed(0)}); RSS ${(baseline.rss / MB).toFixed(1)} -> ${(end.rss / MB).toFixed(1)} MB (growth ${(rssGrowth / MB).toFixed(1)}, bound ${(options.rssGrowthBytes / MB).toFixed(0)})`);
    if (heapGrowth > options.heapGrowthBytes) failures.push(`heap grew by ${(heapGrowth / MB).toFixed(1)} MB after the warm-up (bound ${options.heapGrowthBytes / MB} MB)`);
    if (rssGrowth > options.rssGrowthBytes) failures.push(`RSS grew by ${(rssGrowth / MB).toFixed(1)} MB after the warm-up (bound ${options.rssGrowthBytes / MB} MB)`);
  }
  log(`published ${c.published} (${c.acknowledged} QoS 1/2 acknowledged, ${c.publishFailures} failed), delivered ${c.delivered}, lost ${lost}; churn cycles ${c.churnCycles} (${c.churnFailures} failed)`);
  if (lost > 0) failures.push(`${lost} acknowledged QoS 1/2 messages never reached a steady subscriber`);
  if (c.publishFailures > 0) failures.push(`${c.publishFailures} steady publishes failed`);
  if (c.churnCycles === 0) failures.push('no churn cycle completed');
  if (c.churnFailures > c.churnCycles / 100) failures.push(`${c.churnFailures} churn cycles failed (of ${c.churnCycles + c.churnFailures})`);
  return { ok: failures.length === 0, failures, samples, baseline, lost };
}
