// Sessions through the store: what a persistent session is made of is written through to the store
// as it changes (session, subscriptions), its queue and in-flight messages are saved when the broker
// closes, and everything is read back by listen(). Only with a store given in the options: the
// broker's own in-memory store would hold a second copy for nothing, as nothing outlives the broker.
import type { WillMessage } from '../codec';
import type { BrokerCore } from './core';
import { SESSION_NEVER_EXPIRES, type Session, type SessionSubscription } from './session';
import type { StoredSession, StoredSubscription } from './store/types';

function warn(core: BrokerCore, what: string) {
  return (err: Error): void => core.log.error(`store: ${what}: ${err.message}`);
}

function persists(session: Session): boolean {
  return session.sessionExpiryInterval > 0;
}

export function saveSession(core: BrokerCore, session: Session): void {
  if (!core.persistent || !persists(session)) return;
  const stored: StoredSession = {
    clientId: session.clientId,
    protocolVersion: session.protocolVersion,
    sessionExpiryInterval: session.sessionExpiryInterval,
    disconnectedAt: session.disconnectedAt,
  };
  if (session.inboundQos2.size > 0) stored.inboundQos2 = [...session.inboundQos2];
  const will = session.pendingWill ?? session.connectionWill;
  if (will !== undefined) stored.will = will;
  core.recordWrite(core.store.saveSession(stored), `save session ${session.clientId}`);
}

/**
 * The write after an inbound QoS 2 packet id was added or released, for PUBREC / PUBCOMP to wait
 * for: exactly once holds across a restart [MQTT-4.3.3-10]. Undefined when nothing is written.
 */
export function saveInboundQos2(core: BrokerCore, session: Session): Promise<unknown> | undefined {
  if (!core.persistent || !persists(session)) return undefined;
  return core.collectWrites(() => saveSession(core, session));
}

export function deleteSession(core: BrokerCore, clientId: string): void {
  if (!core.persistent) return;
  core.store.deleteSession(clientId).catch(warn(core, `delete session ${clientId}`));
}

/** The write, for SUBACK to wait for; undefined when nothing is written. */
export function saveSubscriptions(core: BrokerCore, session: Session, subscriptions: SessionSubscription[]): Promise<void> | undefined {
  if (!core.persistent || !persists(session) || subscriptions.length === 0) return undefined;
  const stored: StoredSubscription[] = subscriptions.map((s) => ({
    topicFilter: s.topicFilter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionIdentifier: s.subscriptionIdentifier,
  }));
  return core.store.addSubscriptions(session.clientId, stored);
}

export function removeSubscriptions(core: BrokerCore, session: Session, topicFilters: string[]): void {
  if (!core.persistent || topicFilters.length === 0) return;
  core.store.removeSubscriptions(session.clientId, topicFilters).catch(warn(core, `subscriptions of ${session.clientId}`));
}

/** On close: the queue and in-flight messages of every persistent session go to the store. */
export async function saveAllSessions(core: BrokerCore): Promise<void> {
  const store = core.store;
  const now = Date.now();
  for (const session of core.sessions.values()) {
    if (!persists(session)) continue;
    if (session.disconnectedAt === undefined) session.disconnectedAt = now;
    saveSession(core, session);
    await store.clearQueued(session.clientId);
    for (const d of session.queuedDeliveries()) {
      await store.enqueue(session.clientId, { message: d.message, qos: d.qos, retain: d.retain, subscriptionIdentifiers: d.subscriptionIdentifiers });
    }
    await store.clearInflight(session.clientId);
    for (const e of session.inflight.values()) {
      await store.putInflight(session.clientId, {
        packetId: e.packetId,
        state: e.state,
        message: e.message,
        qos: e.qos,
        retain: e.retain,
        subscriptionIdentifiers: e.subscriptionIdentifiers,
      });
    }
  }
}

/** On listen: sessions from the store come back offline, with subscriptions, queue and in-flight messages. */
export async function restoreSessions(core: BrokerCore): Promise<number> {
  const store = core.store;
  const now = Date.now();
  let restored = 0;
  const wills: { session: Session; will: WillMessage; delay: number }[] = [];
  for (const stored of await store.listSessions()) {
    const expiry = stored.sessionExpiryInterval;
    const gone = stored.disconnectedAt ?? now;
    if (expiry === 0 || (expiry !== SESSION_NEVER_EXPIRES && gone + expiry * 1000 <= now)) {
      await store.deleteSession(stored.clientId); // expired while the broker was down
      continue;
    }
    if (core.sessions.has(stored.clientId)) continue;
    const session = core.newSession(stored.clientId, core.options.maxInflightMessages);
    session.sessionExpiryInterval = expiry;
    session.protocolVersion = stored.protocolVersion;
    session.disconnectedAt = gone;
    for (const id of stored.inboundQos2 ?? []) session.inboundQos2.add(id);
    for (const s of await store.getSubscriptions(stored.clientId)) {
      core.router.subscribe({
        session,
        topicFilter: s.topicFilter,
        qos: s.qos,
        noLocal: s.noLocal === true,
        retainAsPublished: s.retainAsPublished === true,
        retainHandling: s.retainHandling ?? 0,
        subscriptionIdentifier: s.subscriptionIdentifier,
        shared: s.topicFilter.startsWith('$share/'),
      });
    }
    for (const e of await store.getInflight(stored.clientId)) {
      session.inflight.set(e.packetId, {
        packetId: e.packetId,
        state: e.state,
        message: e.message,
        qos: e.qos,
        retain: e.retain === true,
        subscriptionIdentifiers: e.subscriptionIdentifiers,
      });
    }
    for (const d of await store.getQueued(stored.clientId)) {
      session.deliver(d.message, d.qos, d.retain === true, d.subscriptionIdentifiers, now);
    }
    session.journal = core.journal; // from now on, as for any durable session
    if (stored.will !== undefined) {
      // connected when the broker stopped without closing it: its connection ended without DISCONNECT
      // [MQTT-3.1.2-8]; a Will already waiting keeps what is left of its delay
      const delay = stored.will.properties?.willDelayInterval ?? 0;
      const left = stored.disconnectedAt === undefined ? delay : Math.max(0, Math.ceil((stored.disconnectedAt + delay * 1000 - now) / 1000));
      wills.push({ session, will: stored.will, delay: left });
    }
    core.sessionOffline(session, expiry === SESSION_NEVER_EXPIRES ? 0 : gone + expiry * 1000 - now);
    restored++;
  }
  // once every session is back, so that each Will reaches all of them
  for (const { session, will, delay } of wills) core.scheduleWill(session, will, delay);
  return restored;
}
