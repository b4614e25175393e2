// SUBSCRIBE (section 3.8.4): one reason code per filter in SUBACK, then the retained messages that
// match each new subscription, per its Retain Handling [MQTT-3.3.1-9..-11].
import { ProtocolError, ReasonCode, reasonCodeName, type QoS, type SubscribePacket, type Subscription } from '../../codec';
import { isSharedFilter, validateTopicFilter } from '../../topics';
import type { Connection } from '../connection';
import { ConnectionState } from '../connection-state';
import { type BrokerMessage, isExpired } from '../message';
import { mountSubscribe } from '../mount-point';
import { withRetainSourceChecked } from '../retain-source';
import { saveSubscriptions } from '../persistence';
import type { Session, SessionSubscription } from '../session';

/** Connections whose refusal by maxSubscriptionsPerClient has been logged. */
const loggedSubscriptionLimit = new WeakSet<Connection>();

export function handleSubscribe(c: Connection, p: SubscribePacket): void | Promise<void> {
  const mountPoint = c.listener?.mountPoint;
  if (mountPoint !== undefined && mountPoint !== '') p = mountSubscribe(mountPoint, p);
  const v5 = c.protocolVersion === 5;
  const subscriptionIdentifier = v5 ? p.properties?.subscriptionIdentifiers?.[0] : undefined;
  if (subscriptionIdentifier === 0) throw new ProtocolError(0x82, 'subscription identifier 0 (section 3.8.2.1.2)');
  const authorize = c.internal ? undefined : c.core.options.authorizeSubscribe; // a bridge: no hook asked
  const verdicts: (number | boolean | Promise<number | boolean>)[] = [];
  let async = false;
  for (const s of p.subscriptions) {
    if (v5 && s.noLocal && isSharedFilter(s.topicFilter)) {
      throw new ProtocolError(0x82, 'No Local on a shared subscription [MQTT-3.8.3-4]');
    }
    if (!validateTopicFilter(s.topicFilter)) {
      // 3.1.1 has no refusal for a malformed filter: the connection closes [MQTT-4.7.1-2] ([MQTT-4.8.0-1]);
      // 5.0 refuses that filter alone, 0x8F Topic Filter invalid
      if (!v5) throw new ProtocolError(ReasonCode.MalformedPacket, `invalid topic filter "${s.topicFilter}" [MQTT-4.7.1-2]`);
      verdicts.push(ReasonCode.TopicFilterInvalid);
      continue;
    }
    const granted = Math.min(s.qos, c.core.options.maximumQoS);
    if (authorize === undefined) {
      verdicts.push(granted);
      continue;
    }
    const verdict = authorize(c, { topicFilter: s.topicFilter, qos: granted as QoS });
    if (verdict instanceof Promise) async = true;
    verdicts.push(verdict);
  }
  if (async) return Promise.all(verdicts).then((v) => complete(c, p, v, subscriptionIdentifier));
  complete(c, p, verdicts as (number | boolean)[], subscriptionIdentifier);
}

