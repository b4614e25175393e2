// Topic checks the nodes need before a message reaches the engine: the editor form and the runtime
// reject a bad filter with a clear message instead of a SUBACK failure code later.

/** A topic name to publish to: not empty, no wildcards [MQTT-3.3.2-2], no NUL [MQTT-1.5.4-2]. */
export function isValidTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && !/[+#\u0000]/.test(topic) && Buffer.byteLength(topic) <= 65535;
}

/** Splits `$share/{ShareName}/{filter}` [MQTT-4.8.2-1]; null when `filter` is not a shared subscription. */
export function parseSharedFilter(filter: string): { group: string; filter: string } | null {
  if (!filter.startsWith('$share/')) return null;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return { group: '', filter: '' };
  return { group: rest.slice(0, slash), filter: rest.slice(slash + 1) };
}

/**
 * A topic filter to subscribe to: `#` only last and alone in its level [MQTT-4.7.1-1], `+` alone in its
 * level [MQTT-4.7.1-2], a share name without `/`, `+`, `#` [MQTT-4.8.2-2] and a filter after it.
 */
export function isValidTopicFilter(filter: unknown): filter is string {
  if (typeof filter !== 'string' || filter.length === 0 || filter.includes('\u0000')) return false;
  if (Buffer.byteLength(filter) > 65535) return false;
  const shared = parseSharedFilter(filter);
  if (shared) {
    if (!shared.group || /[+#]/.test(shared.group) || !shared.filter) return false;
    return isValidTopicFilter(shared.filter) && !shared.filter.startsWith('$share/');
  }
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/**
 * Whether `topic` matches `filter` (shared prefix removed). Filters that start with a wildcard do not
 * match topics that start with `$` [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  const shared = parseSharedFilter(filter);
  const f = shared ? shared.filter : filter;
  if (topic.startsWith('$') && (f.startsWith('+') || f.startsWith('#'))) return false;
  const fl = f.split('/');
  const tl = topic.split('/');
  for (let i = 0; i < fl.length; i++) {
    if (fl[i] === '#') return true;
    if (i >= tl.length) return false;
    if (fl[i] !== '+' && fl[i] !== tl[i]) return false;
  }
  return fl.length === tl.length;
}
