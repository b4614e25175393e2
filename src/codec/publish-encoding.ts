// Fan-out of one PUBLISH to many recipients: the parts every copy shares (topic, properties other than
// the per-recipient ones, payload) are encoded once; each recipient costs a small header at most.
import { PacketTypeCode } from './types';
import type { Properties, ProtocolVersion, QoS } from './types';
import {
  MAX_VARIABLE_BYTE_INTEGER, checkPacketId, checkTwoByteInteger, utf8StringLength, variableByteIntegerLength,
  writeFourByteInteger, writeTwoByteInteger, writeUtf8String, writeVariableByteInteger,
} from './primitives';
import { propertiesLength, writeProperties } from './properties';
import { hasWildcard, publish, publishFirstByte } from './packets/publish';
import type { PublishPacket } from './types';

const PUBLISH = PacketTypeCode.publish;
const MESSAGE_EXPIRY_INTERVAL = 0x02, SUBSCRIPTION_IDENTIFIER = 0x0b, TOPIC_ALIAS = 0x23;

/** The message as it is shared by all recipients. */
export interface PublishMessage {
  topic: string;
  payload: Buffer;
  /** 5.0 properties; subscriptionIdentifiers and topicAlias here are ignored (they belong to a recipient). */
  properties?: Properties;
}

/** What differs per recipient. The 5.0-only fields are ignored for levels 3 and 4. */
export interface PublishRecipient {
  protocolVersion: ProtocolVersion;
  qos: QoS;
  retain: boolean;
  /** Only meaningful at QoS > 0 [MQTT-3.3.1-2]. */
  dup?: boolean;
  /** Required when qos > 0. */
  packetId?: number;
  /** The identifiers of the recipient's matching subscriptions [MQTT-3.3.4-3]. */
  subscriptionIdentifiers?: number[];
  topicAlias?: number;
  /** Send an empty topic name: the recipient already knows `topicAlias` (section 3.3.2.3.4). */
  omitTopic?: boolean;
  /** The remaining lifetime [MQTT-3.3.2-6]; undefined keeps the message's own messageExpiryInterval. */
  messageExpiryInterval?: number;
}

interface Template {
  head: Buffer;
  /** Where the packet identifier goes in `head`, or -1 at QoS 0. */
  packetIdAt: number;
  /** The whole packet at QoS 0, built on first use. */
  whole?: Buffer;
}

/**
 * A PUBLISH encoded once and patched per recipient, for a broker's fan-out:
 *
 *     const enc = new PublishEncoding({ topic, payload, properties });
 *     for (const s of subscribers) s.socket.write(enc.encode({ protocolVersion: s.version, qos, retain, packetId }));
 *     // or, to avoid copying a large payload, write the parts in order (cork/uncork, or writev):
 *     for (const part of enc.buffers(recipient)) socket.write(part);
 *
 * The topic and the shared properties are validated and encoded in the constructor (which throws
 * TypeError like `encode`). Recipients without per-recipient properties share a cached header per
 * (protocol version, qos, dup, retain); at QoS 0 the very same Buffer is returned each time, so callers
 * must not modify what they get. Per-recipient properties (subscription identifiers, topic alias,
 * message expiry) build a fresh header of a few dozen bytes; the payload is never copied by `buffers`.
 */
export class PublishEncoding {
  readonly topic: string;
  readonly payload: Buffer;
  private readonly topicLength: number;
  private readonly topicBytes: Buffer;
  private readonly messageExpiryInterval: number | undefined;
  /** Shared 5.0 properties (all but the per-recipient ones), encoded without length prefix. */
  private readonly sharedProperties: Buffer;
  private readonly templates: (Template | undefined)[] = new Array(24).fill(undefined);

  constructor(message: PublishMessage) {
    if (!Buffer.isBuffer(message.payload)) throw new TypeError('payload must be a Buffer');
    if (hasWildcard(message.topic)) throw new TypeError(`topic "${message.topic}" contains a wildcard [MQTT-3.3.2-2]`);
    this.topic = message.topic;
    this.payload = message.payload;
    this.topicLength = utf8StringLength(message.topic, 'topic');
    this.topicBytes = Buffer.allocUnsafe(this.topicLength);
    writeUtf8String(this.topicBytes, 0, message.topic);
    // Subscription identifiers, topic alias and message expiry are written per recipient.
    const shared: Properties = { ...message.properties };
    delete shared.subscriptionIdentifiers;
    delete shared.topicAlias;
    delete shared.messageExpiryInterval;
    const messageExpiryInterval = message.properties?.messageExpiryInterval;
    this.messageExpiryInterval = messageExpiryInterval;
    if (messageExpiryInterval !== undefined) propertiesLength({ messageExpiryInterval }, PUBLISH);
    const len = propertiesLength(shared, PUBLISH);
    this.sharedProperties = Buffer.allocUnsafe(len);
    writeProperties(this.sharedProperties, 0, shared);
  }

