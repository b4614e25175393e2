// The seven broker scenarios: what each measures, against which targets, and how one sample is taken
// from a running broker.
import type { BrokerProcess } from './brokers';
import { measureIdle, runJob } from './harness';
import type { LatencyResult, RetainedResult, ThroughputJob, ThroughputResult } from './jobs';

export interface Settings {
  rounds: number;
  warmupMs: number;
  windowMs: number;
  latencyRate: number;
  idleConnections: number;
  idleProcesses: number;
  /**
   * How long the connections then stay idle before a second RSS reading (0: none). A Node.js broker's
   * young generation grows during the connection burst and V8 gives it back some 15-20 s later, once
   * allocation has stopped; the second reading is the idle broker's steady state.
   */
  idleSettleMs: number;
  retainedMessages: number;
  payloadSize: number;
}

export const QUICK: Settings = { rounds: 2, warmupMs: 500, windowMs: 1500, latencyRate: 5000, idleConnections: 2000, idleProcesses: 2, idleSettleMs: 0, retainedMessages: 10_000, payloadSize: 64 };
export const FULL: Settings = { rounds: 4, warmupMs: 1000, windowMs: 3000, latencyRate: 5000, idleConnections: 10_000, idleProcesses: 2, idleSettleMs: 30_000, retainedMessages: 10_000, payloadSize: 64 };
/** For the harness's own test: every scenario, briefly, small. */
export const SMOKE: Settings = { rounds: 1, warmupMs: 200, windowMs: 400, latencyRate: 2000, idleConnections: 200, idleProcesses: 1, idleSettleMs: 300, retainedMessages: 500, payloadSize: 64 };

/** Which way is better, and the target for our broker in this run's own ratios. */
export interface MetricSpec {
  key: string;
  unit: string;
  better: 'higher' | 'lower';
  /** ours / Aedes must be ≥ (higher) or ≤ (lower) this. */
  vsAedes?: number;
  vsMosquitto?: number;
  /** ours must be ≤ (lower) or ≥ (higher) this absolute value. */
  absolute?: number;
  targetText: string;
}

export interface Sample {
  values: Record<string, number>;
  generatorCpu: number;
  brokerCpu: number;
  /** Messages a broker dropped (QoS 0) or did not deliver in time. */
  lost: number;
}

export interface Scenario {
  key: string;
  title: (s: Settings) => string;
  metrics: MetricSpec[];
  measure: (broker: BrokerProcess, s: Settings) => Promise<Sample>;
}

const THROUGHPUT_TARGET = { better: 'higher' as const, vsAedes: 2, vsMosquitto: 1, targetText: '≥2× Aedes, ≥1× Mosquitto' };

function throughput(kind: ThroughputJob['kind'], shape: Pick<ThroughputJob, 'publishers' | 'subscribers' | 'window'>) {
  return async (broker: BrokerProcess, s: Settings): Promise<Sample> => {
    const job: ThroughputJob = { kind, port: broker.port, brokerPid: broker.pid, payloadSize: s.payloadSize, warmupMs: s.warmupMs, windowMs: s.windowMs, ...shape };
    const r = await runJob<ThroughputResult>(job, s.warmupMs + s.windowMs + 30_000);
    return { values: { rate: r.rate }, generatorCpu: r.generatorCpu, brokerCpu: r.brokerCpu, lost: r.lost };
  };
}

function latency(qos: 0 | 1) {
  return async (broker: BrokerProcess, s: Settings): Promise<Sample> => {
    const r = await runJob<LatencyResult>(
      { kind: 'latency', qos, port: broker.port, brokerPid: broker.pid, rate: s.latencyRate, payloadSize: s.payloadSize, warmupMs: s.warmupMs, windowMs: s.windowMs },
      s.warmupMs + s.windowMs + 30_000,
    );
    return { values: { p50: r.p50Us, p99: r.p99Us }, generatorCpu: r.generatorCpu, brokerCpu: r.brokerCpu, lost: r.lost };
  };
}

