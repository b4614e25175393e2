// The parent side of the load generator: forks worker processes (pinned away from the broker's core),
// hands them a job and waits for the answer, bounded in time; the idle-connections scenario, which
// needs the broker's memory read between the workers' steps, is driven from here.
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import { pinToCpu, stopChild, track } from './children';
import type { BrokerProcess } from './brokers';
import type { IdleResult, Job, ParentMessage, WorkerMessage } from './jobs';
import { cpuSeconds } from './proc';
import { sleep } from './window';

const workerPath = path.join(__dirname, 'worker.js');
export const BROKER_CPU = 0;
export const GENERATOR_CPU = 1;

class Worker {
  private readonly queue: WorkerMessage[] = [];
  private waiting: ((m: WorkerMessage) => void) | null = null;
  private exitError: Error | null = null;

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: WorkerMessage) => {
      if (this.waiting !== null) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.queue.push(m);
    });
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`load generator exited (${signal ?? code})`);
      if (this.waiting !== null) this.waiting({ type: 'error', message: this.exitError.message });
    });
  }

  static start(): Worker {
    // No inherited execArgv or test-runner context: the worker is a plain node process.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    return new Worker(track(fork(workerPath, [], { execArgv: [], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  }

  /** The next message of `type`; an 'error' message, an exit or the timeout reject. */
  async next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>> {
    const message = await new Promise<WorkerMessage>((resolve, reject) => {
      const queued = this.queue.shift();
      if (queued !== undefined) return resolve(queued);
      if (this.exitError !== null) return reject(this.exitError);
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no '${type}' from the load generator within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
    if (message.type === 'error') throw new Error(`load generator: ${message.message}`);
    if (message.type !== type) throw new Error(`load generator sent '${message.type}', expected '${type}'`);
    return message as Extract<WorkerMessage, { type: T }>;
  }

  send(message: ParentMessage): void {
    this.child.send(message);
  }

  /** Waits until the worker listens, then pins it to the generator's CPU (when pinning is on). */
  async ready(): Promise<void> {
    await this.next('ready', 10_000);
    pinToCpu(this.child.pid!, GENERATOR_CPU);
  }

  stop(): Promise<void> {
    return stopChild(this.child, 1000);
  }
}

/** Runs one job in a fresh load-generator process and returns its result. */
export async function runJob<R>(job: Job, timeoutMs: number): Promise<R> {
  const worker = Worker.start();
  try {
    await worker.ready();
    worker.send({ cmd: 'start', job });
    const message = await worker.next('result', timeoutMs);
    return message.result as R;
  } finally {
    await worker.stop();
  }
}

export interface IdleMeasurement {
  /** RSS growth per connection settleMs after the last one opened. */
  bytesPerConnection: number;
  /** The same after idleMs more without traffic; NaN without that wait. */
  bytesPerConnectionSettled: number;
  connectsPerSecond: number;
  generatorCpu: number;
  /** The broker's CPU share while the connections opened. */
  brokerCpu: number;
}

/**
 * Handshakes pending at a time over all generator processes: kept under the smallest listen backlog
 * among the brokers (Mosquitto's is 100), since a full accept queue drops SYNs and the 1 s SYN
 * retransmission would then be measured instead of the broker.
 */
const IDLE_CONCURRENCY = 64;

/**
 * Opens `connections` idle MQTT connections from `processes` load generators at once; reads the
 * broker's RSS before and after (after a settle time), and the connect rate over the whole opening.
 */
export async function measureIdle(broker: BrokerProcess, connections: number, processes: number, settleMs: number, idleMs = 0): Promise<IdleMeasurement> {
  const workers = Array.from({ length: processes }, () => Worker.start());
  try {
    await Promise.all(workers.map((w) => w.ready()));
    await sleep(settleMs);
    const residentBefore = broker.residentBytes();
    const brokerCpuBefore = cpuSeconds(broker.pid);
    const share = Math.ceil(connections / processes);
    const start = process.hrtime.bigint();
    workers.forEach((w, i) => {
      const count = Math.min(share, connections - i * share);
      w.send({ cmd: 'start', job: { kind: 'idle', port: broker.port, brokerPid: broker.pid, connections: count, concurrency: Math.max(1, Math.floor(IDLE_CONCURRENCY / processes)), clientIdPrefix: `bench-idle-${i}-` } });
    });
    const timeoutMs = 60_000 + connections * 10;
    const opened = await Promise.all(workers.map((w) => w.next('connected', timeoutMs)));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const brokerCpu = seconds >= 0.5 ? (cpuSeconds(broker.pid) - brokerCpuBefore) / seconds : NaN;
    const total = opened.reduce((sum, m) => sum + m.opened, 0);
    await sleep(settleMs);
    const residentAfter = broker.residentBytes();
    let residentSettled = NaN;
    if (idleMs > 0) {
      await sleep(idleMs);
      residentSettled = broker.residentBytes();
    }
    for (const w of workers) w.send({ cmd: 'close' });
    const results = await Promise.all(workers.map((w) => w.next('result', 30_000)));
    const still = results.reduce((sum, m) => sum + (m.result as IdleResult).opened, 0);
    if (still < total) throw new Error(`${total - still} of ${total} idle connections were closed by the broker`);
    return {
      bytesPerConnection: (residentAfter - residentBefore) / total,
      bytesPerConnectionSettled: (residentSettled - residentBefore) / total,
      connectsPerSecond: total / seconds,
      generatorCpu: Math.max(...results.map((m) => (m.result as IdleResult).generatorCpu)),
      brokerCpu,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
