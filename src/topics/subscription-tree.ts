// The subscription tree: one node per topic level, '+' and '#' children kept apart from literal
// children so that matching a topic walks only the branches that can match.
import { parseSharedSubscription } from './validate';

/** The subscribers of one shared subscription `$share/{shareName}/{topicFilter}`, served in turn. */
export class SharedGroup<T> {
  readonly keys: string[] = [];
  readonly members: T[] = [];
  private cursor = 0;

  constructor(
    readonly shareName: string,
    readonly topicFilter: string,
  ) {}

  get size(): number {
    return this.members.length;
  }

  /**
   * The next member in round-robin order; members for which `eligible` answers false (offline ones)
   * are skipped while another member is eligible. Undefined only for an empty group.
   */
  pick(eligible?: (member: T) => boolean): T | undefined {
    const n = this.members.length;
    if (n === 0) return undefined;
    if (this.cursor >= n) this.cursor = 0;
    if (eligible !== undefined) {
      for (let i = 0; i < n; i++) {
        const at = (this.cursor + i) % n;
        if (eligible(this.members[at])) {
          this.cursor = (at + 1) % n;
          return this.members[at];
        }
      }
    }
    const at = this.cursor;
    this.cursor = (at + 1) % n;
    return this.members[at];
  }

  set(key: string, value: T): boolean {
    const i = this.keys.indexOf(key);
    if (i >= 0) {
      this.members[i] = value;
      return false;
    }
    this.keys.push(key);
    this.members.push(value);
    return true;
  }

  delete(key: string): boolean {
    const i = this.keys.indexOf(key);
    if (i < 0) return false;
    this.keys.splice(i, 1);
    this.members.splice(i, 1);
    if (this.cursor > i) this.cursor--;
    return true;
  }
}

/** Receives what a topic matches; one object reused for every match, so nothing is allocated. */
export interface MatchVisitor<T> {
  /** One ordinary subscription (a client may appear more than once for overlapping filters). */
  subscriber(value: T): void;
  /** One shared subscription group; the visitor picks the member. */
  shared(group: SharedGroup<T>): void;
}

/** Values by key in a plain array, so visiting them needs no iterator object. */
class SubscriberList<T> {
  readonly values: T[] = [];
  private readonly keys: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.values.length;
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.values[i];
  }

  /** True when the key is new. */
  set(key: string, value: T): boolean {
    const i = this.index.get(key);
    if (i !== undefined) {
      this.values[i] = value;
      return false;
    }
    this.index.set(key, this.values.length);
    this.keys.push(key);
    this.values.push(value);
    return true;
  }

  delete(key: string): boolean {
    const i = this.index.get(key);
    if (i === undefined) return false;
    const last = this.values.length - 1;
    if (i !== last) {
      // move the last entry into the hole: order among subscribers carries no meaning
      this.values[i] = this.values[last];
      this.keys[i] = this.keys[last];
      this.index.set(this.keys[i], i);
    }
    this.values.pop();
    this.keys.pop();
    this.index.delete(key);
    return true;
  }
}

class TreeNode<T> {
  children: Map<string, TreeNode<T>> | null = null;
  plus: TreeNode<T> | null = null;
  hash: TreeNode<T> | null = null;
  subscribers: SubscriberList<T> | null = null;
  /** Shared groups of this filter, in an array for allocation-free visiting. */
  shared: SharedGroup<T>[] | null = null;

  isEmpty(): boolean {
    return (
      (this.children === null || this.children.size === 0) &&
      this.plus === null &&
      this.hash === null &&
      (this.subscribers === null || this.subscribers.size === 0) &&
      (this.shared === null || this.shared.length === 0)
    );
  }

  sharedGroup(shareName: string): SharedGroup<T> | undefined {
    if (this.shared === null) return undefined;
    for (const group of this.shared) if (group.shareName === shareName) return group;
    return undefined;
  }
}