const LATENCY_METRICS: MetricSpec[] = [
  { key: 'p50', unit: 'p50 µs', better: 'lower', targetText: '' },
  { key: 'p99', unit: 'p99 µs', better: 'lower', vsMosquitto: 2, targetText: '≤2× Mosquitto' },
];

export const SCENARIOS: Scenario[] = [
  {
    key: 'fan-in',
    title: () => 'fan-in QoS 0, 8 pub → 1 sub',
    metrics: [{ key: 'rate', unit: 'msgs/s', ...THROUGHPUT_TARGET }],
    measure: throughput('fan-in', { publishers: 8, subscribers: 1, window: 4096 }),
  },
  {
    key: 'fan-out',
    title: () => 'fan-out QoS 0, 1 pub → 50 sub',
    metrics: [{ key: 'rate', unit: 'deliveries/s', ...THROUGHPUT_TARGET }],
    measure: throughput('fan-out', { publishers: 1, subscribers: 50, window: 256 }),
  },
  {
    key: 'qos1',
    title: () => 'QoS 1 end to end, 64 in flight',
    metrics: [{ key: 'rate', unit: 'msgs/s', ...THROUGHPUT_TARGET }],
    measure: throughput('qos1', { publishers: 1, subscribers: 1, window: 64 }),
  },
  {
    key: 'qos2',
    title: () => 'QoS 2 end to end, 64 in flight',
    metrics: [{ key: 'rate', unit: 'msgs/s', ...THROUGHPUT_TARGET }],
    measure: throughput('qos2', { publishers: 1, subscribers: 1, window: 64 }),
  },
  {
    key: 'latency-qos0',
    title: (s) => `latency QoS 0 at ${s.latencyRate.toLocaleString('en-US')} msg/s`,
    metrics: LATENCY_METRICS,
    measure: latency(0),
  },
  {
    key: 'latency-qos1',
    title: (s) => `latency QoS 1 at ${s.latencyRate.toLocaleString('en-US')} msg/s`,
    metrics: LATENCY_METRICS,
    measure: latency(1),
  },
  {
    key: 'idle',
    title: (s) => `${s.idleConnections.toLocaleString('en-US')} idle connections`,
    metrics: [
      { key: 'bytesPerConnection', unit: 'RSS bytes/conn at 1 s', better: 'lower', targetText: '' },
      { key: 'bytesPerConnectionSettled', unit: 'RSS bytes/conn settled', better: 'lower', absolute: 4096, targetText: '≤4 KB' },
      { key: 'connectsPerSecond', unit: 'connects/s', better: 'higher', vsAedes: 3, targetText: '≥3× Aedes' },
    ],
    measure: async (broker, s) => {
      const r = await measureIdle(broker, s.idleConnections, s.idleProcesses, 1000, s.idleSettleMs);
      return { values: { bytesPerConnection: r.bytesPerConnection, bytesPerConnectionSettled: r.bytesPerConnectionSettled, connectsPerSecond: r.connectsPerSecond }, generatorCpu: r.generatorCpu, brokerCpu: r.brokerCpu, lost: 0 };
    },
  },
  {
    key: 'retained',
    title: (s) => `${s.retainedMessages.toLocaleString('en-US')} retained → new '#' subscriber`,
    metrics: [{ key: 'deliveryMs', unit: 'ms to receive all', better: 'lower', vsMosquitto: 1, targetText: '≤1× Mosquitto' }],
    measure: async (broker, s) => {
      const r = await runJob<RetainedResult>({ kind: 'retained', port: broker.port, brokerPid: broker.pid, messages: s.retainedMessages, payloadSize: s.payloadSize }, 150_000);
      return { values: { deliveryMs: r.deliveryMs }, generatorCpu: r.generatorCpu, brokerCpu: r.brokerCpu, lost: 0 };
    },
  },
];
