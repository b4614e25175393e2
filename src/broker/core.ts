// The broker engine without transports: sessions, routing, retained messages, wills and events.
// Connections enter through `Broker.handle` (broker.ts); handlers reach the engine through this class.
import { EventEmitter } from 'node:events';
import type { Properties, PublishPacket, QoS, WillMessage } from '../codec';
import { ConnectDeadlines } from './connect-deadlines';
import { KeepaliveSweep } from './keepalive-sweep';
import type { Connection } from './connection';
import type { BrokerEvents, DropReason } from './events';
import { LimitCounters } from './limits';
import { Log } from './logger';
import { type BrokerMessage, keepRetained } from './message';
import { type BrokerOptions, type ClientHandle, MAX_PACKET_SIZE, type ResolvedOptions, resolveOptions } from './options';
import { noteRetainSource } from './retain-source';
import { Router } from './router';
import { SESSION_NEVER_EXPIRES, Session, type SessionJournal } from './session';
import { BrokerStats } from './stats';
import { deleteSession, saveSession } from './persistence';
import { MemoryStore } from './store/memory-store';
import type { BrokerStore } from './store/types';

/** setTimeout takes at most 2^31-1 ms; longer expiries are re-armed in steps. */
const MAX_TIMER_MS = 0x7fffffff;

export class BrokerCore extends EventEmitter<BrokerEvents> {
  readonly options: ResolvedOptions;
  readonly log: Log;
  readonly stats = new BrokerStats();
  /** Limits hit, by kind: counted, logged (rate-limited) and published in $SYS. */
  readonly limits: LimitCounters;
  readonly store: BrokerStore;
  readonly router = new Router();
  readonly sessions = new Map<string, Session>();
  /** Connected clients by client identifier. */
  readonly clientsById = new Map<string, Connection>();
  /** Every open connection, CONNECT received or not. */
  readonly connections = new Set<Connection>();
  /** Connections still waiting for their CONNECT, under one shared timer. */
  readonly connectDeadlines: ConnectDeadlines;
  /** Connected clients with a keep alive, checked by one shared timer. */
  readonly keepalives = new KeepaliveSweep();
  /** True when the store was given in the options: sessions are then saved to it and restored. */
  readonly persistent: boolean;
  /** Retained messages as the store counted them at the last $SYS round (or listen()). */
  retainedCount = 0;
  protected closing = false;
  /** Store writes caused by the routing under way (see collectWrites). */
  private pendingWrites: Promise<void>[] | null = null;
  /** CONNACK properties advertising what we support, the same for every 5.0 client. */
  readonly connackProperties: Properties;
  private readonly dropHandler = (message: BrokerMessage, clientId: string, reason: DropReason): void => this.onDrop(message, clientId, reason);

  constructor(options: BrokerOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.log = new Log(options.logger);
    this.limits = new LimitCounters(this.log);
    this.store = options.store ?? new MemoryStore();
    this.persistent = options.store !== undefined;
    this.router.upgradeOutgoingQos = this.options.upgradeOutgoingQos;
    this.connectDeadlines = new ConnectDeadlines(this.options.connectTimeout, (c) => c.connectTimedOut());
    // an 'error' event without a listener would throw: log instead
    this.on('error', () => undefined);
    const o = this.options;
    this.connackProperties = {
      receiveMaximum: o.receiveMaximum < 65535 ? o.receiveMaximum : undefined, // absent means 65,535
      topicAliasMaximum: o.topicAliasMaximum > 0 ? o.topicAliasMaximum : undefined,
      // absent means available (3.2.2.3.5), as Mosquitto leaves it out
      retainAvailable: o.retainAvailable ? undefined : 0,
      maximumQoS: o.maximumQoS < 2 ? o.maximumQoS : undefined,
      maximumPacketSize: o.advertiseMaximumPacketSize && o.maxPacketSize < MAX_PACKET_SIZE ? o.maxPacketSize : undefined,
      // wildcard, Subscription Identifier and shared subscriptions are all supported: absent means so
      // (3.2.2.3.12-14), which keeps every CONNACK 12 bytes shorter
    };
    for (const key of Object.keys(this.connackProperties) as (keyof Properties)[]) {
      if (this.connackProperties[key] === undefined) delete this.connackProperties[key];
    }
  }

