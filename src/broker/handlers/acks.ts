// PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and 2 flows (section 4.3), through the session's
// in-flight table indexed by packet id.
import { ProtocolError, ReasonCode, type PubAckLikePacket } from '../../codec';
import type { Connection } from '../connection';
import { saveInboundQos2 } from '../persistence';

/**
 * An acknowledgement that did not fit: an unknown packet id is ignored (nothing to free), but one of the
 * wrong kind for a delivery in flight (PUBREC or PUBCOMP for QoS 1, PUBACK for QoS 2, PUBCOMP before
 * PUBREC) breaks the flow's order [MQTT-4.3.2-1], [MQTT-4.3.3-1]: the connection closes, as Mosquitto's.
 */
function unexpectedAck(c: Connection, p: PubAckLikePacket): void {
  const entry = c.session!.inflight.get(p.packetId);
  if (entry !== undefined) {
    const awaited = entry.qos === 1 ? 'PUBACK' : entry.state === 'publish' ? 'PUBREC' : 'PUBCOMP';
    throw new ProtocolError(ReasonCode.ProtocolError, `${p.type.toUpperCase()} for packet id ${p.packetId}, a QoS ${entry.qos} delivery awaiting ${awaited}`);
  }
  c.core.log.debug(`client ${c.label()} ${p.type.toUpperCase()} for unknown packet id ${p.packetId}`);
}

/** PUBACK for an outbound QoS 1 PUBLISH. */
export function handlePuback(c: Connection, p: PubAckLikePacket): void {
  if (!c.session!.puback(p.packetId, Date.now())) unexpectedAck(c, p);
}

/** PUBREC for an outbound QoS 2 PUBLISH: answered with PUBREL [MQTT-4.3.3-3]; unknown id: PUBREL 0x92 (5.0). */
export function handlePubrec(c: Connection, p: PubAckLikePacket): void {
  if (c.session!.pubrec(p.packetId, p.reasonCode ?? 0, Date.now())) return;
  unexpectedAck(c, p);
  if ((p.reasonCode ?? 0) < 0x80) {
    c.send({ type: 'pubrel', packetId: p.packetId, reasonCode: c.protocolVersion === 5 ? 0x92 : undefined });
  }
}

/** PUBREL for an inbound QoS 2 PUBLISH: the packet id is free again, PUBCOMP [MQTT-4.3.3-11]. */
export function handlePubrel(c: Connection, p: PubAckLikePacket): void {
  const session = c.session!;
  const known = session.inboundQos2.delete(p.packetId);
  // with a store, PUBCOMP waits until the released id is written
  const written = known ? saveInboundQos2(c.core, session) : undefined;
  c.acknowledge(written, { type: 'pubcomp', packetId: p.packetId, reasonCode: c.protocolVersion === 5 && !known ? 0x92 : undefined });
}

export function handlePubcomp(c: Connection, p: PubAckLikePacket): void {
  if (!c.session!.pubcomp(p.packetId, Date.now())) unexpectedAck(c, p);
}