  /** Whole packet size for this recipient, to compare with its Maximum Packet Size. */
  length(r: PublishRecipient): number {
    const remaining = this.headRemaining(r) + this.payload.length;
    return 1 + variableByteIntegerLength(remaining) + remaining;
  }

  /** The packet as parts to write in order: header, then the payload (not copied) if not empty. */
  buffers(r: PublishRecipient): Buffer[] {
    const head = this.head(r);
    return this.payload.length === 0 ? [head] : [head, this.payload];
  }

  /** The packet as one Buffer. */
  encode(r: PublishRecipient): Buffer {
    const t = this.cacheable(r) ? this.template(r) : undefined;
    if (t !== undefined && t.packetIdAt < 0) {
      if (t.whole === undefined) t.whole = Buffer.concat([t.head, this.payload]);
      return t.whole;
    }
    const head = t !== undefined ? this.patched(t, r) : this.build(r);
    const out = Buffer.allocUnsafe(head.length + this.payload.length);
    head.copy(out, 0);
    this.payload.copy(out, head.length);
    return out;
  }

  private head(r: PublishRecipient): Buffer {
    if (!this.cacheable(r)) return this.build(r);
    const t = this.template(r);
    return t.packetIdAt < 0 ? t.head : this.patched(t, r);
  }

  private cacheable(r: PublishRecipient): boolean {
    return (
      r.protocolVersion !== 5 ||
      ((r.subscriptionIdentifiers === undefined || r.subscriptionIdentifiers.length === 0) &&
        r.topicAlias === undefined &&
        r.messageExpiryInterval === undefined &&
        !r.omitTopic)
    );
  }

