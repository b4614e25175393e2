// The steady load of a soak run against one broker: long-lived subscribers and publishers at a fixed
// message rate (QoS 0, 1 and 2, numbered so QoS 1/2 losses are counted), and churning clients that
// connect, subscribe, publish and leave in a loop, some of them with persistent sessions that expire.
import { connect, type MqttClient } from '../src/client';
import type { QoS } from '../src/codec/types';

export interface LoadOptions {
  port: number;
  /** Messages per second over all steady publishers. */
  rate: number;
  steadyPublishers: number;
  steadySubscribers: number;
  /** Client lifecycles running side by side. */
  churnLoops: number;
  payloadBytes: number;
  /**
   * Churning clients take 3.1.1 persistent sessions under fresh ids, which the broker must keep for
   * ever (each with its queue): memory that grows by design, the control that the soak sees growth.
   */
  neverExpiringSessions?: boolean;
}

export interface LoadCounters {
  published: number;
  /** QoS 1/2 publishes acknowledged. */
  acknowledged: number;
  publishFailures: number;
  /** Deliveries to the steady subscribers. */
  delivered: number;
  churnCycles: number;
  churnFailures: number;
}

const TOPIC = 'soak/steady';

export class SoakLoad {
  readonly counters: LoadCounters = { published: 0, acknowledged: 0, publishFailures: 0, delivered: 0, churnCycles: 0, churnFailures: 0 };
  /** QoS 1/2 sequence numbers acknowledged, per subscriber the ones received. */
  private readonly acked = new Set<number>();
  private readonly seen: Set<number>[] = [];
  private readonly steady: MqttClient[] = [];
  private readonly churning = new Set<MqttClient>();
  private publishTimer: NodeJS.Timeout | undefined;
  private running = false;
  private churns: Promise<void>[] = [];
  private pending = new Set<Promise<unknown>>();
  private seq = 0;

  constructor(private readonly opts: LoadOptions) {}

  private url(): string {
    return `mqtt://127.0.0.1:${this.opts.port}`;
  }

  async start(): Promise<void> {
    this.running = true;
    for (let i = 0; i < this.opts.steadySubscribers; i++) {
      const c = connect(this.url(), { clientId: `soak-sub-${process.pid}-${i}`, protocolVersion: i % 2 === 0 ? 4 : 5, reconnectPeriod: 0, keepalive: 30 });
      const seen = new Set<number>();
      this.seen.push(seen);
      c.on('error', () => undefined);
      c.on('message', (_topic, payload) => {
        this.counters.delivered++;
        const seq = payload.readUInt32BE(0);
        if (seq !== 0xffffffff) seen.add(seq);
      });
      await new Promise<void>((resolve) => c.once('connect', () => resolve()));
      await c.subscribe(`${TOPIC}/#`, { qos: 2 });
      this.steady.push(c);
    }
    for (let i = 0; i < this.opts.steadyPublishers; i++) {
      const c = connect(this.url(), { clientId: `soak-pub-${process.pid}-${i}`, protocolVersion: i % 2 === 0 ? 5 : 4, reconnectPeriod: 0, keepalive: 30 });
      c.on('error', () => undefined);
      await new Promise<void>((resolve) => c.once('connect', () => resolve()));
      this.steady.push(c);
    }
    const publishers = this.steady.slice(this.opts.steadySubscribers);
    // a tick every 20 ms carries rate/50 messages, spread over the publishers, QoS 0, 1, 2 in turn
    const perTick = Math.max(1, Math.round(this.opts.rate / 50));
    this.publishTimer = setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        const qos = (this.counters.published % 3) as QoS;
        const publisher = publishers[this.counters.published % publishers.length];
        const payload = Buffer.alloc(this.opts.payloadBytes);
        const seq = qos === 0 ? 0xffffffff : this.seq++;
        payload.writeUInt32BE(seq, 0);
        this.counters.published++;
        const p = publisher.publish(`${TOPIC}/${qos}`, payload, { qos }).then(
          () => {
            if (qos > 0) {
              this.counters.acknowledged++;
              this.acked.add(seq);
            }
          },
          () => this.counters.publishFailures++,
        );
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      }
    }, 20);
    for (let i = 0; i < this.opts.churnLoops; i++) this.churns.push(this.churnLoop(i));
  }

  /** connect, subscribe, publish a few, leave; again, until stopped. */
  private async churnLoop(loop: number): Promise<void> {
    let n = 0;
    while (this.running) {
      n++;
      const leak = this.opts.neverExpiringSessions === true;
      const version = leak || n % 3 === 0 ? 4 : 5;
      // persistent sessions only where they expire (5.0, 2 s): what stays must be what is bounded
      const persistent = leak || (version === 5 && n % 2 === 0);
      const c = connect(this.url(), {
        clientId: `soak-churn-${process.pid}-${loop}-${persistent && !leak ? n % 50 : n}`,
        protocolVersion: version,
        clean: !persistent,
        properties: version === 5 && persistent ? { sessionExpiryInterval: 2 } : undefined,
        reconnectPeriod: 0,
        connectTimeout: 20_000,
        will: n % 4 === 0 ? { topic: `soak/will/${loop}`, payload: 'gone', qos: 1 } : undefined,
      });
      this.churning.add(c);
      c.on('error', () => undefined);
      try {
        await new Promise<void>((resolve, reject) => {
          c.once('connect', () => resolve());
          c.once('close', () => reject(new Error('closed before CONNACK')));
        });
        // a session that outlives its client queues what it misses: only its own topics, so what the
        // broker holds for the sessions waiting to expire stays small and steady (the leak control
        // takes the steady traffic too, so its sessions grow)
        const filters = persistent && !leak ? [`soak/churn/${loop}/#`] : [`soak/churn/${loop}/#`, `soak/steady/${n % 3}`];
        await c.subscribe(filters, { qos: (n % 3) as QoS });
        for (let k = 0; k < 3; k++) await c.publish(`soak/churn/${loop}/${k}`, `m${n}`, { qos: (k % 3) as QoS, retain: k === 0 });
        await c.end({ force: n % 4 === 0 });
        this.counters.churnCycles++;
      } catch {
        this.counters.churnFailures++;
        await c.end({ force: true });
      } finally {
        this.churning.delete(c);
      }
    }
  }

  /** Stops the load; waits for what is in flight; reports acknowledged QoS 1/2 messages a steady subscriber missed. */
  async stop(settleMs = 15_000): Promise<{ lost: number }> {
    this.running = false;
    clearInterval(this.publishTimer);
    await Promise.all(this.churns);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, settleMs)))]);
    const deadline = Date.now() + settleMs;
    const missing = (): number => this.seen.reduce((sum, seen) => sum + [...this.acked].filter((s) => !seen.has(s)).length, 0);
    while (missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    clearTimeout(timer);
    const lost = missing();
    await Promise.all([...this.steady, ...this.churning].map((c) => c.end({ force: true })));
    return { lost };
  }
}
