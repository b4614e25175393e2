// The well-behaved bystander of every abuse scenario: an MQTT.js publisher sends numbered QoS 1
// messages at a steady pace while the attack runs, and an MQTT.js subscriber must receive every one
// of them, during the attack as well as after it.
import mqtt, { type MqttClient } from 'mqtt';

export interface WatchdogReport {
  sent: number;
  /** Publishes the broker acknowledged (PUBACK). */
  acknowledged: number;
  received: number;
  /** Sequence numbers published (acknowledged) and never received. */
  missing: number[];
  /** Messages received while the attack was on (between `attackStarted` and `attackEnded`). */
  receivedDuringAttack: number;
}

const PUBLISH_INTERVAL_MS = 25;

async function connected(client: MqttClient): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
}

export class Watchdog {
  private readonly seen = new Set<number>();
  private sent = 0;
  private acknowledged: number[] = [];
  private duringAttack = 0;
  private attackOn = false;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<unknown>[] = [];

  private constructor(
    private readonly publisher: MqttClient,
    private readonly subscriber: MqttClient,
    private readonly topic: string,
  ) {}

  static async start(port: number, tag = 'watchdog'): Promise<Watchdog> {
    const id = `${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const options = { protocolVersion: 5 as const, reconnectPeriod: 0, connectTimeout: 15_000, keepalive: 0 };
    const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, { ...options, clientId: `${id}-sub` });
    const publisher = mqtt.connect(`mqtt://127.0.0.1:${port}`, { ...options, clientId: `${id}-pub` });
    subscriber.on('error', () => undefined);
    publisher.on('error', () => undefined);
    await Promise.all([connected(subscriber), connected(publisher)]);
    const topic = `reliability/${id}`;
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const w = new Watchdog(publisher, subscriber, topic);
    subscriber.on('message', (_topic, payload) => {
      w.seen.add(Number(payload.toString()));
      if (w.attackOn) w.duringAttack++;
    });
    w.timer = setInterval(() => w.publishOne(), PUBLISH_INTERVAL_MS);
    return w;
  }

  private publishOne(): void {
    const seq = this.sent++;
    this.publishing.push(
      this.publisher.publishAsync(this.topic, String(seq), { qos: 1 }).then(
        () => this.acknowledged.push(seq),
        () => undefined,
      ),
    );
    if (this.publishing.length > 256) this.publishing = this.publishing.slice(-64);
  }

  attackStarted(): void {
    this.attackOn = true;
  }

  attackEnded(): void {
    this.attackOn = false;
  }

  get connected(): boolean {
    return this.publisher.connected && this.subscriber.connected;
  }

  /**
   * Stops publishing, waits (up to `settleMs`) for every acknowledged message to arrive, closes
   * both clients and reports.
   */
  async stop(settleMs = 15_000): Promise<WatchdogReport> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.publishing), new Promise((r) => (timer = setTimeout(r, settleMs)))]);
    clearTimeout(timer);
    const deadline = Date.now() + settleMs;
    while (this.acknowledged.some((s) => !this.seen.has(s)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const report: WatchdogReport = {
      sent: this.sent,
      acknowledged: this.acknowledged.length,
      received: this.seen.size,
      missing: this.acknowledged.filter((s) => !this.seen.has(s)),
      receivedDuringAttack: this.duringAttack,
    };
    await Promise.all([this.publisher.endAsync(true), this.subscriber.endAsync(true)]).catch(() => undefined);
    return report;
  }
}
