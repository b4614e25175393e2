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

export type DropReason = 'queue-full' | 'expired' | 'too-large' | 'buffer-full' | 'session-ended' | 'not-authorized';

export interface BrokerEvents {
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
