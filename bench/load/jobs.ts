// What the bench harness asks of a load-generator process, and what the process answers (over IPC).

interface JobBase {
  /** Port of the broker under test on 127.0.0.1. */
  port: number;
  /** The broker's process id, to read its CPU time over the measurement window. */
  brokerPid: number;
}

export interface ThroughputJob extends JobBase {
  kind: 'fan-in' | 'fan-out' | 'qos1' | 'qos2';
  publishers: number;
  subscribers: number;
  payloadSize: number;
  /** QoS 0: messages sent but not yet received; QoS 1/2: unacknowledged PUBLISH per publisher. */
  window: number;
  warmupMs: number;
  windowMs: number;
}

export interface LatencyJob extends JobBase {
  kind: 'latency';
  qos: 0 | 1;
  /** Messages per second, paced from the clock. */
  rate: number;
  payloadSize: number;
  warmupMs: number;
  windowMs: number;
}

export interface IdleJob extends JobBase {
  kind: 'idle';
  connections: number;
  /** Handshakes pending at a time. */
  concurrency: number;
  clientIdPrefix: string;
}

export interface RetainedJob extends JobBase {
  kind: 'retained';
  messages: number;
  payloadSize: number;
}

export type Job = ThroughputJob | LatencyJob | IdleJob | RetainedJob;

/** CPU use over the measurement window, as a fraction of one core. */
export interface CpuShare {
  generatorCpu: number;
  brokerCpu: number;
}

export interface ThroughputResult extends CpuShare {
  /** Messages received by subscribers per second (deliveries, for fan-out). */
  rate: number;
  received: number;
  /** Messages given up as lost after a stall (QoS 0 may be dropped by a broker). */
  lost: number;
}

export interface LatencyResult extends CpuShare {
  p50Us: number;
  p99Us: number;
  maxUs: number;
  samples: number;
  lost: number;
}

export interface RetainedResult extends CpuShare {
  /** From SUBSCRIBE written to the last retained PUBLISH read. */
  deliveryMs: number;
}

export interface IdleResult {
  opened: number;
  generatorCpu: number;
}

export type WorkerMessage =
  /** Sent once the process listens for its job. */
  | { type: 'ready' }
  | { type: 'result'; result: ThroughputResult | LatencyResult | RetainedResult | IdleResult }
  /** Idle job: every connection is open; the worker now waits for { cmd: 'close' }. */
  | { type: 'connected'; opened: number }
  | { type: 'error'; message: string };

export type ParentMessage = { cmd: 'start'; job: Job } | { cmd: 'close' };
