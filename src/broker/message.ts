// An application message as the broker routes it: what was published, once, shared by every recipient.
import type { Properties, QoS } from '../codec/types';

export interface BrokerMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  /** The RETAIN flag as published. */
  retain: boolean;
  /** Properties to forward (5.0); never a Topic Alias or Subscription Identifier, those are per hop. */
  properties?: Properties;
  /** Epoch ms after which the message is no longer delivered (Message Expiry Interval), if any. */
  expiresAt?: number;
  /** Client identifier of the publisher (No Local); undefined when the broker itself publishes. */
  origin?: string;
}

/** Remaining Message Expiry Interval in whole seconds at `now`, or undefined when the message does not expire. */
export function remainingExpiry(message: BrokerMessage, now: number): number | undefined {
  if (message.expiresAt === undefined) return undefined;
  return Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
}

export function isExpired(message: BrokerMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/**
 * A decoded payload is a view into the socket's read chunk, which may hold much other traffic. A message
 * kept beyond the moment it is routed (retained, queued for a client) gets an exact-size copy of its own,
 * made once for all its recipients, so one small kept payload does not pin a whole chunk.
 */
export function detachPayload(message: BrokerMessage): void {
  const payload = message.payload;
  if (payload.length === 0 || payload.buffer.byteLength === payload.length) return;
  const copy = Buffer.allocUnsafeSlow(payload.length);
  payload.copy(copy);
  message.payload = copy;
}
