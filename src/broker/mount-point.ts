// A listener's mount point (Mosquitto's mount_point): its clients' topics and filters get the prefix
// on the way in and lose it on the way out, so they see only the topics below it.
import { parseSharedSubscription, validateTopicFilter } from '../topics';
import type { BrokerMessage } from './message';

/** The topic a mounted client's PUBLISH (or Will) is routed on. */
export function mountTopic(mountPoint: string, topic: string): string {
  return mountPoint + topic;
}

/** A mounted client's filter as the broker holds it; a shared one keeps its `$share/{name}/` in front. */
export function mountFilter(mountPoint: string, filter: string): string {
  const shared = parseSharedSubscription(filter);
  if (shared === null) return mountPoint + filter;
  return `$share/${shared.shareName}/${mountPoint}${shared.topicFilter}`;
}

/**
 * The message as a mounted client receives it: its topic without the mount point, or undefined when
 * the topic does not reach below the mount point (nothing is left to send, as Mosquitto drops it).
 */
export function unmountMessage(mountPoint: string, message: BrokerMessage): BrokerMessage | undefined {
  const topic = message.topic;
  if (topic.length <= mountPoint.length || !topic.startsWith(mountPoint)) return undefined;
  // a fresh object: the routed one carries the encodings and retained packet of the mounted topic
  return {
    topic: topic.slice(mountPoint.length),
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    properties: message.properties,
    expiresAt: message.expiresAt,
    origin: message.origin,
  };
}

/** A mounted client's SUBSCRIBE with its valid filters mounted (an invalid one stays as it is, and is refused). */
export function mountSubscribe<P extends { subscriptions: Array<{ topicFilter: string }> }>(mountPoint: string, p: P): P {
  return { ...p, subscriptions: p.subscriptions.map((s) => (validateTopicFilter(s.topicFilter) ? { ...s, topicFilter: mountFilter(mountPoint, s.topicFilter) } : s)) };
}

/** A mounted client's UNSUBSCRIBE with its valid filters mounted. */
export function mountUnsubscribe<P extends { topicFilters: string[] }>(mountPoint: string, p: P): P {
  return { ...p, topicFilters: p.topicFilters.map((f) => (validateTopicFilter(f) ? mountFilter(mountPoint, f) : f)) };
}
