// Which retained messages a new subscription gets: one rule for every store that keeps its retained
// messages in a Map by topic (the memory store, the disk store's state), so the two cannot disagree.
import { topicMatchesFilter } from '../../topics';
import type { BrokerMessage } from '../message';

/**
 * The retained messages whose topic matches `topicFilter` (no '$share/' prefix), in the Map's order.
 * Empty levels are levels like any other: '+' matches one, so `a/+/` finds `a/b/` [MQTT-4.7.1-3], and
 * '#' and '+' in the first level skip topics beginning with '$' [MQTT-4.7.2-1].
 */
export function matchRetainedTopics(retained: ReadonlyMap<string, BrokerMessage>, topicFilter: string): BrokerMessage[] {
  const out: BrokerMessage[] = [];
  if (!topicFilter.includes('+') && !topicFilter.includes('#')) {
    const one = retained.get(topicFilter);
    if (one !== undefined) out.push(one);
    return out;
  }
  if (topicFilter === '#') {
    for (const message of retained.values()) if (message.topic.charCodeAt(0) !== 0x24 /* $ */) out.push(message);
    return out;
  }
  for (const [topic, message] of retained) if (topicMatchesFilter(topicFilter, topic)) out.push(message);
  return out;
}
