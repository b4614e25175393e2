// What the editor's mqtt-hub sidebar shows of one broker node: clients, subscriptions, topics with
// their last payload, message rates. Costs nothing per message while nobody looks: the sidebar asks
// (GET) every few seconds while open, and only for WATCH_MS after such a request does the monitor
// listen to published messages and push a snapshot over Node-RED's comms once a second.
import type { BrokerMessage } from '../../src/broker';
import {
  brokerCounters,
  brokerRetained,
  brokerSubscriptions,
  type ClientInfo,
  type EngineBroker,
} from './engine';
import type { Node, NodeAPI } from './node-red-types';

/** How long one request from the sidebar keeps the live view running. */
export const WATCH_MS = 30_000;
/** Snapshots pushed over comms at most this often. */
const PUSH_INTERVAL_MS = 1000;
/** Rate samples kept: one a second, five minutes. */
const RATE_SAMPLES = 300;
const RECENT_TOPICS = 500;
const RETAINED_SHOWN = 500;
const GONE_KEPT = 20;
const PREVIEW_BYTES = 256;

export interface PayloadPreview {
  kind: 'text' | 'json' | 'hex' | 'empty';
  text: string;
  size: number;
}

export interface TopicView {
  topic: string;
  retained: boolean;
  /** Epoch ms the broker last routed a message on it (while watched), if it did. */
  seenAt?: number;
  qos: number;
  payload: PayloadPreview;
}

export interface GoneClient {
  id: string;
  address: string;
  reason: string;
  connectedSince: number;
  at: number;
}

export interface RateSample {
  at: number;
  /** PUBLISH packets per second received from clients, and sent to them. */
  in: number;
  out: number;
}

export interface BrokerSnapshot {
  id: string;
  name: string;
  running: boolean;
  addresses: Array<{ address: string; port: number; protocol: string }>;
  clients: ClientInfo[];
  gone: GoneClient[];
  subscriptions: Array<{ topicFilter: string; clients: Array<{ id: string; qos: number; connected: boolean }> }>;
  topics: TopicView[];
  rates: RateSample[];
  totals: { publishIn: number; publishOut: number; bytesIn: number; bytesOut: number; dropped: number };
  at: number;
}

/** A short preview of a payload: JSON or text when it reads as one, hex otherwise. */
export function previewPayload(payload: Buffer): PayloadPreview {
  const size = payload.length;
  if (size === 0) return { kind: 'empty', text: '', size };
  const head = payload.subarray(0, PREVIEW_BYTES);
  let text = head.toString('utf8');
  // The cut may split a multi-byte character: that is not a sign of binary data.
  if (size > PREVIEW_BYTES) text = text.replace(/\uFFFD{1,3}$/, '');
  // A lone replacement character marks bytes that are not UTF-8; control characters mark binary.
  const readable = !text.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  if (readable) {
    if (size <= PREVIEW_BYTES) {
      try {
        return { kind: 'json', text: JSON.stringify(JSON.parse(text)), size };
      } catch {
        // not JSON: plain text
      }
    }
    return { kind: 'text', text, size };
  }
  return { kind: 'hex', text: head.subarray(0, 64).toString('hex').replace(/(..)/g, '$1 ').trim(), size };
}

export class BrokerMonitor {
  private broker: EngineBroker | null = null;
  private readonly gone: GoneClient[] = [];
  private readonly recent = new Map<string, { at: number; qos: number; retain: boolean; payload: PayloadPreview }>();
  private rates: RateSample[] = [];
  private watchedUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private last: { at: number; publishIn: number; publishOut: number } | null = null;
  private readonly onDisconnected = (client: ClientInfo, reason: string): void => {
    this.gone.unshift({ id: client.id, address: client.address, reason, connectedSince: client.connectedSince, at: Date.now() });
    if (this.gone.length > GONE_KEPT) this.gone.length = GONE_KEPT;
  };
  private readonly onPublished = (message: BrokerMessage): void => {
    // Re-inserted so the Map's order is least recently seen first, for the cap below.
    this.recent.delete(message.topic);
    this.recent.set(message.topic, { at: Date.now(), qos: message.qos, retain: message.retain, payload: previewPayload(message.payload) });
    if (this.recent.size > RECENT_TOPICS) this.recent.delete(this.recent.keys().next().value as string);
  };

  /** How long one request keeps the live view running (WATCH_MS unless a test shortens it). */
  private readonly watchMs: number;

