// A client's session on the broker (MQTT 5 section 4.1): subscriptions, outbound QoS 1/2 messages in
// flight, the queue behind them and the inbound QoS 2 packet ids awaiting PUBREL. It owns no socket:
// while the client is connected it writes through a SessionOutlet (the connection).
import type { QoS, WillMessage } from '../codec/types';
import type { DropReason } from './events';
import { type BrokerMessage, detachPayload, isExpired } from './message';
import type { ClientHandle } from './options';

/** One delivery of a message to this session: the QoS and RETAIN flag it goes out with. */
export interface Delivery {
  message: BrokerMessage;
  qos: QoS;
  retain: boolean;
  /** 5.0 Subscription Identifiers of every matching subscription [MQTT-3.3.4-3]. */
  subscriptionIdentifiers: number[] | undefined;
}

export interface InflightEntry extends Delivery {
  packetId: number;
  /** 'publish': awaiting PUBACK / PUBREC; 'pubrel': PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
}

/** The connection side of a session, while the client is connected; it is the client hooks see. */
export interface SessionOutlet extends ClientHandle {
  /** Writes a PUBLISH; false when it cannot go to this client (larger than its Maximum Packet Size). */
  sendPublish(delivery: Delivery, packetId: number | undefined, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** False while the socket holds more than the outgoing buffer bound (QoS 0 is then dropped). */
  writable(): boolean;
}

/** A subscription held by a session; the value stored in the subscription tree. */
export interface SessionSubscription {
  session: Session;
  topicFilter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier: number | undefined;
  shared: boolean;
}

/**
 * Where a durable session records each change of its queue and in-flight table (the store, through
 * the broker), so that a broker killed at any moment finds them again. Null for other sessions.
 */
export interface SessionJournal {
  queued(session: Session, delivery: Delivery): void;
  /** The first `count` queued deliveries left the queue (sent, or dropped as expired). */
  dequeued(session: Session, count: number): void;
  inflight(session: Session, entry: InflightEntry): void;
  released(session: Session, packetId: number): void;
}

export type DropHandler = (message: BrokerMessage, clientId: string, reason: DropReason) => void;

/** The `authorizeRead` hook: may this client receive this message? */
export type ReadAuthorizer = (client: ClientHandle, topic: string, message: BrokerMessage) => boolean;

export const SESSION_NEVER_EXPIRES = 0xffffffff;

/**
 * The Delivery every QoS 0 message is sent with, instead of one object per delivery: QoS 0 is not
 * kept, and sendPublish reads it before anything it calls could deliver again.
 */
const NO_MESSAGE: BrokerMessage = { topic: '', payload: Buffer.alloc(0), qos: 0, retain: false };
const QOS0_DELIVERY: Delivery = { message: NO_MESSAGE, qos: 0, retain: false, subscriptionIdentifiers: undefined };

/** What an idle session shows for its in-flight table before it has one. */
const NO_INFLIGHT: ReadonlyMap<number, InflightEntry> = new Map();

export class Session {
  outlet: SessionOutlet | null = null;
  // The collections below are created on first use: an idle client's session holds none of them.
  private subscriptionMap: Map<string, SessionSubscription> | null = null;
  private inflightMap: Map<number, InflightEntry> | null = null;
  private inboundQos2Set: Set<number> | null = null;
  /** Seconds the session outlives its connection; SESSION_NEVER_EXPIRES = forever. */
  sessionExpiryInterval = 0;
  /** Outbound in-flight window: min(client's Receive Maximum, maxInflightMessages). */
  window: number;
  expiryTimer: NodeJS.Timeout | undefined;
  /** A Will Message waiting for its Will Delay Interval or the end of the session. */
  pendingWill: WillMessage | undefined;
  /** The Will of the connection on this session now, kept with the session so a restart finds it. */
  connectionWill: WillMessage | undefined;
  willTimer: NodeJS.Timeout | undefined;
  /** Who the Will is published as (authorizePublish is asked when it goes); kept past the connection. */
  willPublisher: ClientHandle | undefined;
  disconnectedAt: number | undefined;
  /** Protocol level of the client that last connected to the session (RETAIN and 5.0-only fields). */
  protocolVersion = 4;
  /** The client that last connected is a 3.1/3.1.1 bridge (try_private): RETAIN goes to it as published. */
  remoteBridge = false;

