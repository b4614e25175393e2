// DISCONNECT from the client (section 3.14.4): the Will is discarded [MQTT-3.14.4-3] unless 5.0 reason
// 0x04 Disconnect with Will Message; 5.0 may change the Session Expiry Interval, but not from 0.
import { ProtocolError, type DisconnectPacket } from '../../codec';
import type { Connection } from '../connection';

export function handleDisconnect(c: Connection, p: DisconnectPacket): void {
  const session = c.session!;
  const reasonCode = c.protocolVersion === 5 ? (p.reasonCode ?? 0) : 0;
  const expiry = c.protocolVersion === 5 ? p.properties?.sessionExpiryInterval : undefined;
  if (expiry !== undefined) {
    // a session that was to end with the connection cannot be extended here [MQTT-3.14.2-2]
    if (session.sessionExpiryInterval === 0 && expiry !== 0) {
      throw new ProtocolError(0x82, 'session expiry interval changed from 0 on DISCONNECT [MQTT-3.14.2-2]');
    }
    session.sessionExpiryInterval = expiry;
  }
  if (reasonCode !== 0x04) c.will = undefined;
  c.close(reasonCode === 0x04 ? 'will-disconnect' : 'disconnect');
}
