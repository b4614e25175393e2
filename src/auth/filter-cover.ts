// Set algebra on topic filters, level by level, for ACL decisions on SUBSCRIBE:
//   matches(filter, topic)     does the filter match this topic name
//   covers(filter, rules)      is every topic the filter matches also matched by one of the rules
//   intersect(a, b)            the filter of the topics both match (filters are closed under
//                              intersection), or null when no topic matches both
// Filters are arrays of levels ('a/+/#' -> ['a', '+', '#']), validated beforehand.
//
// Topics whose first level starts with '$' are not matched by a filter starting with a wildcard
// [MQTT-4.7.2-1]; every function here keeps that rule, so a rule `#` never reaches `$SYS/...`.

export type Levels = readonly string[];

export function splitLevels(s: string): string[] {
  return s.split('/');
}

/** '#' alone and last [MQTT-4.7.1-2], '+' alone in its level [MQTT-4.7.1-3], not empty, no U+0000. */
export function isValidFilterLevels(levels: Levels): boolean {
  if (levels.length === 1 && levels[0] === '') return false;
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('\u0000')) return false;
    if (l === '#') {
      if (i !== levels.length - 1) return false;
    } else if (l !== '+' && (l.includes('+') || l.includes('#'))) {
      return false;
    }
  }
  return true;
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

/** A literal first level starting with '$' is out of reach of a wildcard first level. */
function dollarBlocked(a: string, b: string): boolean {
  return (isWildcard(a) && !isWildcard(b) && b.startsWith('$')) || (isWildcard(b) && !isWildcard(a) && a.startsWith('$'));
}

export function matches(filter: Levels, topic: Levels): boolean {
  if (topic.length > 0 && topic[0].startsWith('$') && filter.length > 0 && isWildcard(filter[0])) return false;
  let i = 0;
  for (; i < filter.length; i++) {
    const f = filter[i];
    if (f === '#') return true; // also matches the parent level: 'a/#' matches 'a'
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return i === topic.length;
}

interface Cursor {
  rule: Levels;
  at: number;
}

/** True when every topic `filter` matches is matched by at least one of `rules`. */
export function covers(filter: Levels, rules: readonly Levels[]): boolean {
  if (filter.length === 0) return false;
  const first = filter[0];
  const start: Cursor[] = [];
  for (const rule of rules) {
    if (rule.length > 0 && !dollarBlocked(first, rule[0])) start.push({ rule, at: 0 });
  }
  return coversFrom(filter, 0, start);
}

function coversFrom(filter: Levels, at: number, cursors: Cursor[]): boolean {
  // A rule at '#' matches whatever remains, including nothing.
  if (cursors.some((c) => c.rule[c.at] === '#')) return true;
  if (at === filter.length) return cursors.some((c) => c.at === c.rule.length);
  const level = filter[at];
  if (level === '#') return coversMultiLevel(at > 0, cursors);
  if (level === '+') {
    // The level may take a value no rule names literally; only '+' rules cover that value, and
    // any literal value only adds rules, so the '+' rules alone decide.
    return coversFrom(filter, at + 1, advance(cursors, (r) => r === '+'));
  }
  return coversFrom(filter, at + 1, advance(cursors, (r) => r === '+' || r === level));
}

/**
 * The filter's '#' stands for: nothing more (when some level came before it: a topic has at least one),
 * or one level of any value followed by '#' again. Each round consumes a level of every remaining
 * rule, so the recursion ends.
 */
function coversMultiLevel(afterPrefix: boolean, cursors: Cursor[]): boolean {
  if (cursors.some((c) => c.rule[c.at] === '#')) return true;
  if (afterPrefix && !cursors.some((c) => c.at === c.rule.length)) return false;
  const next = advance(cursors, (r) => r === '+');
  return next.length > 0 && coversMultiLevel(true, next);
}

function advance(cursors: Cursor[], accept: (ruleLevel: string) => boolean): Cursor[] {
  const out: Cursor[] = [];
  for (const c of cursors) {
    if (c.at < c.rule.length && accept(c.rule[c.at])) out.push({ rule: c.rule, at: c.at + 1 });
  }
  return out;
}

/** The filter matching exactly the topics both filters match; null when there is none. */
export function intersect(a: Levels, b: Levels): string[] | null {
  if (a.length === 0 || b.length === 0 || dollarBlocked(a[0], b[0])) return null;
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#') return out.concat(b.slice(i));
    if (y === '#') return out.concat(a.slice(i));
    if (x === undefined || y === undefined) return x === y ? out : null;
    if (x === '+') out.push(y);
    else if (y === '+' || x === y) out.push(x);
    else return null;
  }
}

export function intersects(a: Levels, b: Levels): boolean {
  return intersect(a, b) !== null;
}
