// Broker benchmark: our broker, Aedes and Mosquitto side by side on loopback, each in its own process,
// all driven by the same load generator (raw sockets + mqtt-packet, in processes of its own). Rounds
// are interleaved (A, B, C, then again) and each cell is the median of its rounds; ratio columns are
// ours / theirs from this same run. Our broker node in a running Node-RED is measured the same way,
// against our CLI, to show what the Node-RED glue costs (in the full run; --quick leaves it out
// unless --brokers names it).
//
// Through the runner: `npm run bench -- broker [--quick]`. Alone, with more control:
//   node dist/bench/broker.bench.js [--quick | --smoke] [--brokers=mqtt-hub,aedes,mosquitto,node-red]
//     [--scenarios=fan-in,fan-out,qos1,qos2,latency-qos0,latency-qos1,idle,retained]
//     [--pin] [--cpu-prof=DIR] [--json]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../test/helpers/net';
import { BROKER_LABELS, BrokerKind, BrokerProcess, mosquittoVersion, startBroker, unavailableReason } from './load/brokers';
import { nodeRedVersion } from './load/nodered-broker';
import { guardChildren, liveChildren, pinToCpu, setPinning, stopAll } from './load/children';
import { topSelfTime } from './load/cpu-profile';
import { BROKER_CPU } from './load/harness';
import { FULL, MetricSpec, QUICK, Sample, Scenario, SCENARIOS, Settings, SMOKE } from './load/scenarios';
import { median } from './load/stats';
import type { BenchOptions, BenchResult } from './types';

