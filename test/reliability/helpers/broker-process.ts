// Our broker in a child process (broker-child.ts): its port, its resident memory read from /proc, its
// own heap figures and drop counters over IPC, and whether it is still alive. Every process started
// here is killed by `stop()`, or by the exit handler if a test forgets.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrokerOptions } from '../../../src/broker';
import type { ChildReady, ChildRequest, ChildStats } from './broker-child';

const START_TIMEOUT_MS = 20_000;
const STATS_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Options that travel as JSON: no hooks, no store, no logger. */
export type ChildBrokerOptions = Omit<BrokerOptions, 'store' | 'logger' | 'authenticate' | 'enhancedAuthenticate' | 'authorizePublish' | 'authorizeSubscribe'>;

/** VmRSS of /proc/<pid>/status in bytes, NaN when the process is gone. */
export function residentBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const MB = 1024 * 1024;

export class BrokerProcess {
  /** Highest RSS seen by `sampleRss()` and `stats()`. */
  peakRss = 0;
  private output = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    live.add(child);
    const collect = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-16_384);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        resolve();
      });
    });
  }

  /** Port of the broker's listener on 127.0.0.1. */
  port = 0;

  static async start(options: ChildBrokerOptions = {}, nodeArgs: string[] = ['--expose-gc']): Promise<BrokerProcess> {
    const child = fork(path.join(__dirname, 'broker-child.js'), [], {
      env: { ...process.env, MQTT_HUB_BROKER_OPTIONS: JSON.stringify(options) },
      execArgv: nodeArgs,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const bp = new BrokerProcess(child);
    try {
      bp.port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`broker child did not start within ${START_TIMEOUT_MS} ms:\n${bp.output}`)), START_TIMEOUT_MS);
        child.on('message', (m: ChildReady | ChildStats) => {
          if (m.type !== 'ready') return;
          clearTimeout(timer);
          resolve(m.port);
        });
        void bp.exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`broker child exited before listening: ${bp.describeExit()}`));
        });
      });
    } catch (err) {
      await bp.kill();
      throw err;
    }
    return bp;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** True while the broker process runs. */
  get alive(): boolean {
    return this.exitInfo === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Why it is not alive, with its last output, for assertion messages. */
  describeExit(): string {
    return `broker child exit ${JSON.stringify(this.exitInfo ?? null)}; output:\n${this.output}`;
  }

  /** Resident set size now (from /proc), also kept as the peak. */
  sampleRss(): number {
    const rss = residentBytes(this.pid);
    if (rss > this.peakRss) this.peakRss = rss;
    return rss;
  }

  /** Heap, RSS and counters from inside the broker process; `gc` collects first. */
  async stats(gc = false): Promise<ChildStats> {
    if (!this.alive) throw new Error(this.describeExit());
    const child = this.child;
    return new Promise<ChildStats>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`broker child sent no stats within ${STATS_TIMEOUT_MS} ms`));
      }, STATS_TIMEOUT_MS);
      const onMessage = (m: ChildReady | ChildStats): void => {
        if (m.type !== 'stats') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        if (m.rss > this.peakRss) this.peakRss = m.rss;
        resolve(m);
      };
      child.on('message', onMessage);
      const request: ChildRequest = { type: 'stats', gc };
      child.send(request);
    });
  }

  /** Samples RSS every `intervalMs` until the returned function is called; it returns the peak. */
  watchRss(intervalMs = 100): () => number {
    let peak = this.sampleRss();
    const timer = setInterval(() => {
      const rss = this.sampleRss();
      if (rss > peak) peak = rss;
    }, intervalMs);
    return () => {
      clearInterval(timer);
      const rss = this.sampleRss();
      return Math.max(peak, Number.isNaN(rss) ? 0 : rss);
    };
  }

  /** Orderly close (broker.close()), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      const request: ChildRequest = { type: 'close' };
      this.child.send(request);
    } catch {
      this.child.kill('SIGKILL');
    }
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL now. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}
