// The one entry for decoded packets: CONNECT first and only once [MQTT-3.1.0-1], [MQTT-3.1.0-2],
// then one handler per packet type. Handlers throw ProtocolError; the connection maps it to a
// reason code in one place (Connection.fail).
import { ProtocolError, type Packet, type PacketType } from '../codec';
import type { Connection } from './connection';
import { ConnectionState } from './connection-state';
import { handleAuth } from './handlers/auth';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './handlers/acks';
import { handleConnect } from './handlers/connect';
import { handleDisconnect } from './handlers/disconnect';
import { handlePingreq } from './handlers/pingreq';
import { handlePublish } from './handlers/publish';
import { handleSubscribe } from './handlers/subscribe';
import { handleUnsubscribe } from './handlers/unsubscribe';

type Handler = (c: Connection, p: never) => void | Promise<void>;

const serverBound = (type: string) => (): never => {
  throw new ProtocolError(0x82, `${type.toUpperCase()} is sent by servers only`);
};

const handlers: Record<PacketType, Handler> = {
  connect: handleConnect,
  publish: handlePublish,
  puback: handlePuback,
  pubrec: handlePubrec,
  pubrel: handlePubrel,
  pubcomp: handlePubcomp,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  pingreq: handlePingreq,
  disconnect: handleDisconnect,
  auth: handleAuth,
  connack: serverBound('connack'),
  suback: serverBound('suback'),
  unsuback: serverBound('unsuback'),
  pingresp: serverBound('pingresp'),
};

export function dispatch(c: Connection, packet: Packet): void | Promise<void> {
  switch (c.state) {
    case ConnectionState.AwaitingConnect:
      if (packet.type !== 'connect') {
        // not even a CONNACK: the first packet must be CONNECT [MQTT-3.1.0-1]
        c.core.log.at(c.core.options.protocolErrorLogLevel, `client ${c.label()} sent ${packet.type} before CONNECT [MQTT-3.1.0-1]`);
        c.close('protocol-error');
        return;
      }
      return handleConnect(c, packet);
    case ConnectionState.Authenticating:
      if (packet.type !== 'auth') throw new ProtocolError(0x82, `${packet.type} during authentication`);
      return handleAuth(c, packet);
    case ConnectionState.Connected:
      if (packet.type === 'connect') throw new ProtocolError(0x82, 'second CONNECT [MQTT-3.1.0-2]');
      return (handlers[packet.type] as (c: Connection, p: Packet) => void | Promise<void>)(c, packet);
    default:
      return;
  }
}
