// Topic mapping of a bridge, as Mosquitto's `topic PATTERN [in|out|both [QOS [LOCAL REMOTE]]]`:
// a subscription is made on the side a message comes from (prefix + pattern), and a forwarded
// topic loses that side's prefix and gains the other side's.
import type { QoS } from '../codec/types';
import { topicMatchesFilter, validateTopicFilter, validateTopicName } from '../topics';

export type BridgeDirection = 'in' | 'out' | 'both';

/** One `topic` line of a bridge. */
export interface BridgeTopic {
  /** Topic filter; '' (Mosquitto's `""`) maps the single topic `localPrefix` to `remotePrefix`. */
  pattern: string;
  /** Default 'out', as in Mosquitto. */
  direction?: BridgeDirection;
  /** Subscription QoS on the side the messages come from, hence the highest QoS forwarded. Default 0. */
  qos?: QoS;
  localPrefix?: string;
  remotePrefix?: string;
}

/** A topic line with its full filters on each side. */
export interface TopicMapping {
  direction: BridgeDirection;
  qos: QoS;
  localPrefix: string;
  remotePrefix: string;
  /** localPrefix + pattern: what the bridge subscribes to locally (out, both). */
  localFilter: string;
  /** remotePrefix + pattern: what the bridge subscribes to remotely (in, both). */
  remoteFilter: string;
}

/** Mosquitto's `""` place marker, accepted as an empty string too. */
function unquote(s: string | undefined): string {
  return s === undefined || s === '""' ? '' : s;
}

/** Validates one topic line the way Mosquitto does (bridge__add_topic); throws TypeError. */
export function compileTopic(topic: BridgeTopic): TopicMapping {
  const pattern = unquote(topic.pattern);
  const localPrefix = unquote(topic.localPrefix);
  const remotePrefix = unquote(topic.remotePrefix);
  const direction = topic.direction ?? 'out';
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') {
    throw new TypeError(`bridge topic "${pattern}": direction must be in, out or both, not "${String(direction)}"`);
  }
  const qos = topic.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`bridge topic "${pattern}": qos ${String(qos)} is not 0, 1 or 2`);
  // A prefix is part of a topic name: no wildcards in it.
  for (const [side, prefix] of [['local', localPrefix], ['remote', remotePrefix]] as const) {
    if (prefix !== '' && !validateTopicName(prefix)) throw new TypeError(`bridge topic "${pattern}": invalid ${side} prefix "${prefix}"`);
  }
  // The empty pattern names one topic on each side, so both prefixes are needed.
  if (pattern === '' && (localPrefix === '' || remotePrefix === '')) {
    throw new TypeError('bridge topic "": an empty pattern needs both a local and a remote prefix');
  }
  const localFilter = localPrefix + pattern;
  const remoteFilter = remotePrefix + pattern;
  for (const [side, filter] of [['local', localFilter], ['remote', remoteFilter]] as const) {
    if (!validateTopicFilter(filter)) throw new TypeError(`bridge topic "${pattern}": invalid ${side} prefix and pattern combination "${filter}"`);
  }
  return { direction, qos, localPrefix, remotePrefix, localFilter, remoteFilter };
}

/** Swaps one side's prefix for the other's when the topic starts with it (Mosquitto strips only then). */
function remap(topic: string, from: string, to: string): string {
  const rest = from !== '' && topic.startsWith(from) ? topic.slice(from.length) : topic;
  return to + rest;
}

/**
 * The remote topic of a local message, from the first out/both line whose local filter matches,
 * or undefined when no line sends it out.
 */
export function outgoingTopic(mappings: readonly TopicMapping[], localTopic: string): { topic: string; mapping: TopicMapping } | undefined {
  for (const m of mappings) {
    if (m.direction === 'in' || !topicMatchesFilter(m.localFilter, localTopic)) continue;
    return { topic: remap(localTopic, m.localPrefix, m.remotePrefix), mapping: m };
  }
  return undefined;
}

/** The local topic of a remote message, from the first in/both line whose remote filter matches. */
export function incomingTopic(mappings: readonly TopicMapping[], remoteTopic: string): { topic: string; mapping: TopicMapping } | undefined {
  for (const m of mappings) {
    if (m.direction === 'out' || !topicMatchesFilter(m.remoteFilter, remoteTopic)) continue;
    return { topic: remap(remoteTopic, m.remotePrefix, m.localPrefix), mapping: m };
  }
  return undefined;
}
