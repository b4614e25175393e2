// PUBACK, PUBREC, PUBREL and PUBCOMP: the QoS 1 and 2 flows (section 4.3), through the session's
// in-flight table indexed by packet id.
import type { PubAckLikePacket } from '../../codec';
import type { Connection } from '../connection';
import { saveInboundQos2 } from '../persistence';

/** PUBACK for an outbound QoS 1 PUBLISH. An unknown id is ignored (nothing to free). */
export function handlePuback(c: Connection, p: PubAckLikePacket): void {
  if (!c.session!.puback(p.packetId, Date.now())) c.core.log.debug(`client ${c.label()} PUBACK for unknown packet id ${p.packetId}`);
}

/** PUBREC for an outbound QoS 2 PUBLISH: answered with PUBREL [MQTT-4.3.3-3]; unknown id: PUBREL 0x92 (5.0). */
export function handlePubrec(c: Connection, p: PubAckLikePacket): void {
  if (c.session!.pubrec(p.packetId, p.reasonCode ?? 0, Date.now())) return;
  c.core.log.debug(`client ${c.label()} PUBREC for unknown packet id ${p.packetId}`);
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
  if (!c.session!.pubcomp(p.packetId, Date.now())) c.core.log.debug(`client ${c.label()} PUBCOMP for unknown packet id ${p.packetId}`);
}