// Levels of recent topics, so matching a topic seen before splits nothing. Bounded by its memory, not
// only by its entry count: a publisher sending distinct long or deep topics would otherwise pin them all
// (3,000 topics of 60 KB kept 181 MB alive). Worst case: LEVEL_CACHE_MAX_BYTES plus Map slack.
const LEVEL_CACHE_MAX_ENTRIES = 10_000;
/** Longer topics (hence at most 129 levels deep) are split on each match instead of being cached. */
const LEVEL_CACHE_MAX_TOPIC_LENGTH = 256;
const LEVEL_CACHE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * An upper estimate of what caching one topic keeps alive on 64-bit V8: the topic and its level strings
 * at up to 2 bytes a character each, a header and an array slot per level, the array and the Map entry.
 */
function levelCacheCost(topicLength: number, levelCount: number): number {
  return 128 + 4 * topicLength + 40 * levelCount;
}

/**
 * Subscriptions by (topic filter, subscriber key). A key holds at most one value per filter; adding
 * again replaces it [MQTT-3.8.4-3]. Filters `$share/{group}/{filter}` go into shared groups.
 */
export class SubscriptionTree<T> {
  private readonly root = new TreeNode<T>();
  private readonly levelCache = new Map<string, string[]>();
  private levelCacheBytes = 0;
  // The nodes still to visit in match(), with their depths: kept between matches so that matching
  // allocates nothing, and explicit so that a topic 30,000 levels deep cannot overflow the call stack.
  private readonly pendingNodes: (TreeNode<T> | null)[] = [];
  private readonly pendingDepths: number[] = [];
  private pendingTop = 0;
  private count = 0;
  private sharedCount = 0;

  /** The most memory (estimated bytes) the topic-level cache accounts for before it starts afresh. */
  static readonly levelCacheMaxBytes = LEVEL_CACHE_MAX_BYTES;

  /** Number of (filter, key) subscriptions, shared ones included. */
  get size(): number {
    return this.count + this.sharedCount;
  }

  /** Topics whose levels are cached, and the estimated bytes they keep alive (for tests and stats). */
  get levelCacheUsage(): { topics: number; bytes: number } {
    return { topics: this.levelCache.size, bytes: this.levelCacheBytes };
  }

  /** Adds or replaces; true when the subscription is new. */
  add(filter: string, key: string, value: T): boolean {
    const shared = parseSharedSubscription(filter);
    const node = this.nodeFor(shared === null ? filter : shared.topicFilter, true)!;
    if (shared !== null) {
      if (node.shared === null) node.shared = [];
      let group = node.sharedGroup(shared.shareName);
      if (group === undefined) {
        group = new SharedGroup<T>(shared.shareName, shared.topicFilter);
        node.shared.push(group);
      }
      const added = group.set(key, value);
      if (added) this.sharedCount++;
      return added;
    }
    if (node.subscribers === null) node.subscribers = new SubscriberList<T>();
    const added = node.subscribers.set(key, value);
    if (added) this.count++;
    return added;
  }

  /** The value stored for (filter, key), if any. */
  get(filter: string, key: string): T | undefined {
    const shared = parseSharedSubscription(filter);
    const node = this.nodeFor(shared === null ? filter : shared.topicFilter, false);
    if (node === null) return undefined;
    if (shared !== null) {
      const group = node.sharedGroup(shared.shareName);
      if (group === undefined) return undefined;
      const i = group.keys.indexOf(key);
      return i < 0 ? undefined : group.members[i];
    }
    return node.subscribers?.get(key);
  }

  /** Removes; true when there was such a subscription. Empty branches are pruned. */
  remove(filter: string, key: string): boolean {
    const shared = parseSharedSubscription(filter);
    const levels = (shared === null ? filter : shared.topicFilter).split('/');
    const path: TreeNode<T>[] = [this.root];
    let node: TreeNode<T> | null = this.root;
    for (const level of levels) {
      node = childOf(node, level);
      if (node === null) return false;
      path.push(node);
    }
    let removed = false;
    if (shared !== null) {
      const group = node.sharedGroup(shared.shareName);
      if (group !== undefined && group.delete(key)) {
        removed = true;
        this.sharedCount--;
        if (group.size === 0) node.shared!.splice(node.shared!.indexOf(group), 1);
      }
    } else if (node.subscribers !== null && node.subscribers.delete(key)) {
      removed = true;
      this.count--;
    }
    if (removed) this.prune(path, levels);
    return removed;
  }

