// Topic names and topic filters (MQTT 3.1.1 section 4.7, MQTT 5.0 section 4.7 and 4.8.2).

const SHARE_PREFIX = '$share/';

/**
 * A UTF-8 Encoded String holds at most 65,535 bytes (MQTT 5.0 section 1.5.4, 3.1.1 section 1.5.3). A
 * UTF-16 code unit takes at most 3 bytes, so only strings over 21,845 units need counting.
 */
function tooLong(s: string): boolean {
  return s.length > 21845 && Buffer.byteLength(s) > 65535;
}

/**
 * A topic name a PUBLISH may carry: not empty, no wildcards, no U+0000 [MQTT-4.7.3-1], [MQTT-4.7.3-2],
 * at most 65,535 bytes.
 */
export function validateTopicName(topic: string): boolean {
  if (topic.length === 0 || tooLong(topic)) return false; // [MQTT-4.7.3-1]
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // '+' 0x2B, '#' 0x23: wildcards are only for filters [MQTT-3.3.2-2]; U+0000 [MQTT-4.7.3-2]
    if (c === 0x2b || c === 0x23 || c === 0) return false;
  }
  return true;
}

/**
 * A topic filter a SUBSCRIBE may carry: '#' alone and last [MQTT-4.7.1-2], '+' alone in its level
 * [MQTT-4.7.1-3], not empty [MQTT-4.7.3-1], at most 65,535 bytes; a shared subscription needs a share
 * name without wildcards or '/' and a valid filter after it [MQTT-4.8.2-1], [MQTT-4.8.2-2].
 */
export function validateTopicFilter(filter: string): boolean {
  if (tooLong(filter)) return false;
  if (filter.startsWith(SHARE_PREFIX)) {
    const shared = parseSharedSubscription(filter);
    if (shared === null) return false;
    return validatePlainFilter(shared.topicFilter);
  }
  return validatePlainFilter(filter);
}

function validatePlainFilter(filter: string): boolean {
  const n = filter.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0) return false;
    if (c === 0x2b /* + */) {
      if ((i > 0 && filter.charCodeAt(i - 1) !== 0x2f) || (i < n - 1 && filter.charCodeAt(i + 1) !== 0x2f)) return false;
    } else if (c === 0x23 /* # */) {
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== 0x2f)) return false;
    }
  }
  return true;
}

export interface SharedSubscription {
  shareName: string;
  topicFilter: string;
}

/**
 * Splits `$share/{ShareName}/{filter}`; null when the filter is not a shared subscription or when the
 * share name is empty or holds a wildcard [MQTT-4.8.2-1], [MQTT-4.8.2-2].
 */
export function parseSharedSubscription(filter: string): SharedSubscription | null {
  if (!filter.startsWith(SHARE_PREFIX)) return null;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash < 0) return null;
  const shareName = filter.slice(SHARE_PREFIX.length, slash);
  if (shareName.length === 0 || shareName.includes('+') || shareName.includes('#')) return null;
  const topicFilter = filter.slice(slash + 1);
  if (topicFilter.length === 0) return null;
  return { shareName, topicFilter };
}

/** True when `filter` starts with '$share/', whether or not the rest is valid. */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/** Whether `topic` matches `filter` (no shared prefix), with the '$' rule [MQTT-4.7.2-1]. */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const fn = filter.length;
  const tn = topic.length;
  if (tn > 0 && topic.charCodeAt(0) === 0x24 /* $ */ && fn > 0) {
    const f0 = filter.charCodeAt(0);
    if (f0 === 0x2b || f0 === 0x23) return false; // [MQTT-4.7.2-1]
  }
  let fi = 0;
  let ti = 0;
  while (fi < fn) {
    const fc = filter.charCodeAt(fi);
    if (fc === 0x23 /* # */) return true; // also matches the parent level [MQTT-4.7.1-2]
    if (fc === 0x2b /* + */) {
      if (ti > tn) return false;
      while (ti < tn && topic.charCodeAt(ti) !== 0x2f) ti++;
      fi++;
    } else {
      // a literal level: compare up to the next '/'
      while (fi < fn && filter.charCodeAt(fi) !== 0x2f) {
        if (ti >= tn || topic.charCodeAt(ti) !== filter.charCodeAt(fi)) return false;
        fi++;
        ti++;
      }
      if (ti < tn && topic.charCodeAt(ti) !== 0x2f) return false;
    }
    // both at a level end now
    if (fi === fn) return ti === tn;
    // filter has '/' at fi
    if (ti === tn) {
      // "a/#" matches "a": the rest of the filter must be exactly "/#"
      return fi + 2 === fn && filter.charCodeAt(fi + 1) === 0x23;
    }
    fi++;
    ti++;
    // the filter ends with '/': its last level is empty and matches only an empty last level of the
    // topic ("a/+/" matches "a/b/") [MQTT-4.7.1-3]
    if (fi === fn) return ti === tn;
  }
  return ti === tn && fn === 0;
}
