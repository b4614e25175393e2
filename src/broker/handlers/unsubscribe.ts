// UNSUBSCRIBE (section 3.10.4): remove each filter; UNSUBACK carries, under 5.0, a reason code per
// filter: 0x00, or 0x11 No subscription existed [MQTT-3.11.3-1].
import type { UnsubscribePacket } from '../../codec';
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
  for (const topicFilter of p.topicFilters) {
    if (!validateTopicFilter(topicFilter)) {
      reasonCodes.push(0x8f);
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
  c.send({ type: 'unsuback', packetId: p.packetId, reasonCodes: c.protocolVersion === 5 ? reasonCodes : undefined });
  if (removed.length > 0 && core.listenerCount('unsubscribed') > 0) core.emit('unsubscribed', session.clientId, removed);
}