  constructor(
    private readonly RED: Pick<NodeAPI, 'comms'>,
    private readonly node: Pick<Node, 'id' | 'name' | 'debug'>,
    options: { watchMs?: number } = {},
  ) {
    this.watchMs = options.watchMs ?? WATCH_MS;
  }

  get id(): string {
    return this.node.id;
  }

  get name(): string {
    return this.node.name || '';
  }

  get running(): boolean {
    return this.broker !== null;
  }

  get engine(): EngineBroker | null {
    return this.broker;
  }

  get watching(): boolean {
    return this.timer !== null;
  }

  /** The broker started: clients leaving are remembered from now on (one entry per disconnect). */
  attach(broker: EngineBroker): void {
    this.broker = broker;
    broker.on('clientDisconnected', this.onDisconnected);
    if (Date.now() < this.watchedUntil) this.startWatching();
  }

  detach(): void {
    this.stopWatching();
    this.broker?.off('clientDisconnected', this.onDisconnected);
    this.broker = null;
  }

  /** A viewer asked: keep the live view (message listener, rates, pushes) for WATCH_MS more. */
  watch(): void {
    this.watchedUntil = Date.now() + this.watchMs;
    if (this.broker && !this.timer) this.startWatching();
  }

  /** Forgets what it remembers of a topic (after the retained message was cleared). */
  forgetTopic(topic: string): void {
    this.recent.delete(topic);
  }

  async snapshot(): Promise<BrokerSnapshot> {
    const broker = this.broker;
    const base: BrokerSnapshot = {
      id: this.id,
      name: this.name,
      running: broker !== null,
      addresses: [],
      clients: [],
      gone: [...this.gone],
      subscriptions: [],
      topics: [],
      rates: [...this.rates],
      totals: { publishIn: 0, publishOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0 },
      at: Date.now(),
    };
    if (!broker) return base;
    base.addresses = broker.addresses().map((a) => ({ address: a.address, port: a.port, protocol: a.protocol }));
    base.clients = broker.clients();
    base.totals = brokerCounters(broker);
    const byFilter = new Map<string, Array<{ id: string; qos: number; connected: boolean }>>();
    for (const s of brokerSubscriptions(broker)) {
      const list = byFilter.get(s.topicFilter) ?? [];
      list.push({ id: s.clientId, qos: s.qos, connected: s.connected });
      byFilter.set(s.topicFilter, list);
    }
    base.subscriptions = [...byFilter.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([topicFilter, clients]) => ({ topicFilter, clients }));
    const topics = new Map<string, TopicView>();
    for (const m of (await brokerRetained(broker, '#')).slice(0, RETAINED_SHOWN)) {
      topics.set(m.topic, { topic: m.topic, retained: true, qos: m.qos, payload: previewPayload(m.payload) });
    }
    for (const [topic, seen] of this.recent) {
      const retained = topics.get(topic);
      // A retained topic shows the stored message; when that is the one last seen, both agree.
      if (retained) retained.seenAt = seen.at;
      else topics.set(topic, { topic, retained: false, seenAt: seen.at, qos: seen.qos, payload: seen.payload });
    }
    base.topics = [...topics.values()].sort((a, b) => a.topic.localeCompare(b.topic));
    return base;
  }

  private startWatching(): void {
    const broker = this.broker;
    if (!broker) return;
    broker.on('published', this.onPublished);
    this.rates = [];
    this.last = null;
    this.sample();
    this.timer = setInterval(() => this.tick(), PUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.broker?.off('published', this.onPublished);
    this.recent.clear();
  }

  private tick(): void {
    if (!this.broker || Date.now() > this.watchedUntil) {
      this.stopWatching();
      return;
    }
    this.sample();
    this.snapshot().then(
      (snapshot) => this.RED.comms.publish(`mqtt-hub/${this.id}`, snapshot, false),
      (err: Error) => this.node.debug(err.message),
    );
  }

  /** One rate sample from the broker's counters: no work per message. */
  private sample(): void {
    if (!this.broker) return;
    const now = Date.now();
    const c = brokerCounters(this.broker);
    if (this.last) {
      const seconds = Math.max(0.001, (now - this.last.at) / 1000);
      this.rates.push({ at: now, in: (c.publishIn - this.last.publishIn) / seconds, out: (c.publishOut - this.last.publishOut) / seconds });
      if (this.rates.length > RATE_SAMPLES) this.rates.shift();
    }
    this.last = { at: now, publishIn: c.publishIn, publishOut: c.publishOut };
  }
}