  /**
   * Calls the visitor for every subscription whose filter matches `topic`. Filters starting with a
   * wildcard do not match topics starting with '$' [MQTT-4.7.2-1].
   */
  match(topic: string, visitor: MatchVisitor<T>): void {
    const levels = this.levelsOf(topic);
    const end = levels.length;
    const dollar = topic.charCodeAt(0) === 0x24;
    const nodes = this.pendingNodes;
    const depths = this.pendingDepths;
    // A visitor that matches again from inside a callback gets the stack above this match's entries.
    const base = this.pendingTop;
    let top = base;
    nodes[top] = this.root;
    depths[top] = 0;
    top++;
    try {
      while (top > base) {
        top--;
        const node = nodes[top]!;
        const depth = depths[top];
        nodes[top] = null; // a branch removed later must not stay reachable from the stack
        const wildcardsAllowed = depth !== 0 || !dollar;
        if (depth < end) {
          // pushed '+' first so the literal branch is visited first, as a depth-first walk would
          if (wildcardsAllowed && node.plus !== null) {
            nodes[top] = node.plus;
            depths[top] = depth + 1;
            top++;
          }
          if (node.children !== null) {
            const child = node.children.get(levels[depth]);
            if (child !== undefined) {
              nodes[top] = child;
              depths[top] = depth + 1;
              top++;
            }
          }
        }
        this.pendingTop = top;
        // '#' matches this level and everything below, including the parent itself [MQTT-4.7.1-2]
        if (wildcardsAllowed && node.hash !== null) visit(node.hash, visitor);
        if (depth === end) visit(node, visitor);
      }
    } finally {
      // normally a no-op; after a visitor threw, drops the entries it left behind
      for (let i = base; i < top; i++) nodes[i] = null;
      this.pendingTop = base;
    }
  }

  /** The levels of `topic`, from the cache when it was seen recently. */
  private levelsOf(topic: string): string[] {
    // A long topic is split every time: caching it would cost as much as hundreds of ordinary ones.
    if (topic.length > LEVEL_CACHE_MAX_TOPIC_LENGTH) return topic.split('/');
    let levels = this.levelCache.get(topic);
    if (levels !== undefined) return levels;
    levels = topic.split('/');
    const cost = levelCacheCost(topic.length, levels.length);
    if (this.levelCache.size >= LEVEL_CACHE_MAX_ENTRIES || this.levelCacheBytes + cost > LEVEL_CACHE_MAX_BYTES) {
      // starting afresh costs nothing per hit, where least-recently-used order would
      this.levelCache.clear();
      this.levelCacheBytes = 0;
    }
    this.levelCache.set(topic, levels);
    this.levelCacheBytes += cost;
    return levels;
  }

  private nodeFor(filter: string, create: boolean): TreeNode<T> | null {
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = filter.indexOf('/', start);
      const level = slash < 0 ? filter.slice(start) : filter.slice(start, slash);
      let next = childOf(node, level);
      if (next === null) {
        if (!create) return null;
        next = new TreeNode<T>();
        if (level === '+') node.plus = next;
        else if (level === '#') node.hash = next;
        else {
          if (node.children === null) node.children = new Map();
          node.children.set(level, next);
        }
      }
      node = next;
      if (slash < 0) return node;
      start = slash + 1;
    }
  }

  private prune(path: TreeNode<T>[], levels: string[]): void {
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i];
      if (!node.isEmpty()) return;
      const parent = path[i - 1];
      const level = levels[i - 1];
      if (level === '+') parent.plus = null;
      else if (level === '#') parent.hash = null;
      else parent.children?.delete(level);
    }
  }
}

function childOf<T>(node: TreeNode<T>, level: string): TreeNode<T> | null {
  if (level === '+') return node.plus;
  if (level === '#') return node.hash;
  return node.children?.get(level) ?? null;
}

function visit<T>(node: TreeNode<T>, visitor: MatchVisitor<T>): void {
  if (node.subscribers !== null) {
    const values = node.subscribers.values;
    for (let i = 0; i < values.length; i++) visitor.subscriber(values[i]);
  }
  if (node.shared !== null) {
    const groups = node.shared;
    for (let i = 0; i < groups.length; i++) visitor.shared(groups[i]);
  }
}
