// $SYS topics, named as Mosquitto names them, published retained every `sysInterval` seconds;
// a value that did not change since the last round is not published again (uptime always is).
import type { BrokerCore } from './core';
import { LIMIT_KINDS } from './limits';

const VERSION = 'mqtt-hub 0.1.0';

/** An exponentially damped per-minute rate over `windowSeconds`, as Mosquitto's load figures. */
class Load {
  value = 0;
  constructor(private readonly windowSeconds: number) {}
  update(delta: number, elapsedSeconds: number): void {
    if (elapsedSeconds <= 0) return;
    const perMinute = (delta * 60) / elapsedSeconds;
    const decay = Math.exp(-elapsedSeconds / this.windowSeconds);
    this.value = this.value * decay + perMinute * (1 - decay);
  }
}

interface Counter {
  name: string;
  read: (core: BrokerCore) => number;
  last: number;
  loads: [Load, Load, Load];
}

export class SysTopics {
  private timer: NodeJS.Timeout | undefined;
  private readonly lastPublished = new Map<string, string>();
  private lastRound = Date.now();
  private readonly counters: Counter[] = (
    [
      ['messages/received', (c) => c.stats.messagesReceived],
      ['messages/sent', (c) => c.stats.messagesSent],
      ['publish/messages/received', (c) => c.stats.publishReceived],
      ['publish/messages/sent', (c) => c.stats.publishSent],
      ['publish/dropped', (c) => c.stats.publishDropped],
      ['bytes/received', (c) => c.stats.bytesReceived],
      ['bytes/sent', (c) => c.stats.bytesSent],
      ['connections', (c) => c.stats.connectionsTotal],
    ] as [string, (c: BrokerCore) => number][]
  ).map(([name, read]) => ({ name, read, last: 0, loads: [new Load(60), new Load(300), new Load(900)] }));

  constructor(private readonly core: BrokerCore) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.timer = setInterval(() => this.publishRound(), intervalSeconds * 1000);
    this.timer.unref?.();
    this.publishRound();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every value this round, by topic; exposed for tests and the broker node. */
  values(): Map<string, string> {
    const core = this.core;
    const stats = core.stats;
    const out = new Map<string, string>();
    const connected = core.clientsById.size;
    let disconnected = 0;
    for (const session of core.sessions.values()) if (session.outlet === null) disconnected++;
    const set = (topic: string, value: string | number): void => {
      out.set(`$SYS/broker/${topic}`, String(value));
    };
    set('version', VERSION);
    set('uptime', `${Math.floor((Date.now() - stats.startedAt) / 1000)} seconds`);
    set('clients/connected', connected);
    set('clients/active', connected);
    set('clients/disconnected', disconnected);
    set('clients/inactive', disconnected);
    set('clients/total', connected + disconnected);
    set('clients/maximum', stats.clientsMaximum);
    set('messages/received', stats.messagesReceived);
    set('messages/sent', stats.messagesSent);
    set('publish/messages/received', stats.publishReceived);
    set('publish/messages/sent', stats.publishSent);
    set('publish/messages/dropped', stats.publishDropped);
    set('bytes/received', stats.bytesReceived);
    set('bytes/sent', stats.bytesSent);
    set('subscriptions/count', core.router.subscriptionCount);
    set('retained messages/count', core.retainedCount);
    for (const kind of LIMIT_KINDS) set(`limits/${kind}`, core.limits.counts[kind]);
    for (const counter of this.counters) {
      for (const [i, window] of ['1min', '5min', '15min'].entries()) {
        set(`load/${counter.name}/${window}`, counter.loads[i].value.toFixed(2));
      }
    }
    return out;
  }

  /** Asks the store for the retained count (any store may be slow), then publishes. */
  publishRound(): void {
    this.core.store.countRetained().then(
      (count) => {
        this.core.retainedCount = count;
        if (this.timer !== undefined) this.publishValues();
      },
      (err: Error) => this.core.log.error(`store: count retained: ${err.message}`),
    );
  }

  private publishValues(): void {
    const now = Date.now();
    const elapsed = (now - this.lastRound) / 1000;
    this.lastRound = now;
    for (const counter of this.counters) {
      const value = counter.read(this.core);
      for (const load of counter.loads) load.update(value - counter.last, elapsed);
      counter.last = value;
    }
    for (const [topic, value] of this.values()) {
      if (this.lastPublished.get(topic) === value) continue;
      this.lastPublished.set(topic, value);
      this.core.publishMessage({ topic, payload: Buffer.from(value), qos: 0, retain: true }, undefined);
    }
  }
}
