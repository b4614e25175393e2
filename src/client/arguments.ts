// Turning the caller's arguments into packets, with the checks the specification asks of a client
// before anything is sent.
import type { Properties, ProtocolVersion, QoS, Subscription, UserProperty } from '../codec/types';
import { MqttError } from './errors';

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** Normally left to the client, which sets DUP on redelivery itself [MQTT-3.3.1-1]. */
  dup?: boolean;
  /** 5.0 PUBLISH properties (messageExpiryInterval, contentType, responseTopic, userProperties, topicAlias...). */
  properties?: Properties;
}

/** Subscription options for one filter; short names as in MQTT.js. */
export interface SubscribeFilterOptions {
  qos?: QoS;
  /** No Local (5.0). */
  nl?: boolean;
  /** Retain As Published (5.0). */
  rap?: boolean;
  /** Retain Handling (5.0): 0 send retained, 1 only for new subscriptions, 2 never. */
  rh?: 0 | 1 | 2;
}

export interface SubscribeOptions extends SubscribeFilterOptions {
  /** 5.0 Subscription Identifier, 1..268435455. */
  subscriptionIdentifier?: number;
  userProperties?: UserProperty[];
  properties?: Properties;
}

export interface UnsubscribeOptions {
  userProperties?: UserProperty[];
  properties?: Properties;
}

export type SubscriptionRequest = Partial<Subscription> & { topicFilter?: string; topic?: string };

export type SubscribeFilters =
  | string
  | string[]
  | Record<string, QoS | SubscribeFilterOptions>
  | SubscriptionRequest[];

function invalid(message: string, reasonCode?: number): MqttError {
  return new MqttError('INVALID_ARGUMENT', message, reasonCode);
}

function checkUtf8String(what: string, s: string): void {
  // [MQTT-1.5.4-2]: no null character; length fits the two-byte prefix [MQTT-1.5.4-1].
  if (s.includes('\u0000')) throw invalid(`${what} '${s}' contains U+0000`);
  // At most three UTF-8 bytes per UTF-16 unit: only long strings need counting.
  if (s.length > 21845 && Buffer.byteLength(s) > 65535) throw invalid(`${what} is longer than 65535 bytes`);
}

/** A topic name for PUBLISH: no wildcards [MQTT-3.3.2-2]; empty only with a topic alias (5.0). */
export function checkTopicName(topic: unknown, allowEmpty: boolean): asserts topic is string {
  if (typeof topic !== 'string') throw invalid('topic must be a string', 0x90);
  if (topic === '' && !allowEmpty) throw invalid('topic must not be empty [MQTT-4.7.3-1]', 0x90);
  if (topic.includes('+') || topic.includes('#')) throw invalid(`topic '${topic}' contains a wildcard [MQTT-3.3.2-2]`, 0x90);
  checkUtf8String('topic', topic);
}

/** A topic filter: '#' last and alone in its level [MQTT-4.7.1-1], '+' alone in its level [MQTT-4.7.1-2]. */
export function checkTopicFilter(filter: unknown): asserts filter is string {
  if (typeof filter !== 'string' || filter === '') throw invalid('topic filter must be a non-empty string [MQTT-4.7.3-1]', 0x8f);
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw invalid(`topic filter '${filter}': '#' must be a whole level and the last [MQTT-4.7.1-1]`, 0x8f);
    }
    if (level.includes('+') && level !== '+') throw invalid(`topic filter '${filter}': '+' must be a whole level [MQTT-4.7.1-2]`, 0x8f);
  });
  checkUtf8String('topic filter', filter);
}

export function checkQos(qos: unknown): asserts qos is QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid(`QoS must be 0, 1 or 2, got ${String(qos)}`);
}

export function toPayload(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  throw invalid('payload must be a string, Buffer or Uint8Array');
}

function subscriptionFrom(topicFilter: string, o: SubscribeFilterOptions, defaults: SubscribeFilterOptions): Subscription {
  const qos = o.qos ?? defaults.qos ?? 0;
  checkTopicFilter(topicFilter);
  checkQos(qos);
  const s: Subscription = { topicFilter, qos };
  const nl = o.nl ?? defaults.nl;
  const rap = o.rap ?? defaults.rap;
  const rh = o.rh ?? defaults.rh;
  if (nl !== undefined) s.noLocal = nl;
  if (rap !== undefined) s.retainAsPublished = rap;
  if (rh !== undefined) {
    if (rh !== 0 && rh !== 1 && rh !== 2) throw invalid(`retain handling must be 0, 1 or 2, got ${String(rh)}`);
    s.retainHandling = rh;
  }
  return s;
}

export function toSubscriptions(filters: SubscribeFilters, opts: SubscribeOptions): Subscription[] {
  let subs: Subscription[];
  if (typeof filters === 'string') subs = [subscriptionFrom(filters, {}, opts)];
  else if (Array.isArray(filters)) {
    subs = (filters as (string | SubscriptionRequest)[]).map((f) => {
      if (typeof f === 'string') return subscriptionFrom(f, {}, opts);
      const topicFilter = f.topicFilter ?? f.topic;
      return subscriptionFrom(topicFilter as string, { qos: f.qos, nl: f.noLocal, rap: f.retainAsPublished, rh: f.retainHandling }, opts);
    });
  } else if (filters !== null && typeof filters === 'object') {
    subs = Object.entries(filters).map(([topicFilter, o]) =>
      subscriptionFrom(topicFilter, typeof o === 'number' ? { qos: o } : o, opts),
    );
  } else {
    throw invalid('filters must be a string, an array or an object');
  }
  // [MQTT-3.8.3-3]: at least one filter.
  if (subs.length === 0) throw invalid('subscribe needs at least one topic filter [MQTT-3.8.3-3]');
  return subs;
}

export function subscribeProperties(opts: SubscribeOptions, protocolVersion: ProtocolVersion): Properties | undefined {
  if (protocolVersion < 5) return undefined;
  const p: Properties = { ...opts.properties };
  if (opts.subscriptionIdentifier !== undefined) {
    const id = opts.subscriptionIdentifier;
    if (!Number.isInteger(id) || id < 1 || id > 268435455) throw invalid(`subscription identifier must be 1..268435455, got ${id}`);
    p.subscriptionIdentifiers = [id];
  }
  if (opts.userProperties) p.userProperties = opts.userProperties;
  return Object.keys(p).length > 0 ? p : undefined;
}

export function toTopicFilters(filters: string | string[]): string[] {
  const list = typeof filters === 'string' ? [filters] : filters;
  if (!Array.isArray(list) || list.length === 0) throw invalid('unsubscribe needs at least one topic filter [MQTT-3.10.3-2]');
  for (const f of list) checkTopicFilter(f);
  return list;
}
