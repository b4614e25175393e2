// UNSUBSCRIBE (section 3.10.4): remove each filter; UNSUBACK carries, under 5.0, a reason code per
// filter: 0x00, or 0x11 No subscription existed [MQTT-3.11.3-1].
import { ProtocolError, ReasonCode, type UnsubscribePacket } from '../../codec';
import { validateTopicFilter } from '../../topics';
import type { Connection } from '../connection';
import { mountUnsubscribe } from '../mount-point';
import { removeSubscriptions } from '../persistence';

export function handleUnsubscribe(c: Connection, p: UnsubscribePacket): void {
  const mountPoint = c.listener?.mountPoint;
  if (mountPoint !== undefined && mountPoint !== '') p = mountUnsubscribe(mountPoint, p);
  const core = c.core;
  const session = c.session!;
  const reasonCodes: number[] = [];
  const removed: string[] = [];
  const v5 = c.protocolVersion === 5;
  // 3.1.1: a malformed filter closes the connection [MQTT-4.7.1-2], before anything is removed
  if (!v5) {
    const invalid = p.topicFilters.find((f) => !validateTopicFilter(f));
    if (invalid !== undefined) throw new ProtocolError(ReasonCode.MalformedPacket, `invalid topic filter "${invalid}" [MQTT-4.7.1-2]`);
  }
  for (const topicFilter of p.topicFilters) {
    if (!validateTopicFilter(topicFilter)) {
      reasonCodes.push(ReasonCode.TopicFilterInvalid); // 5.0: that filter alone
      continue;
    }
    if (core.router.unsubscribe(session, topicFilter)) {
      removed.push(topicFilter);
      reasonCodes.push(0x00);
    } else {
      reasonCodes.push(0x11);
    }
  }
  removeSubscriptions(core, session, removed);
  // UNSUBACK even when nothing was subscribed [MQTT-3.10.4-5]
  c.send({ type: 'unsuback', packetId: p.packetId, reasonCodes: v5 ? reasonCodes : undefined });
  if (removed.length > 0 && core.listenerCount('unsubscribed') > 0) core.emit('unsubscribed', session.clientId, removed);
}