  isClosing(): boolean {
    return this.closing;
  }

  /** Routes an application message: stores it when retained, delivers it to every matching session. */
  /** Routes a message to its subscribers (and the retained store); returns how many subscribers matched (Router.route). */
  publishMessage(message: BrokerMessage, publisherId: string | undefined): number {
    if (message.retain) this.storeRetained(message);
    const deliveries = this.router.route(message, Date.now());
    if (this.listenerCount('published') > 0) this.emit('published', message, publisherId);
    return deliveries;
  }

  storeRetained(message: BrokerMessage): void {
    // a zero-byte retained message removes the stored one and is itself not stored [MQTT-3.3.1-10], [MQTT-3.3.1-11]
    keepRetained(message);
    this.recordWrite(this.store.storeRetained(message), `retained ${message.topic}`);
  }

  /**
   * Runs `route` and returns the store writes it caused (retained message, durable sessions' queues and
   * in-flight tables), so that the publisher's acknowledgement can wait for them; undefined when none.
   */
  collectWrites(route: () => void): Promise<unknown> | undefined {
    if (!this.persistent) {
      route();
      return undefined;
    }
    const outer = this.pendingWrites;
    const writes: Promise<void>[] = [];
    this.pendingWrites = writes;
    try {
      route();
    } finally {
      this.pendingWrites = outer;
    }
    return writes.length === 0 ? undefined : Promise.all(writes);
  }

  /** A store write: collected for the acknowledgement under way (collectWrites), else only logged if it fails. */
  recordWrite(write: Promise<void>, what: string): void {
    if (this.pendingWrites !== null) this.pendingWrites.push(write);
    else write.catch((err: Error) => this.log.error(`store: ${what}: ${err.message}`));
  }

  /** Durable sessions (persistent, with a store given) write each change of their queue and flights. */
  readonly journal: SessionJournal = {
    queued: (session, d) =>
      this.recordWrite(
        this.store.enqueue(session.clientId, { message: d.message, qos: d.qos, retain: d.retain, subscriptionIdentifiers: d.subscriptionIdentifiers }),
        `queue of ${session.clientId}`,
      ),
    dequeued: (session, count) => {
      if (this.store.dequeue !== undefined) {
        this.recordWrite(this.store.dequeue(session.clientId, count), `queue of ${session.clientId}`);
        return;
      }
      // a store without dequeue: the queue is written again as it is now
      const store = this.store;
      const rest = session.queuedDeliveries();
      const rewrite = (async () => {
        await store.clearQueued(session.clientId);
        for (const d of rest) {
          await store.enqueue(session.clientId, { message: d.message, qos: d.qos, retain: d.retain, subscriptionIdentifiers: d.subscriptionIdentifiers });
        }
      })();
      this.recordWrite(rewrite, `queue of ${session.clientId}`);
    },
    inflight: (session, e) =>
      this.recordWrite(
        this.store.putInflight(session.clientId, {
          packetId: e.packetId,
          state: e.state,
          message: e.message,
          qos: e.qos,
          retain: e.retain,
          subscriptionIdentifiers: e.subscriptionIdentifiers,
        }),
        `in-flight of ${session.clientId}`,
      ),
    released: (session, packetId) => this.recordWrite(this.store.removeInflight(session.clientId, packetId), `in-flight of ${session.clientId}`),
  };

  newSession(clientId: string, window: number): Session {
    const session = new Session(clientId, this.options.maxQueuedMessages, window, this.dropHandler);
    session.authorizeRead = this.options.authorizeRead;
    session.maxQueuedBytes = this.options.maxQueuedBytes;
    this.sessions.set(clientId, session);
    return session;
  }