function complete(c: Connection, p: SubscribePacket, verdicts: (number | boolean)[], subscriptionIdentifier: number | undefined): void {
  if (c.state !== ConnectionState.Connected) return;
  const core = c.core;
  const session = c.session!;
  const v5 = c.protocolVersion === 5;
  // a 3.1/3.1.1 bridge (try_private) subscribes as a 5.0 bridge does with No Local and Retain As
  // Published: what it published is not sent back to it, RETAIN goes as published (Mosquitto's is_bridge)
  const bridge = !v5 && c.remoteBridge;
  const reasonCodes: number[] = [];
  const added: { subscription: SessionSubscription; isNew: boolean }[] = [];
  const accepted: Subscription[] = [];
  for (let i = 0; i < p.subscriptions.length; i++) {
    const s = p.subscriptions[i];
    const verdict = verdicts[i];
    let code: number;
    if (verdict === true) code = Math.min(s.qos, core.options.maximumQoS);
    else if (verdict === false) code = v5 ? 0x87 : 0x80;
    else code = verdict;
    const limit = core.options.maxSubscriptionsPerClient;
    if (code < 0x80 && limit > 0 && session.subscriptions.size >= limit && !session.subscriptions.has(s.topicFilter)) {
      code = ReasonCode.QuotaExceeded; // a client cannot grow the subscription tree without bound
      core.limits.count('subscriptions/refused');
      // one line per connection: a client flooding filters past the limit writes one, not one per filter
      if (!loggedSubscriptionLimit.has(c)) {
        loggedSubscriptionLimit.add(c);
        core.log.warn(`limit subscriptions/refused: client ${c.label()} subscription to ${s.topicFilter} refused: maxSubscriptionsPerClient ${limit} reached (further refusals on this connection are counted, not logged)`);
      }
    }
    if (code >= 0x80 && !v5) code = 0x80; // 3.1.1 has one failure code [MQTT-3.9.3-2]
    reasonCodes.push(code);
    if (code >= 0x80) continue;
    const subscription: SessionSubscription = {
      session,
      topicFilter: s.topicFilter,
      qos: code as QoS,
      noLocal: (v5 && s.noLocal === true) || bridge,
      retainAsPublished: (v5 && s.retainAsPublished === true) || bridge,
      retainHandling: v5 ? (s.retainHandling ?? 0) : 0,
      subscriptionIdentifier,
      shared: isSharedFilter(s.topicFilter),
    };
    // an existing subscription with the same filter is replaced [MQTT-3.8.4-3]
    const isNew = core.router.subscribe(subscription);
    added.push({ subscription, isNew });
    accepted.push({ ...s, qos: code as QoS });
  }
  const written = saveSubscriptions(core, session, added.map((a) => a.subscription));
  // SUBACK with one reason code per filter, in order [MQTT-3.8.4-1], [MQTT-3.9.3-1]
  const failed = v5 ? p.subscriptions.filter((_, i) => reasonCodes[i] >= 0x80) : [];
  const reasonString = failed.length > 0 ? `refused: ${failed.map((s) => `${s.topicFilter} (${reasonCodeName(reasonCodes[p.subscriptions.indexOf(s)])})`).join(', ')}` : undefined;
  // with a store, SUBACK waits until the subscriptions are written
  const subackSent = c.acknowledge(written, { type: 'suback', packetId: p.packetId, reasonCodes, properties: reasonString !== undefined ? { reasonString } : undefined });
  if (accepted.length > 0) {
    if (core.log.clientEventEnabled('debug')) core.log.debug(`client ${c.label()} subscribed to ${accepted.map((s) => s.topicFilter).join(', ')}`);
    if (core.listenerCount('subscribed') > 0) core.emit('subscribed', session.clientId, accepted);
  }
  for (const { subscription, isNew } of added) sendRetained(c, session, subscription, isNew, subackSent);
}

/**
 * Retained messages for a new subscription, RETAIN set [MQTT-3.3.1-8]: always with Retain Handling 0,
 * only for a new subscription with 1 [MQTT-3.3.1-10], never with 2 [MQTT-3.3.1-11] nor for a shared
 * subscription (section 4.8.2).
 */
function sendRetained(c: Connection, session: Session, subscription: SessionSubscription, isNew: boolean, subackSent: boolean): void {
  if (subscription.shared || subscription.retainHandling === 2 || (subscription.retainHandling === 1 && !isNew)) return;
  const store = c.core.store;
  // a store that answers at once delivers in this tick, behind the SUBACK; while the SUBACK waits for a
  // store write, the retained messages wait as well
  if (subackSent && store.matchRetainedNow !== undefined) {
    deliverRetained(c, session, subscription, store.matchRetainedNow(subscription.topicFilter));
    return;
  }
  store.matchRetained(subscription.topicFilter).then(
    (messages) => {
      if (session.subscriptions.get(subscription.topicFilter) !== subscription) return; // unsubscribed meanwhile
      deliverRetained(c, session, subscription, messages);
    },
    (err: Error) => c.core.log.error(`store: retained for ${subscription.topicFilter}: ${err.message}`),
  );
}

function deliverRetained(c: Connection, session: Session, subscription: SessionSubscription, messages: BrokerMessage[]): void {
  const core = c.core;
  const upgrade = core.options.upgradeOutgoingQos;
  withRetainSourceChecked(core, messages, (allowed) => {
    if (session.subscriptions.get(subscription.topicFilter) !== subscription) return; // unsubscribed meanwhile
    const now = Date.now();
    const ids = subscription.subscriptionIdentifier !== undefined ? [subscription.subscriptionIdentifier] : undefined;
    for (const message of allowed) {
      if (isExpired(message, now)) continue;
      // the lower of the two QoS [MQTT-3.8.4-8], or the subscription's with upgradeOutgoingQos
      const qos = (message.qos < subscription.qos && !upgrade ? message.qos : subscription.qos) as QoS;
      session.deliver(message, qos, true, ids, now);
    }
  });
}
