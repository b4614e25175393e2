// Which node wants which topic filter on one connection. One SUBSCRIBE per filter whatever the number
// of nodes using it, one delivery per node whatever the number of its filters that match, and a
// node's filter kept for a moment after the node closes, so a redeploy that re-registers the same
// filter does not unsubscribe and resubscribe (and retained messages do not fire again). Deliveries
// are matched through the engine's subscription tree, one tree key per filter, so a message costs the
// branches its topic can match rather than a look at every filter.
import type { PublishPacket, QoS } from '../../src/codec/types';
import { SubscriptionTree, type MatchVisitor, type SharedGroup } from './engine';

export interface SubscriptionRequest {
  qos: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export type DeliveryHandler = (packet: PublishPacket) => void;

interface NodeSubscription {
  request: SubscriptionRequest;
  handler: DeliveryHandler;
  /** Left by a closed node; dropped by `sweepParked` unless the same node re-registers first. */
  parked: boolean;
}

export interface FilterEntry {
  readonly filter: string;
  /** Subscription Identifier sent with this filter [MQTT-3.8.2.1.2], so a delivery names its filters. */
  readonly subscriptionIdentifier: number;
  readonly users: Map<string, NodeSubscription>;
  /** What the server was last asked for; null while not subscribed on the server. */
  sent: SubscriptionRequest | null;
}

function sameRequest(a: SubscriptionRequest | null, b: SubscriptionRequest): boolean {
  return (
    !!a &&
    a.qos === b.qos &&
    !!a.noLocal === !!b.noLocal &&
    !!a.retainAsPublished === !!b.retainAsPublished &&
    (a.retainHandling ?? 0) === (b.retainHandling ?? 0)
  );
}

export class SubscriptionTable {
  private readonly entries = new Map<string, FilterEntry>();
  /** The same entries by filter; a `$share/{name}/{filter}` entry is the one member of its group. */
  private readonly tree = new SubscriptionTree<FilterEntry>();
  private nextIdentifier = 1;
  /** The entries one delivery matches; reused, so matching allocates no array per message. */
  private readonly matched: FilterEntry[] = [];
  private readonly collect: MatchVisitor<FilterEntry> = {
    subscriber: (entry) => void this.matched.push(entry),
    // The server chose this client for the group's message (section 4.8.2): every node here on that
    // shared subscription gets it, so no member is picked.
    shared: (group: SharedGroup<FilterEntry>) => void this.matched.push(...group.members),
  };

  /** Adds or replaces `ref`'s subscription to `filter`; returns the entry. */
  add(ref: string, filter: string, request: SubscriptionRequest, handler: DeliveryHandler): FilterEntry {
    let entry = this.entries.get(filter);
    if (!entry) {
      entry = { filter, subscriptionIdentifier: this.nextIdentifier++, users: new Map(), sent: null };
      this.entries.set(filter, entry);
      this.tree.add(filter, filter, entry);
    }
    entry.users.set(ref, { request, handler, parked: false });
    return entry;
  }

  /** Removes `ref` from `filter`; true when nobody is left on the filter (the caller unsubscribes). */
  remove(ref: string, filter: string): boolean {
    const entry = this.entries.get(filter);
    if (!entry) return false;
    entry.users.delete(ref);
    if (entry.users.size > 0) return false;
    this.drop(filter);
    return true;
  }

  /** Marks every filter of `ref` as left by a closed node. */
  park(ref: string): void {
    for (const entry of this.entries.values()) {
      const sub = entry.users.get(ref);
      if (sub) sub.parked = true;
    }
  }

  /** Drops parked subscriptions; returns the filters nobody uses any more. */
  sweepParked(): string[] {
    const empty: string[] = [];
    for (const entry of [...this.entries.values()]) {
      for (const [ref, sub] of entry.users) if (sub.parked) entry.users.delete(ref);
      if (entry.users.size === 0) {
        this.drop(entry.filter);
        empty.push(entry.filter);
      }
    }
    return empty;
  }

  private drop(filter: string): void {
    this.entries.delete(filter);
    this.tree.remove(filter, filter);
  }

  hasParked(): boolean {
    for (const entry of this.entries.values()) for (const sub of entry.users.values()) if (sub.parked) return true;
    return false;
  }

  /** The filters `ref` holds (parked ones excluded). */
  filtersOf(ref: string): string[] {
    return [...this.entries.values()].filter((e) => e.users.get(ref)?.parked === false).map((e) => e.filter);
  }

  get(filter: string): FilterEntry | undefined {
    return this.entries.get(filter);
  }

  all(): FilterEntry[] {
    return [...this.entries.values()];
  }

  /** What the server should hold for an entry: the highest QoS any node asked for, the rest from the latest. */
  effective(entry: FilterEntry): SubscriptionRequest {
    let result: SubscriptionRequest | undefined;
    for (const sub of entry.users.values()) {
      result = result ? { ...sub.request, qos: Math.max(result.qos, sub.request.qos) as QoS } : { ...sub.request };
    }
    return result ?? { qos: 0 };
  }

  /** Whether the server must be (re)asked for this entry. */
  needsSubscribe(entry: FilterEntry): boolean {
    return !sameRequest(entry.sent, this.effective(entry));
  }

  forgetSent(): void {
    for (const entry of this.entries.values()) entry.sent = null;
  }

  /**
   * Hands a delivery to each node once. A node whose several filters match is served through the filter
   * with the lowest identifier; when the server names the matching subscriptions [MQTT-3.3.4-3], a copy
   * that does not name that filter is another copy of the same message and is skipped [MQTT-3.3.4-2].
   * Filters starting with a wildcard do not match `$` topics [MQTT-4.7.2-1] (the tree's rule).
   */
  dispatch(packet: PublishPacket, identifiersAvailable: boolean): number {
    const ids = identifiersAvailable ? packet.properties?.subscriptionIdentifiers : undefined;
    const matched = this.matched;
    matched.length = 0;
    this.tree.match(packet.topic, this.collect);
    // in subscription order, as the nodes subscribed, whatever order the tree visits its branches in
    if (matched.length > 1) matched.sort((a, b) => a.subscriptionIdentifier - b.subscriptionIdentifier);
    const chosen = new Map<string, { entry: FilterEntry; sub: NodeSubscription }>();
    for (const entry of matched) {
      for (const [ref, sub] of entry.users) {
        if (sub.parked) continue;
        const prev = chosen.get(ref);
        if (!prev || entry.subscriptionIdentifier < prev.entry.subscriptionIdentifier) chosen.set(ref, { entry, sub });
      }
    }
    matched.length = 0;
    let delivered = 0;
    for (const { entry, sub } of chosen.values()) {
      if (ids && ids.length && !ids.includes(entry.subscriptionIdentifier)) continue;
      sub.handler(packet);
      delivered++;
    }
    return delivered;
  }
}