export interface BrokerBenchOptions extends BenchOptions {
  /** Tiny windows and counts, for the harness's own test. */
  smoke?: boolean;
  /**
   * Brokers to run (default all four; with `quick`, all but Node-RED, whose start and rounds would
   * take the quick run past three minutes); unavailable ones are skipped with a note.
   */
  brokers?: BrokerKind[];
  /** Scenario keys to run (default all). */
  scenarios?: string[];
  /** Pin each broker to CPU 0 and the load generators to CPU 1 (taskset); default off. */
  pin?: boolean;
  /**
   * Write a V8 CPU profile of each node broker (ours, Aedes, Node-RED) per sample into this folder,
   * and name the top self-time functions of ours and of Node-RED's in the notes.
   */
  cpuProfileDir?: string;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

const ALL_BROKERS: BrokerKind[] = ['mqtt-hub', 'aedes', 'mosquitto', 'node-red'];
const QUICK_BROKERS: BrokerKind[] = ['mqtt-hub', 'aedes', 'mosquitto'];
/** Our broker, in its CLI and in Node-RED: started once to check it runs, and profiled with --cpu-prof. */
const OURS: BrokerKind[] = ['mqtt-hub', 'node-red'];

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

function fmt(value: number, unit: string): string | number {
  if (!Number.isFinite(value)) return '-';
  if (unit.includes('µs') || unit.startsWith('ms')) return Math.round(value * 10) / 10;
  return Math.round(value);
}

function ratio(ours: number, theirs: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '-';
  return `${(ours / theirs).toFixed(2)}×`;
}

function targetMet(m: MetricSpec, ours: number, aedes: number, mosquitto: number): string {
  if (!Number.isFinite(ours)) return '-';
  const checks: boolean[] = [];
  const ok = (r: number, limit: number): boolean => (m.better === 'higher' ? r >= limit : r <= limit);
  if (m.vsAedes !== undefined && Number.isFinite(aedes)) checks.push(ok(ours / aedes, m.vsAedes));
  if (m.vsMosquitto !== undefined && Number.isFinite(mosquitto)) checks.push(ok(ours / mosquitto, m.vsMosquitto));
  if (m.absolute !== undefined) checks.push(ok(ours, m.absolute));
  if (checks.length === 0) return '-';
  return checks.every(Boolean) ? 'yes' : 'no';
}

/** Our CLI and Node-RED are checked by starting them once: a build or an install may be broken. */
async function probe(kind: BrokerKind): Promise<string | null> {
  const reason = unavailableReason(kind);
  if (reason !== null) return reason;
  let broker: BrokerProcess | null = null;
  try {
    broker = await startBroker(kind, await freePort());
    return null;
  } catch (err) {
    return firstLine(err);
  } finally {
    await broker?.stop();
  }
}

async function sampleOnce(scenario: Scenario, kind: BrokerKind, settings: Settings, nodeArgs: string[]): Promise<Sample> {
  const broker = await startBroker(kind, await freePort(), nodeArgs);
  try {
    pinToCpu(broker.pid, BROKER_CPU);
    return await scenario.measure(broker, settings);
  } finally {
    await broker.stop();
  }
}

export async function run(opts: BrokerBenchOptions): Promise<BenchResult> {
  const settings = opts.smoke ? SMOKE : opts.quick ? QUICK : FULL;
  const log = opts.log ?? ((line: string) => process.stderr.write(`[broker bench] ${line}\n`));
  const unguard = guardChildren();
  setPinning(opts.pin === true);
  const notes: string[] = [];
  const loadBefore = os.loadavg()[0];
  try {
    const brokers: BrokerKind[] = [];
    const asked = opts.brokers ?? (opts.quick || opts.smoke ? QUICK_BROKERS : ALL_BROKERS);
    const unknown = asked.filter((b) => !(b in BROKER_LABELS));
    if (unknown.length > 0) throw new Error(`unknown broker ${unknown.join(', ')}: choose from ${Object.keys(BROKER_LABELS).join(', ')}`);
    if (!asked.includes('node-red')) notes.push(`${BROKER_LABELS['node-red']} not run (add it with --brokers=${[...asked, 'node-red'].join(',')}).`);
    for (const kind of asked) {
      const reason = OURS.includes(kind) ? await probe(kind) : unavailableReason(kind);
      if (reason === null) brokers.push(kind);
      else notes.push(`${BROKER_LABELS[kind]} skipped: ${reason}`);
    }
    const profiles: { kind: BrokerKind; scenario: string; file: string }[] = [];
    const scenarios = SCENARIOS.filter((s) => opts.scenarios === undefined || opts.scenarios.includes(s.key));
    // samples[scenario][broker] = one Sample per round
    const samples = new Map<string, Map<BrokerKind, Sample[]>>();
    for (const scenario of scenarios) {
      const byBroker = new Map<BrokerKind, Sample[]>(brokers.map((b) => [b, []]));
      samples.set(scenario.key, byBroker);
      for (let round = 1; round <= settings.rounds; round++) {
        for (const kind of brokers) {
          const label = `${scenario.title(settings)} · round ${round}/${settings.rounds} · ${BROKER_LABELS[kind]}`;
          try {
            const profileName = `${kind}-${scenario.key}-round${round}.cpuprofile`;
            const nodeArgs = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`, `--cpu-prof-name=${profileName}`] : [];
            const sample = await sampleOnce(scenario, kind, settings, nodeArgs);
            if (opts.cpuProfileDir && OURS.includes(kind)) profiles.push({ kind, scenario: scenario.key, file: path.join(opts.cpuProfileDir, profileName) });
            byBroker.get(kind)!.push(sample);
            const values = scenario.metrics.map((m) => `${fmt(sample.values[m.key], m.unit)} ${m.unit}`).join(', ');
            const cpu = `generator CPU ${Math.round(sample.generatorCpu * 100)}%, broker CPU ${Number.isFinite(sample.brokerCpu) ? Math.round(sample.brokerCpu * 100) + '%' : '-'}`;
            log(`${label}: ${values} (${cpu}${sample.lost > 0 ? `, ${Math.round(sample.lost)} lost` : ''})`);
          } catch (err) {
            notes.push(`${label} failed: ${firstLine(err)}`);
            log(`${label} failed: ${firstLine(err)}`);
          }
        }
      }
    }
    // One profile per scenario and broker in the notes: the last round's.
    const lastProfiles = [...new Map(profiles.map((p) => [`${p.kind} ${p.scenario}`, p])).values()];
    for (const p of lastProfiles) {
      if (!fs.existsSync(p.file)) continue;
      const top = topSelfTime(p.file, 8).map((t) => `${(t.share * 100).toFixed(1)}% ${t.location}`);
      notes.push(`${BROKER_LABELS[p.kind]} CPU profile, ${p.scenario} (${p.file}), top self time: ${top.join('; ')}`);
    }
    const load = `${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`;
    notes.push(`Machine: ${os.cpus().length} cores, 1-minute load average ${load}; a load above the core count means other work shared the cores and the absolute numbers are low and noisy; the interleaved ratios hold better.`);
    const withNodeRed = asked.includes('node-red');
    return tabulate(scenarios, brokers, samples, settings, notes, opts.pin === true, withNodeRed);
  } finally {
    await stopAll();
    unguard();
  }
}

/** `withNodeRed` adds the Node-RED column and its ratio to our CLI (when asked for, even if skipped). */
function tabulate(scenarios: Scenario[], brokers: BrokerKind[], samples: Map<string, Map<BrokerKind, Sample[]>>, settings: Settings, notes: string[], pinned: boolean, withNodeRed: boolean): BenchResult {
  const rows: (string | number)[][] = [];
  const cpuNotes: string[] = [];
  const lostNotes: string[] = [];
  for (const scenario of scenarios) {
    const byBroker = samples.get(scenario.key)!;
    const med = (kind: BrokerKind, key: string): number => median((byBroker.get(kind) ?? []).map((s) => s.values[key]));
    const all = [...byBroker.values()].flat();
    const generatorCpu = Math.max(...all.map((s) => s.generatorCpu).filter(Number.isFinite));
    for (const m of scenario.metrics) {
      const ours = med('mqtt-hub', m.key);
      const aedes = med('aedes', m.key);
      const mosquitto = med('mosquitto', m.key);
      const nodeRed = med('node-red', m.key);
      rows.push([
        scenario.title(settings),
        m.unit,
        fmt(ours, m.unit),
        fmt(aedes, m.unit),
        fmt(mosquitto, m.unit),
        ratio(ours, aedes),
        ratio(ours, mosquitto),
        ...(withNodeRed ? [fmt(nodeRed, m.unit), ratio(nodeRed, ours)] : []),
        m.targetText || '-',
        targetMet(m, ours, aedes, mosquitto),
        Number.isFinite(generatorCpu) ? `${Math.round(generatorCpu * 100)}%` : '-',
      ]);
    }
    const brokerCpu = brokers
      .map((b) => [b, median((byBroker.get(b) ?? []).map((s) => s.brokerCpu))] as const)
      .filter(([, v]) => Number.isFinite(v))
      .map(([b, v]) => `${BROKER_LABELS[b]} ${Math.round(v * 100)}%`);
    if (brokerCpu.length > 0) cpuNotes.push(`${scenario.key}: ${brokerCpu.join(', ')}`);
    for (const b of brokers) {
      const lost = (byBroker.get(b) ?? []).reduce((sum, s) => sum + s.lost, 0);
      if (lost > 0) lostNotes.push(`${scenario.key} ${BROKER_LABELS[b]}: ${Math.round(lost)} messages not received (dropped by the broker, or later than 2 s after the window)`);
    }
  }
  return {
    title: `Broker: mqtt-hub vs Aedes vs Mosquitto${withNodeRed ? ', and mqtt-hub in Node-RED' : ''} (loopback, MQTT 3.1.1, 64-byte payloads)`,
    columns: ['scenario', 'metric', 'mqtt-hub', 'Aedes', 'Mosquitto', 'vs Aedes', 'vs Mosquitto', ...(withNodeRed ? ['in Node-RED', 'Node-RED / CLI'] : []), 'target', 'met', 'gen CPU max'],
    rows,
    notes: [
      ...notes,
      `Medians of ${settings.rounds} interleaved round(s); throughput windows ${settings.windowMs} ms after ${settings.warmupMs} ms warm-up. Ratios are mqtt-hub / other (for µs, bytes and ms lower is better).`,
      `Each broker runs alone in its own process, TCP_NODELAY on; the load generator (raw sockets, mqtt-packet) runs in separate processes${pinned ? `, pinned to the other core than the broker's (CPU ${BROKER_CPU})` : ''}. Node ${process.version}, Mosquitto ${mosquittoVersion()}; mqtt-hub and Mosquitto read the same mosquitto.conf (max_inflight_messages 64, max_queued_messages 100000, connection_messages false), Aedes runs with its defaults.`,
      ...(withNodeRed
        ? [
            `"in Node-RED" is one mqtt-hub-broker node in Node-RED ${nodeRedVersion()} (a fresh user dir with this build installed, the editor on its own port, console log at warn as the conf's log_type error), set like the mosquitto.conf above (anonymous, no persistence, no packet log, max queued 100000, max inflight 64; TCP_NODELAY on, the engine's default, as set_tcp_nodelay true gives the CLI); "Node-RED / CLI" is its value / the CLI's. Its idle RSS per connection is a difference of two reads, so Node-RED's own baseline cancels out.`,
          ]
        : []),
      `Idle connections: the broker's RSS growth per connection 1 s after the last one opened ("at 1 s"), and again after ${(settings.idleSettleMs / 1000).toLocaleString('en-US')} s more without traffic ("settled"; a Node.js broker's young generation, grown during the connection burst, is given back by V8 some 15-20 s after allocation stops).`,
      'QoS 0 throughput keeps a bounded number of messages on the way (fan-in 4,096 messages, fan-out 256 publishes), so it measures what a broker sustains, not how much it can buffer.',
      `"gen CPU max" is the busiest load-generator process over a window, as a share of one core: near 100% would make the generator the bottleneck.`,
      ...(cpuNotes.length > 0 ? [`Broker CPU over the window (median, share of one core): ${cpuNotes.join('; ')}.`] : []),
      ...lostNotes,
    ],
  };
}

/** Plain-text table, for running this file alone (`npm run bench` prints through bench/run.ts). */
export function formatTable(result: BenchResult): string {
  const cells = [result.columns, ...result.rows].map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = result.columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]): string => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [result.title, line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line), ...(result.notes ?? []).map((n) => `* ${n}`)].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const pick = (name: string): string[] | undefined => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a === undefined ? undefined : a.slice(name.length + 3).split(',');
  };
  const cpuProfileDir = pick('cpu-prof')?.[0];
  run({
    quick: args.includes('--quick'),
    smoke: args.includes('--smoke'),
    pin: args.includes('--pin'),
    brokers: pick('brokers') as BrokerKind[] | undefined,
    scenarios: pick('scenarios'),
    cpuProfileDir: cpuProfileDir === undefined ? undefined : path.resolve(cpuProfileDir),
  })
    .then((result) => {
      console.log(formatTable(result));
      if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
      if (liveChildren().length > 0) throw new Error(`children still alive: ${liveChildren().join(', ')}`);
    })
    .catch((err: Error) => {
      console.error(err);
      process.exitCode = 1;
    });
}
