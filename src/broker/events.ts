// Every event the broker emits, in one typed map.
import type { Packet, Subscription } from '../codec/types';
import type { BrokerMessage } from './message';

export interface ClientInfo {
  id: string;
  address: string;
  protocolVersion: number;
  /** Epoch ms of the CONNACK. */
  connectedSince: number;
  keepalive: number;
  username: string | undefined;
  subscriptions: number;
  inflight: number;
  queued: number;
  bytesIn: number;
  bytesOut: number;
}

/** A connection a listener accepted, before any packet: Mosquitto's "New connection from ..." line. */
export interface ConnectionOpened {
  address: string | undefined;
  port: number | undefined;
  /** The listener's port the connection came in on. */
  listenerPort: number | undefined;
}

export type DropReason = 'queue-full' | 'expired' | 'too-large' | 'buffer-full' | 'session-ended' | 'not-authorized';

export interface BrokerEvents {
  /** Emitted only while something listens. */
  connectionOpened: [connection: ConnectionOpened];
  clientConnected: [client: ClientInfo];
  /** `reason`: 'disconnect', 'will-disconnect', 'closed', 'keepalive', 'takeover', 'protocol-error', 'shutdown', ... */
  clientDisconnected: [client: ClientInfo, reason: string];
  subscribed: [clientId: string, subscriptions: Subscription[]];
  unsubscribed: [clientId: string, topicFilters: string[]];
  /** An application message accepted for routing; clientId undefined when the broker published it. */
  published: [message: BrokerMessage, clientId: string | undefined];
  /** A message not delivered to `clientId`, and why. */
  dropped: [message: BrokerMessage, clientId: string, reason: DropReason];
  /** Packets as decoded / encoded, emitted only while something listens. */
  packetIn: [packet: Packet, clientId: string | undefined];
  packetOut: [packet: Packet, clientId: string | undefined];
  error: [error: Error];
}
