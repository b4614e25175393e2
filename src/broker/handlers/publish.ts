// Inbound PUBLISH (section 3.3.4): resolve the topic alias, check the topic and what the client may
// do, acknowledge by QoS, and route the message. QoS 2 is delivered when the PUBLISH first arrives;
// a re-sent PUBLISH with the same packet id before PUBREL is not delivered again [MQTT-4.3.3-10].
import { ProtocolError, ReasonCode, validatePayloadFormat, type PublishPacket } from '../../codec';
import { topicMatchesFilter, validateTopicName } from '../../topics';
import type { Connection } from '../connection';
import { ConnectionState } from '../connection-state';
import type { BrokerMessage } from '../message';
import { mountTopic } from '../mount-point';
import { noteRetainSource } from '../retain-source';
import { saveSession } from '../persistence';

export function handlePublish(c: Connection, p: PublishPacket): void | Promise<void> {
  const core = c.core;
  const options = core.options;
  const session = c.session!;
  const v5 = c.protocolVersion === 5;
  core.stats.publishReceived++;
  // maxPublishRate: a client beyond its rate is disconnected (5.0 0x96 Message rate too high; 3.1.1 has no code)
  if (c.publishBucket !== null && !c.publishBucket.take(Date.now())) {
    core.limits.hit('messages/dropped/rate', () => `PUBLISH on ${p.topic} from ${c.label()} dropped: more than maxPublishRate ${options.maxPublishRate}/s`);
    core.limits.hit('clients/disconnected/rate', () => `client ${c.label()} disconnected: more than maxPublishRate ${options.maxPublishRate}/s`);
    c.close('rate-limit', 0x96, 'message rate too high');
    return;
  }

  // Subscription Identifiers go from server to client only [MQTT-3.3.4-6]
  if (v5 && p.properties?.subscriptionIdentifiers !== undefined) {
    throw new ProtocolError(0x82, 'a PUBLISH from a client carries a Subscription Identifier [MQTT-3.3.4-6]');
  }
  let topic = p.topic;
  const alias = v5 ? p.properties?.topicAlias : undefined;
  if (alias !== undefined) {
    // 0 or above our Topic Alias Maximum [MQTT-3.3.2-8], [MQTT-3.3.2-9]
    if (alias === 0 || alias > options.topicAliasMaximum) throw new ProtocolError(0x94, `topic alias ${alias} out of range`);
    if (c.inboundAliases === null) c.inboundAliases = new Map();
    if (topic.length === 0) {
      const known = c.inboundAliases.get(alias);
      if (known === undefined) throw new ProtocolError(0x82, `unknown topic alias ${alias}`);
      topic = known;
    } else {
      c.inboundAliases.set(alias, topic);
    }
  }
  if (!validateTopicName(topic)) throw new ProtocolError(0x90, `invalid topic name "${topic}"`);
  if (p.qos > options.maximumQoS) throw new ProtocolError(0x9b, `QoS ${p.qos} not supported [MQTT-3.2.2-11]`);
  if (p.retain && !options.retainAvailable) throw new ProtocolError(0x9a, 'retain not supported [MQTT-3.2.2-14]');

  if (p.qos === 2 && session.inboundQos2.has(p.packetId!)) {
    // already delivered, PUBREL not yet received: acknowledge again, do not deliver again [MQTT-4.3.3-10]
    c.acknowledge(undefined, { type: 'pubrec', packetId: p.packetId! });
    return;
  }
  // A 5.0 client is told our Receive Maximum, yet common clients (MQTT.js, so Node-RED's own MQTT nodes)
  // do not hold to it. As Mosquitto queues what comes past it up to max_queued_messages, a client may have
  // that many more QoS 1/2 PUBLISHes without our PUBACK (one waiting for a store write) or PUBCOMP; past
  // that bound it is DISCONNECT 0x93 [MQTT-3.3.4-7]. 3.1.1 has no Receive Maximum.
  if (p.qos > 0 && v5) {
    const unacknowledged = session.inboundQos2.size + c.pubacksPending;
    if (unacknowledged >= options.receiveMaximum + (options.maxQueuedMessages > 0 ? options.maxQueuedMessages : 65535)) {
      throw new ProtocolError(ReasonCode.ReceiveMaximumExceeded, `more than ${unacknowledged} QoS 1/2 PUBLISHes unacknowledged, past the Receive Maximum of ${options.receiveMaximum} and max_queued_messages [MQTT-3.3.4-7]`);
    }
  }

  if (v5) {
    const invalid = validatePayloadFormat(p);
    if (invalid !== null) {
      if (p.qos === 0) throw invalid;
      return acknowledge(c, p, invalid.reasonCode, invalid.message);
    }
  }
  // Clients never publish into $SYS but for a bridge's connection state, nor to $share (as Mosquitto):
  // dropped, 5.0 acknowledges with Not authorized
  if (reservedForTheBroker(topic)) return acknowledge(c, p, ReasonCode.NotAuthorized, `publishing to ${topic.startsWith('$SYS') ? '$SYS' : '$share'} is not allowed`);
  // a listener's mount point prefixes the topic before the ACL sees it, as in Mosquitto
  const mountPoint = c.listener?.mountPoint;
  if (mountPoint !== undefined && mountPoint !== '') topic = mountTopic(mountPoint, topic);
  if (options.messageSizeLimit > 0 && p.payload.length > options.messageSizeLimit) {
    core.limits.hit('messages/dropped/message-size', () => `client ${c.label()} published ${p.payload.length} bytes on ${topic}, more than messageSizeLimit ${options.messageSizeLimit}`);
    return acknowledge(c, p, 0x97, 'message size limit exceeded');
  }

  // a part of the broker (a bridge) publishes what its topic lines carry: no hook is asked
  const authorize = c.internal ? undefined : options.authorizePublish;
  if (authorize !== undefined) {
    const verdict = topic === p.topic ? authorize(c, p) : authorize(c, { ...p, topic });
    if (verdict instanceof Promise) return verdict.then((v) => afterAuthorize(c, p, topic, v));
    return afterAuthorize(c, p, topic, verdict);
  }
  accept(c, p, topic);
}

