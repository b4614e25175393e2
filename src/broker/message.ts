// An application message as the broker routes it: what was published, once, shared by every recipient.
import { variableByteIntegerLength, writeVariableByteInteger } from '../codec/primitives';
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
  /** With checkRetainSource, on a retained message: the publisher's username, if it had one. */
  originUsername?: string;
  /** With checkRetainSource, on a retained message: the index of the publisher's listener in the options. */
  originListener?: number;
  /**
   * A stored retained message as its PUBLISH for 3.1 and 3.1.1 at QoS 0 with RETAIN 1, built once as
   * it is stored (see keepRetained); `payload` is then a view into it. Read-only: shared by recipients.
   * Not enumerable, so a store that copies a message's fields (DiskStore) does not write it.
   */
  readonly retainedPacket?: Buffer;
}

/**
 * The message alone, as a store keeps it: its fields above and nothing else. A connection caches how
 * it encoded a message for its recipients on the message itself (connection.ts); that cache is no
 * part of the message, and written to a store and read back it would be an object without its methods
 * (a restored in-flight message then failed to go out again).
 */
export function messageFields(m: BrokerMessage): BrokerMessage {
  const out: BrokerMessage = { topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain };
  if (m.properties !== undefined) out.properties = m.properties;
  if (m.expiresAt !== undefined) out.expiresAt = m.expiresAt;
  if (m.origin !== undefined) out.origin = m.origin;
  if (m.originUsername !== undefined) out.originUsername = m.originUsername;
  if (m.originListener !== undefined) out.originListener = m.originListener;
  return out;
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
  if (payload.length === 0 || payload.buffer.byteLength === payload.length || message.retainedPacket !== undefined) return;
  const copy = Buffer.allocUnsafeSlow(payload.length);
  payload.copy(copy);
  message.payload = copy;
}

/**
 * A retained message about to be stored: instead of a bare copy of its payload (detachPayload), it gets
 * the PUBLISH a 3.1.1 subscriber at QoS 0 receives, in one exact-size buffer, its payload a view into
 * that. Each new subscription then copies the packet as it is rather than encoding it again.
 */
export function keepRetained(message: BrokerMessage): void {
  const payload = message.payload;
  if (payload.length === 0 || message.retainedPacket !== undefined) return; // an empty one is not stored [MQTT-3.3.1-10]
  const topicLength = Buffer.byteLength(message.topic);
  const remaining = 2 + topicLength + payload.length;
  const packet = Buffer.allocUnsafeSlow(1 + variableByteIntegerLength(remaining) + remaining);
  packet[0] = 0x31; // PUBLISH, QoS 0, RETAIN 1
  let pos = writeVariableByteInteger(packet, 1, remaining);
  packet[pos++] = topicLength >> 8;
  packet[pos++] = topicLength & 0xff;
  pos += packet.write(message.topic, pos, 'utf8');
  packet.set(payload, pos);
  message.payload = packet.subarray(pos);
  Object.defineProperty(message, 'retainedPacket', { value: packet, enumerable: false });
}