  /** The session ends: subscriptions and queue go, a Will still waiting is published now [MQTT-3.1.3-9]. */
  endSession(session: Session): void {
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    deleteSession(this, session.clientId);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    this.router.unsubscribeAll(session);
    session.discard();
    if (session.pendingWill !== undefined) this.publishWill(session);
  }

  /** Called once by a connection as it closes. */
  connectionClosed(connection: Connection, wasConnected: boolean, reason: string): void {
    this.connections.delete(connection);
    if (!wasConnected) return;
    const session = connection.session;
    if (this.clientsById.get(connection.id) === connection) this.clientsById.delete(connection.id);
    const info = this.listenerCount('clientDisconnected') > 0 ? connection.info() : undefined;
    connection.session = null;
    if (session !== null) {
      const now = Date.now();
      session.detach(now);
      const will = connection.will;
      connection.will = undefined;
      session.connectionWill = undefined;
      // a normal DISCONNECT discards the Will [MQTT-3.1.2-10]; every other close publishes it [MQTT-3.1.2-8]
      if (will !== undefined) this.scheduleWill(session, will);
      if (session.sessionExpiryInterval === 0) this.endSession(session);
      else if (!this.closing) this.sessionOffline(session, session.sessionExpiryInterval * 1000);
    }
    if (info !== undefined) this.emit('clientDisconnected', info, reason);
  }

  /**
   * Will Delay Interval, never longer than the session lasts (section 3.1.3.2.2); `delay` overrides it
   * for a Will found in the store after a restart.
   */
  scheduleWill(session: Session, will: WillMessage, delay = will.properties?.willDelayInterval ?? 0): void {
    session.pendingWill = will;
    if (delay <= 0 || session.sessionExpiryInterval === 0) {
      this.publishWill(session);
      return;
    }
    if (delay >= session.sessionExpiryInterval && session.sessionExpiryInterval !== SESSION_NEVER_EXPIRES) return; // published when the session ends
    session.willTimer = setTimeout(() => this.publishWill(session), Math.min(delay * 1000, MAX_TIMER_MS));
    session.willTimer.unref?.();
  }

  /**
   * A connection is taken over by a new one with its client identifier. Its Will is kept (and published
   * as it closes) only when the session ends with it and the Will has no delay: a session that goes on,
   * or a delay not yet passed, means the client is back before its Will is due [MQTT-3.1.2-8],
   * [MQTT-3.1.3-9]. Mosquitto 2.0 decides the same (handle_connect.c, context__send_will).
   */
  willOnTakeover(existing: Connection, cleanStart: boolean): void {
    const will = existing.will;
    if (will === undefined) return;
    const session = existing.session;
    const sessionEnds = cleanStart || session === null || session.sessionExpiryInterval === 0;
    if (sessionEnds && (will.properties?.willDelayInterval ?? 0) === 0) return;
    existing.will = undefined;
    if (session !== null) session.connectionWill = undefined;
  }

  /**
   * A new Network Connection for the client identifier within the Will Delay Interval deletes the Will,
   * whether it resumes the session or starts a clean one [MQTT-3.1.2-8], [MQTT-3.1.3-9].
   */
  cancelWill(session: Session): void {
    if (session.willTimer !== undefined) clearTimeout(session.willTimer);
    session.willTimer = undefined;
    session.pendingWill = undefined;
  }