  journal: SessionJournal | null = null;
  /** Checked as each message goes to the client (live, retained, from the queue); undefined costs nothing. */
  authorizeRead: ReadAuthorizer | undefined;

  /** Scratch state of the router while it matches one message (see Router). */
  matchStamp = 0;
  matchQos: QoS = 0;
  matchRetainAsPublished = false;
  matchIds: number[] | null = null;

  /** Payload bytes in the queue, bounded by maxQueuedBytes (0 = no bound). */
  queuedBytes = 0;
  maxQueuedBytes = 0;

  private queue: Delivery[] = [];
  private queueHead = 0;
  private nextPacketId = 1;

  constructor(
    readonly clientId: string,
    private readonly maxQueued: number,
    window: number,
    private readonly onDrop: DropHandler,
  ) {
    this.window = window;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Subscriptions by topic filter. */
  get subscriptions(): Map<string, SessionSubscription> {
    return (this.subscriptionMap ??= new Map());
  }

  get subscriptionCount(): number {
    return this.subscriptionMap === null ? 0 : this.subscriptionMap.size;
  }

  /** Outbound QoS 1/2 by packet id, in the order they were first sent (Map keeps insertion order). */
  get inflight(): Map<number, InflightEntry> {
    return (this.inflightMap ??= new Map());
  }

  /** Inbound QoS 2 packet ids whose PUBLISH was delivered and whose PUBREL has not come yet. */
  get inboundQos2(): Set<number> {
    return (this.inboundQos2Set ??= new Set());
  }

  /** The in-flight table as it is, without creating it. */
  private get inflightNow(): ReadonlyMap<number, InflightEntry> {
    return this.inflightMap ?? NO_INFLIGHT;
  }

  /**
   * Sends or queues one delivery. QoS 0 goes only to a connected client (not queued while offline);
   * QoS 1/2 goes out while the window has room, else waits in the bounded queue.
   */
  deliver(message: BrokerMessage, qos: QoS, retain: boolean, subscriptionIdentifiers: number[] | undefined, now: number): void {
    const outlet = this.outlet;
    if (qos === 0) {
      if (outlet === null) return;
      if (isExpired(message, now)) return this.onDrop(message, this.clientId, 'expired');
      if (!outlet.writable()) return this.onDrop(message, this.clientId, 'buffer-full');
      if (this.authorizeRead !== undefined && !this.authorizeRead(outlet, message.topic, message)) {
        return this.onDrop(message, this.clientId, 'not-authorized');
      }
      const delivery = QOS0_DELIVERY;
      delivery.message = message;
      delivery.retain = retain;
      delivery.subscriptionIdentifiers = subscriptionIdentifiers;
      const sent = outlet.sendPublish(delivery, undefined, false);
      delivery.message = NO_MESSAGE; // keeps no message alive
      delivery.subscriptionIdentifiers = undefined;
      if (!sent) this.onDrop(message, this.clientId, 'too-large');
      return;
    }
    const delivery: Delivery = {
      message,
      qos,
      retain,
      subscriptionIdentifiers: subscriptionIdentifiers === undefined ? undefined : subscriptionIdentifiers.slice(),
    };
    if (outlet !== null && this.queued === 0 && this.inflightNow.size < this.window) {
      this.send(delivery, now);
      return;
    }
    // 0 = no limit, as Mosquitto's max_queued_messages
    if (this.maxQueued > 0 && this.queued >= this.maxQueued) {
      this.onDrop(message, this.clientId, 'queue-full');
      return;
    }
    if (this.maxQueuedBytes > 0 && this.queuedBytes + message.payload.length > this.maxQueuedBytes) {
      this.onDrop(message, this.clientId, 'queue-full');
      return;
    }
    this.queuedBytes += message.payload.length;
    detachPayload(message);
    this.queue.push(delivery);
    this.journal?.queued(this, delivery);
  }

  /** PUBACK for a QoS 1 delivery; false when no such delivery is in flight. */
  puback(packetId: number, now: number): boolean {
    const entry = this.inflightNow.get(packetId);
    if (entry === undefined || entry.qos !== 1) return false;
    this.inflight.delete(packetId);
    this.journal?.released(this, packetId);
    this.drain(now);
    return true;
  }

  /**
   * PUBREC for a QoS 2 delivery: the PUBREL to send, or, with a failure reason code, the end of the
   * flow [MQTT-4.3.3-4]. False when the packet id is unknown.
   */
  pubrec(packetId: number, reasonCode: number, now: number): boolean {
    const entry = this.inflightNow.get(packetId);
    if (entry === undefined || entry.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      this.inflight.delete(packetId);
      this.journal?.released(this, packetId);
      this.drain(now);
      return true;
    }
    if (entry.state === 'publish') {
      entry.state = 'pubrel';
      this.journal?.inflight(this, entry);
    }
    this.outlet?.sendPubrel(packetId);
    return true;
  }

  /** PUBCOMP ends a QoS 2 delivery; false when no PUBREL with that id is outstanding. */
  pubcomp(packetId: number, now: number): boolean {
    const entry = this.inflightNow.get(packetId);
    if (entry === undefined || entry.state !== 'pubrel') return false;
    this.inflight.delete(packetId);
    this.journal?.released(this, packetId);
    this.drain(now);
    return true;
  }

  /**
   * The client (re)connected: unacknowledged PUBLISHes go again with DUP set and PUBRELs again, in
   * their original order [MQTT-4.4.0-1], [MQTT-4.6.0-1], then the queue drains into the window.
   */
  attach(outlet: SessionOutlet, window: number, now: number): void {
    this.outlet = outlet;
    this.window = window;
    this.disconnectedAt = undefined;
    for (const entry of this.inflightNow.values()) {
      if (entry.state === 'pubrel') outlet.sendPubrel(entry.packetId);
      else if (!outlet.sendPublish(entry, entry.packetId, true)) {
        this.inflight.delete(entry.packetId);
        this.journal?.released(this, entry.packetId);
        this.onDrop(entry.message, this.clientId, 'too-large');
      }
    }
    this.drain(now);
  }

  detach(now: number): void {
    this.outlet = null;
    this.disconnectedAt = now;
  }

  /** Deliveries waiting behind the window, in order (for saving the session). */
  queuedDeliveries(): Delivery[] {
    return this.queue.slice(this.queueHead);
  }

  /** The session ends: what is queued or in flight is lost. */
  discard(): void {
    for (let i = this.queueHead; i < this.queue.length; i++) this.onDrop(this.queue[i].message, this.clientId, 'session-ended');
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.inflightMap = null;
    this.inboundQos2Set = null;
  }

  /** Moves queued deliveries into the window while the client is connected; expired ones are dropped. */
  drain(now: number): void {
    let moved = 0;
    while (this.outlet !== null && this.queueHead < this.queue.length && this.inflightNow.size < this.window) {
      const delivery = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined as unknown as Delivery;
      this.queuedBytes -= delivery.message.payload.length;
      this.send(delivery, now); // an expired one is dropped and leaves the window as it was
      moved++;
    }
    // recorded after the in-flight entries: a crash between the writes may repeat a message, never lose it
    if (moved > 0) this.journal?.dequeued(this, moved);
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private send(delivery: Delivery, now: number): void {
    if (isExpired(delivery.message, now)) {
      this.onDrop(delivery.message, this.clientId, 'expired');
      return;
    }
    // read authorization at the moment of sending, so a message queued meanwhile is checked too
    if (this.authorizeRead !== undefined && !this.authorizeRead(this.outlet!, delivery.message.topic, delivery.message)) {
      this.onDrop(delivery.message, this.clientId, 'not-authorized');
      return;
    }
    const packetId = this.allocatePacketId();
    const entry = delivery as InflightEntry;
    entry.packetId = packetId;
    entry.state = 'publish';
    this.inflight.set(packetId, entry);
    if (!this.outlet!.sendPublish(entry, packetId, false)) {
      // larger than the client accepts: not sent at all [MQTT-3.1.2-25]
      this.inflight.delete(packetId);
      this.onDrop(delivery.message, this.clientId, 'too-large');
      return;
    }
    this.journal?.inflight(this, entry);
  }

  /** A packet id not in use by another outbound flow [MQTT-2.2.1-3]. */
  private allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflightNow.has(id)) return id;
    }
  }
}