/** $SYS topics but `$SYS/broker/connection/{id}/state` (what a remote bridge reports there), and $share topics. */
function reservedForTheBroker(topic: string): boolean {
  if (topic.charCodeAt(0) !== 0x24 /* $ */) return false;
  if (topic.startsWith('$SYS')) return !topicMatchesFilter('$SYS/broker/connection/+/state', topic);
  return topic.startsWith('$share');
}

function afterAuthorize(c: Connection, p: PublishPacket, topic: string, verdict: boolean | number): void {
  if (c.state !== ConnectionState.Connected) return; // the client left while the hook decided
  if (verdict === true || verdict === 0) return accept(c, p, topic);
  acknowledge(c, p, verdict === false ? 0x87 : verdict, 'not authorized');
}

function accept(c: Connection, p: PublishPacket, topic: string): void {
  const message: BrokerMessage = {
    topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    origin: c.id,
  };
  if (p.retain) noteRetainSource(c.core, message, c.username, c.listener);
  const props = p.properties;
  if (props !== undefined) {
    // Topic Alias and Subscription Identifiers belong to one hop; everything else is forwarded unchanged [MQTT-3.3.2-17], [MQTT-3.3.2-18]
    const { topicAlias, subscriptionIdentifiers, ...forwarded } = props;
    void topicAlias;
    void subscriptionIdentifiers;
    if (Object.keys(forwarded).length > 0) message.properties = forwarded;
    if (forwarded.messageExpiryInterval !== undefined) message.expiresAt = Date.now() + forwarded.messageExpiryInterval * 1000;
  }
  const core = c.core;
  const session = c.session!;
  if (p.qos === 0) {
    core.publishMessage(message, c.id);
    return;
  }
  // 5.0 PUBACK: 0x10 No matching subscribers when no subscription matched (section 3.4.2.1); PUBREC
  // keeps 0x00, as Mosquitto's
  if (!core.persistent) {
    // the default path: no store to wait for, no closure or promise per message
    if (p.qos === 2) session.inboundQos2.add(p.packetId!);
    const matched = core.publishMessage(message, c.id);
    acknowledge(c, p, matched === 0 && p.qos === 1 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success);
    return;
  }
  // with a store, the acknowledgement waits until the message is written where it has to survive
  // (and, at QoS 2, the packet id too, so that a PUBLISH re-sent after a restart is not delivered again)
  let matched = 0;
  const written = core.collectWrites(() => {
    if (p.qos === 2) {
      session.inboundQos2.add(p.packetId!);
      saveSession(core, session);
    }
    matched = core.publishMessage(message, c.id);
  });
  acknowledge(c, p, matched === 0 && p.qos === 1 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success, undefined, written);
}

/** PUBACK (QoS 1) or PUBREC (QoS 2); QoS 0 gets nothing. A failure code ends a QoS 2 flow here. */
function acknowledge(c: Connection, p: PublishPacket, reasonCode: number, reasonString?: string, after?: Promise<unknown>): void {
  if (p.qos === 0) return;
  const v5 = c.protocolVersion === 5;
  // 3.1.1 has no way to refuse a PUBLISH: it is acknowledged as usual and dropped
  c.acknowledge(after, {
    type: p.qos === 1 ? 'puback' : 'pubrec',
    packetId: p.packetId!,
    reasonCode: v5 ? reasonCode : undefined,
    properties: v5 && reasonCode !== 0 && reasonString !== undefined ? { reasonString } : undefined,
  });
}
