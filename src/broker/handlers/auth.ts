// AUTH (5.0 section 3.15, 4.12): continues an enhanced authentication started by CONNECT, or
// re-authenticates a connected client. Without an Authentication Method in CONNECT it is a protocol error.
import { ProtocolError, type AuthPacket } from '../../codec';
import type { Connection } from '../connection';
import { enhancedAuthStep } from './connect';

export function handleAuth(c: Connection, p: AuthPacket): void | Promise<void> {
  const method = c.authenticationMethod;
  const hook = c.core.options.enhancedAuthenticate;
  if (method === undefined || hook === undefined) throw new ProtocolError(0x82, 'AUTH without an authentication method in CONNECT (section 4.12)');
  if (p.properties?.authenticationMethod !== method) {
    throw new ProtocolError(0x82, 'AUTH with another authentication method [MQTT-4.12.0-5]');
  }
  const step = hook(c, { method, data: p.properties?.authenticationData });
  if (step instanceof Promise) return step.then((r) => enhancedAuthStep(c, r));
  return enhancedAuthStep(c, step);
}
