// The records the session keeps per command: what the caller waits for, and the packet it sent.
import type { Properties, PubAckLikePacket, PublishPacket, SubscribePacket, Subscription, UnsubscribePacket } from '../codec/types';

export interface SubscriptionResult {
  topicFilter: string;
  /** The granted QoS; the requested one when the subscription failed. */
  qos: number;
  /** Granted QoS (0..2) or a failure code (0x80 in 3.1.1, >= 0x80 in 5.0) [MQTT-3.9.3-1]. */
  reasonCode: number;
}

export interface UnsubscriptionResult {
  topicFilter: string;
  /** 5.0 reason code; 0 (Success) under 3.1.1, which has none. */
  reasonCode: number;
}

export interface Settle<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** A PUBLISH in flight: waits for PUBACK, or PUBREC then PUBCOMP. */
export interface PublishFlow extends Settle<PubAckLikePacket | undefined> {
  kind: 'publish';
  packet: PublishPacket;
  awaiting: 'puback' | 'pubrec' | 'pubcomp';
  /** Sent on the current connection (counts against the server's Receive Maximum). */
  onWire: boolean;
}

export interface SubscribeFlow extends Settle<SubscriptionResult[]> {
  kind: 'subscribe';
  packet: SubscribePacket;
}

export interface UnsubscribeFlow extends Settle<UnsubscriptionResult[]> {
  kind: 'unsubscribe';
  packet: UnsubscribePacket;
}

export type Flow = PublishFlow | SubscribeFlow | UnsubscribeFlow;

/** A subscription the caller made, kept to subscribe again when the server lost the session. */
export interface KnownSubscription {
  subscription: Subscription;
  properties?: Properties;
}
