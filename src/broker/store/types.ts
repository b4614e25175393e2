// The broker's persistence interface: sessions, their subscriptions, queued and in-flight messages,
// and retained messages. Promise-based so that a disk or database store fits the same shape.
import type { QoS, Subscription, WillMessage } from '../../codec/types';
import type { BrokerMessage } from '../message';

/** A subscription as stored: the SUBSCRIBE options and the Subscription Identifier, if any. */
export interface StoredSubscription extends Subscription {
  subscriptionIdentifier?: number;
}

export interface StoredSession {
  clientId: string;
  protocolVersion: number;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = never expires. */
  sessionExpiryInterval: number;
  /** Epoch ms of the last disconnection, undefined while connected. */
  disconnectedAt?: number;
  will?: WillMessage;
  /**
   * Packet ids of QoS 2 PUBLISHes received and delivered whose PUBREL has not come yet: a PUBLISH
   * re-sent with one of them, even after a restart, is not delivered again [MQTT-4.3.3-10].
   */
  inboundQos2?: number[];
}

/** A message waiting for a client: the QoS and RETAIN flag it goes out with, its Subscription Identifiers. */
export interface StoredDelivery {
  message: BrokerMessage;
  qos: QoS;
  retain?: boolean;
  subscriptionIdentifiers?: number[];
}

/** An outbound QoS 1/2 message sent and not yet acknowledged, or a PUBREL awaiting PUBCOMP. */
export interface StoredInflight extends StoredDelivery {
  packetId: number;
  /** 'publish': awaiting PUBACK/PUBREC; 'pubrel': PUBREC received, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
}

export interface BrokerStore {
  /** Stores a retained message, replacing the one on its topic; an empty payload deletes it [MQTT-3.3.1-10]. */
  storeRetained(message: BrokerMessage): Promise<void>;
  getRetained(topic: string): Promise<BrokerMessage | undefined>;
  /** Retained messages whose topic matches the filter (no '$share/' prefix), '$' rule included. */
  matchRetained(topicFilter: string): Promise<BrokerMessage[]>;
  /**
   * The same as matchRetained, answered at once, for a store that holds its retained messages in
   * memory: a new subscription then gets them without waiting for a promise. Optional.
   */
  matchRetainedNow?(topicFilter: string): BrokerMessage[];
  countRetained(): Promise<number>;

  saveSession(session: StoredSession): Promise<void>;
  getSession(clientId: string): Promise<StoredSession | undefined>;
  /** Removes the session with its subscriptions, queue and in-flight messages. */
  deleteSession(clientId: string): Promise<void>;
  listSessions(): Promise<StoredSession[]>;

  /** Adds or replaces by topic filter. */
  addSubscriptions(clientId: string, subscriptions: StoredSubscription[]): Promise<void>;
  removeSubscriptions(clientId: string, topicFilters: string[]): Promise<void>;
  getSubscriptions(clientId: string): Promise<StoredSubscription[]>;

  /** Appends to the client's queue of messages waiting for it (offline or beyond the in-flight window). */
  enqueue(clientId: string, delivery: StoredDelivery): Promise<void>;
  /** The queue in order, without removing it. */
  getQueued(clientId: string): Promise<StoredDelivery[]>;
  /**
   * Removes the first `count` queued deliveries (they went into flight). Optional: without it the
   * broker rewrites the queue (clearQueued, then enqueue of what is left), which costs more.
   */
  dequeue?(clientId: string, count: number): Promise<void>;
  clearQueued(clientId: string): Promise<void>;

  putInflight(clientId: string, entry: StoredInflight): Promise<void>;
  removeInflight(clientId: string, packetId: number): Promise<void>;
  /** In-flight entries in the order they were first put. */
  getInflight(clientId: string): Promise<StoredInflight[]>;
  clearInflight(clientId: string): Promise<void>;

  close(): Promise<void>;
}