  publishWill(session: Session): void {
    const will = session.pendingWill;
    if (session.willTimer !== undefined) clearTimeout(session.willTimer);
    session.willTimer = undefined;
    session.pendingWill = undefined;
    if (will === undefined) return;
    // a session that goes on forgets the Will in the store too, or a restart would publish it again
    if (this.sessions.get(session.clientId) === session) saveSession(this, session);
    if (will.topic.startsWith('$SYS')) return; // clients never publish into $SYS, wills neither
    const authorize = this.options.authorizePublish;
    if (authorize === undefined) {
      this.publishMessage(willToMessage(will, session.clientId), session.clientId);
      return;
    }
    // a Will is a publication by its client: the same rule applies as to its PUBLISHes
    const client: ClientHandle = session.willPublisher ?? { id: session.clientId, address: 'unknown', protocolVersion: session.protocolVersion, username: undefined };
    const packet: PublishPacket = { type: 'publish', topic: will.topic, payload: will.payload, qos: will.qos as QoS, retain: will.retain, dup: false };
    if (will.qos > 0) packet.packetId = 1;
    const decide = (verdict: boolean | number): void => {
      if (verdict !== true && verdict !== 0) {
        this.log.info(`will of client ${session.clientId} on ${will.topic} not published: not authorized`);
        return;
      }
      const message = willToMessage(will, session.clientId);
      if (will.retain) noteRetainSource(this, message, client.username, client.listener);
      this.publishMessage(message, session.clientId);
    };
    try {
      const verdict = authorize(client, packet);
      if (verdict instanceof Promise) verdict.then(decide, (err: Error) => this.log.error(`authorizePublish for the will of ${session.clientId}: ${err.message}`));
      else decide(verdict);
    } catch (err) {
      this.log.error(`authorizePublish for the will of ${session.clientId}: ${(err as Error).message}`);
    }
  }

  /** A persistent session without connection: saved, and ended after `ms` (0 = never). */
  sessionOffline(session: Session, ms: number): void {
    saveSession(this, session);
    if (ms > 0) this.scheduleExpiry(session, ms);
  }

  private scheduleExpiry(session: Session, ms: number): void {
    if (session.sessionExpiryInterval === SESSION_NEVER_EXPIRES) return;
    const step = Math.min(ms, MAX_TIMER_MS);
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined;
      if (ms > step) this.scheduleExpiry(session, ms - step);
      else if (session.outlet === null) this.endSession(session);
    }, step);
    session.expiryTimer.unref?.();
  }

  /** A persistent session resumed: its expiry is suspended while connected. */
  resumeSession(session: Session): void {
    session.disconnectedAt = undefined; // connected again before it is saved
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    this.cancelWill(session);
  }

  private onDrop(message: BrokerMessage, clientId: string, reason: DropReason): void {
    this.stats.publishDropped++;
    if (reason === 'queue-full' || reason === 'buffer-full' || reason === 'too-large') {
      // a flood would log a line per message: the limit counters log one line per second at most
      const o = this.options;
      this.limits.hit(`messages/dropped/${reason}`, () =>
        reason === 'queue-full'
          ? `message on ${message.topic} for ${clientId} dropped: queue full (maxQueuedMessages ${o.maxQueuedMessages}, maxQueuedBytes ${o.maxQueuedBytes})`
          : reason === 'buffer-full'
            ? `QoS 0 message on ${message.topic} for ${clientId} dropped: the client does not read (maxOutgoingBufferSize ${o.maxOutgoingBufferSize})`
            : `message on ${message.topic} for ${clientId} dropped: larger than the client's Maximum Packet Size`,
      );
    } else {
      if (this.log.enabled('debug')) this.log.debug(`dropped message on ${message.topic} for ${clientId}: ${reason}`);
    }
    if (this.listenerCount('dropped') > 0) this.emit('dropped', message, clientId, reason);
  }
}

export function willToMessage(will: WillMessage, clientId: string): BrokerMessage {
  let properties = will.properties;
  let expiresAt: number | undefined;
  if (properties !== undefined) {
    const { willDelayInterval, ...rest } = properties;
    void willDelayInterval;
    properties = Object.keys(rest).length > 0 ? rest : undefined;
    if (rest.messageExpiryInterval !== undefined) expiresAt = Date.now() + rest.messageExpiryInterval * 1000;
  }
  return { topic: will.topic, payload: will.payload, qos: will.qos as QoS, retain: will.retain, properties, expiresAt, origin: clientId };
}
