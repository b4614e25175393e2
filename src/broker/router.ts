// The router owns the routing state: every subscription of every session, in one subscription tree.
// A message is matched once; each session receives it once, at the highest QoS granted by its
// matching subscriptions, with all their Subscription Identifiers [MQTT-3.3.4-2], [MQTT-3.3.4-3]; at
// the lower of the message's and the subscription's QoS [MQTT-3.8.4-8] unless upgradeOutgoingQos is on.
import type { QoS } from '../codec/types';
import { type MatchVisitor, type SharedGroup, SubscriptionTree } from '../topics';
import type { BrokerMessage } from './message';
import type { Session, SessionSubscription } from './session';

const isOnline = (subscription: SessionSubscription): boolean => subscription.session.outlet !== null;

export class Router implements MatchVisitor<SessionSubscription> {
  private readonly tree = new SubscriptionTree<SessionSubscription>();
  // Scratch state for one match, reused for every message: matching allocates nothing.
  private stamp = 0;
  private message: BrokerMessage | null = null;
  private readonly matched: Session[] = [];
  /** No Local subscriptions of the publisher passed over in the route under way. */
  private heldBack = 0;
  private readonly sharedMatched: SessionSubscription[] = [];
  /** Mosquitto's upgrade_outgoing_qos: deliver at the subscription's QoS, not the lower of the two. */
  upgradeOutgoingQos = false;

  get subscriptionCount(): number {
    return this.tree.size;
  }

  /** Adds or replaces a subscription; true when it is new to the session. */
  subscribe(subscription: SessionSubscription): boolean {
    const session = subscription.session;
    session.subscriptions.set(subscription.topicFilter, subscription);
    return this.tree.add(subscription.topicFilter, session.clientId, subscription);
  }

  unsubscribe(session: Session, topicFilter: string): boolean {
    if (!session.subscriptions.delete(topicFilter)) return false;
    this.tree.remove(topicFilter, session.clientId);
    return true;
  }

  unsubscribeAll(session: Session): void {
    if (session.subscriptionCount === 0) return;
    for (const topicFilter of session.subscriptions.keys()) this.tree.remove(topicFilter, session.clientId);
    session.subscriptions.clear();
  }

  /**
   * Delivers to every matching session; returns how many subscribers matched: the deliveries made, and
   * the publisher's own No Local subscriptions held back (it has subscribers, as Mosquitto counts them).
   */
  route(message: BrokerMessage, now: number): number {
    this.stamp = (this.stamp + 1) | 0;
    this.message = message;
    this.heldBack = 0;
    const matched = this.matched;
    const sharedMatched = this.sharedMatched;
    this.tree.match(message.topic, this);
    let deliveries = 0;
    const upgrade = this.upgradeOutgoingQos;
    for (let i = 0; i < matched.length; i++) {
      const session = matched[i];
      const qos = (message.qos < session.matchQos && !upgrade ? message.qos : session.matchQos) as QoS; // [MQTT-3.8.4-8]
      // 3.1.1 clears RETAIN on ordinary forwarding [MQTT-3.3.1-9]; 5.0 keeps it with Retain As Published [MQTT-3.3.1-12],
      // and so does a 3.1/3.1.1 try_private bridge, whose subscriptions have it (handlers/subscribe.ts)
      const retain = message.retain && session.matchRetainAsPublished && (session.protocolVersion === 5 || session.remoteBridge);
      const ids = session.matchIds !== null && session.matchIds.length > 0 ? session.matchIds : undefined;
      session.deliver(message, qos, retain, ids, now);
      deliveries++;
    }
    for (let i = 0; i < sharedMatched.length; i++) {
      const subscription = sharedMatched[i];
      const qos = (message.qos < subscription.qos && !upgrade ? message.qos : subscription.qos) as QoS;
      const retain = message.retain && subscription.retainAsPublished && subscription.session.protocolVersion === 5;
      let ids: number[] | undefined;
      if (subscription.subscriptionIdentifier !== undefined) {
        ids = subscription.session.matchIds ??= [];
        ids.length = 0;
        ids.push(subscription.subscriptionIdentifier);
      }
      subscription.session.deliver(message, qos, retain, ids, now);
      deliveries++;
    }
    matched.length = 0;
    sharedMatched.length = 0;
    this.message = null;
    return deliveries + this.heldBack;
  }

  /** MatchVisitor: one ordinary subscription matched. */
  subscriber(subscription: SessionSubscription): void {
    const session = subscription.session;
    const message = this.message!;
    // No Local: not back to the publisher [MQTT-3.8.3-3]
    if (subscription.noLocal && message.origin === session.clientId) {
      this.heldBack++;
      return;
    }
    if (session.matchStamp !== this.stamp) {
      session.matchStamp = this.stamp;
      session.matchQos = subscription.qos;
      session.matchRetainAsPublished = subscription.retainAsPublished;
      if (session.matchIds !== null) session.matchIds.length = 0;
      this.matched.push(session);
    } else {
      if (subscription.qos > session.matchQos) session.matchQos = subscription.qos;
      if (subscription.retainAsPublished) session.matchRetainAsPublished = true;
    }
    if (subscription.subscriptionIdentifier !== undefined) (session.matchIds ??= []).push(subscription.subscriptionIdentifier);
  }

  /** MatchVisitor: a shared subscription group matched; one member gets the message, online ones first. */
  shared(group: SharedGroup<SessionSubscription>): void {
    const member = group.pick(isOnline);
    if (member !== undefined) this.sharedMatched.push(member);
  }
}