  private template(r: PublishRecipient): Template {
    const qos = r.qos;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`qos ${String(qos)} [MQTT-3.3.1-4]`);
    const slot = (r.protocolVersion === 5 ? 12 : 0) + ((qos << 2) | (r.dup ? 2 : 0) | (r.retain ? 1 : 0));
    let t = this.templates[slot];
    if (t === undefined) {
      // Built with a placeholder identifier, patched per recipient.
      const head = this.build({ ...r, packetId: qos > 0 ? 1 : undefined });
      const packetIdAt = qos > 0 ? head.length - this.propertyBlockLength(r) - 2 : -1;
      t = { head, packetIdAt };
      this.templates[slot] = t;
    }
    return t;
  }

  private patched(t: Template, r: PublishRecipient): Buffer {
    const id = checkPacketId(r.packetId);
    const head = Buffer.allocUnsafe(t.head.length);
    t.head.copy(head, 0);
    writeTwoByteInteger(head, t.packetIdAt, id);
    return head;
  }

  /** Bytes after the packet identifier up to the payload: Property Length and the properties (5.0). */
  private propertyBlockLength(r: PublishRecipient): number {
    if (r.protocolVersion !== 5) return 0;
    const pl = this.recipientPropertiesLength(r) + this.sharedProperties.length;
    return variableByteIntegerLength(pl) + pl;
  }

  private recipientPropertiesLength(r: PublishRecipient): number {
    let len = 0;
    const expiry = r.messageExpiryInterval ?? this.messageExpiryInterval;
    if (expiry !== undefined) len += 5;
    if (r.topicAlias !== undefined) len += 3;
    if (r.subscriptionIdentifiers !== undefined) {
      for (const id of r.subscriptionIdentifiers) len += 1 + variableByteIntegerLength(id);
    }
    return len;
  }

  private headRemaining(r: PublishRecipient): number {
    const topicLength = r.protocolVersion === 5 && r.omitTopic ? 2 : this.topicLength;
    return topicLength + (r.qos > 0 ? 2 : 0) + this.propertyBlockLength(r);
  }

  private checkRecipient(r: PublishRecipient): void {
    const { qos, protocolVersion: v } = r;
    if (v !== 3 && v !== 4 && v !== 5) throw new TypeError(`protocol version ${String(v)} is not 3, 4 or 5`);
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`qos ${String(qos)} [MQTT-3.3.1-4]`);
    if (qos > 0) checkPacketId(r.packetId);
    if (v !== 5) {
      if (this.topic.length === 0) throw new TypeError('empty topic name [MQTT-4.7.3-1]');
      return;
    }
    if (r.topicAlias !== undefined) checkTwoByteInteger(r.topicAlias, 'topicAlias', 1);
    if ((r.omitTopic || this.topic.length === 0) && r.topicAlias === undefined) {
      throw new TypeError('an empty topic name needs a topicAlias (section 3.3.2.1)');
    }
    const expiry = r.messageExpiryInterval;
    if (expiry !== undefined && (!Number.isInteger(expiry) || expiry < 0 || expiry > 0xffff_ffff)) {
      throw new TypeError(`messageExpiryInterval ${expiry}`);
    }
    for (const id of r.subscriptionIdentifiers ?? []) {
      if (!Number.isInteger(id) || id < 1 || id > MAX_VARIABLE_BYTE_INTEGER) {
        throw new TypeError(`subscription identifier ${id} is not 1..268435455`);
      }
    }
  }

  /** Fixed header, variable header and properties for one recipient, without the payload. */
  private build(r: PublishRecipient): Buffer {
    this.checkRecipient(r);
    const headRemaining = this.headRemaining(r);
    const remaining = headRemaining + this.payload.length;
    if (remaining > MAX_VARIABLE_BYTE_INTEGER) throw new TypeError(`packet of ${remaining} bytes is too large for MQTT`);
    const head = Buffer.allocUnsafe(1 + variableByteIntegerLength(remaining) + headRemaining);
    head[0] = publishFirstByte[(r.qos << 2) | (r.dup ? 2 : 0) | (r.retain ? 1 : 0)];
    let pos = writeVariableByteInteger(head, 1, remaining);
    if (r.protocolVersion === 5 && r.omitTopic) {
      head[pos++] = 0;
      head[pos++] = 0;
    } else {
      pos += this.topicBytes.copy(head, pos);
    }
    if (r.qos > 0) pos = writeTwoByteInteger(head, pos, r.packetId as number);
    if (r.protocolVersion === 5) {
      pos = writeVariableByteInteger(head, pos, this.recipientPropertiesLength(r) + this.sharedProperties.length);
      const expiry = r.messageExpiryInterval ?? this.messageExpiryInterval;
      if (expiry !== undefined) {
        head[pos++] = MESSAGE_EXPIRY_INTERVAL;
        pos = writeFourByteInteger(head, pos, expiry);
      }
      if (r.topicAlias !== undefined) {
        head[pos++] = TOPIC_ALIAS;
        pos = writeTwoByteInteger(head, pos, r.topicAlias);
      }
      for (const id of r.subscriptionIdentifiers ?? []) {
        head[pos++] = SUBSCRIPTION_IDENTIFIER;
        pos = writeVariableByteInteger(head, pos, id);
      }
      pos += this.sharedProperties.copy(head, pos);
    }
    return head;
  }
}

/**
 * Remaining Length of a PUBLISH, with the checks `encode` makes (TypeError). With writePublishAt, a
 * caller encodes into a buffer of its own, e.g. many small PUBLISHes one after another in one buffer.
 */
export function publishRemainingLength(packet: PublishPacket, protocolVersion: ProtocolVersion): number {
  if (protocolVersion !== 3 && protocolVersion !== 4 && protocolVersion !== 5) throw new TypeError(`protocol version ${String(protocolVersion)} is not 3, 4 or 5`);
  const remaining = publish.remainingLength(packet, protocolVersion);
  if (remaining > MAX_VARIABLE_BYTE_INTEGER) throw new TypeError(`packet of ${remaining} bytes is too large for MQTT`);
  return remaining;
}

/** Writes the whole PUBLISH (Remaining Length from publishRemainingLength) at buf[pos]; returns where it ends. */
export function writePublishAt(packet: PublishPacket, protocolVersion: ProtocolVersion, remaining: number, buf: Buffer, pos: number): number {
  buf[pos] = publish.firstByte(packet);
  return publish.write(packet, protocolVersion, buf, writeVariableByteInteger(buf, pos + 1, remaining));
}
