// The options of the client the bridge opens on the remote broker, from its resolved options.
import type { ClientOptions } from '../client';
import type { RemoteAddress, ResolvedBridgeOptions } from './options';

/**
 * `receiveMaximum`: what the bridge takes in flight from the remote broker under 5.0, which Mosquitto
 * sets to the local broker's max_inflight_messages (the messages go on into it).
 */
export function remoteClientOptions(o: ResolvedBridgeOptions, address: RemoteAddress, receiveMaximum?: number): ClientOptions {
  const clientOptions: ClientOptions = {
    protocol: address.protocol,
    host: address.host,
    port: address.port,
    protocolVersion: o.protocolVersion,
    clientId: o.remoteClientId,
    clean: o.cleanSession,
    keepalive: o.keepalive,
    connectTimeout: o.connectTimeout,
    // one client per attempt: the bridge picks the address and the delay
    reconnectPeriod: 0,
    resubscribe: false,
  };
  if (address.path !== undefined) clientOptions.path = address.path;
  if (o.remoteUsername !== undefined) clientOptions.username = o.remoteUsername;
  if (o.remotePassword !== undefined) clientOptions.password = o.remotePassword;
  if (o.bindAddress !== undefined) clientOptions.localAddress = o.bindAddress;
  if (o.protocolVersion === 5) {
    const properties: NonNullable<ClientOptions['properties']> = {};
    // 5.0 ends a session at disconnect unless told otherwise; cleansession false means it stays
    if (!o.cleanSession) properties.sessionExpiryInterval = 0xffffffff;
    if (receiveMaximum !== undefined && receiveMaximum > 0 && receiveMaximum < 65535) properties.receiveMaximum = receiveMaximum;
    if (o.maxPacketSize > 0) properties.maximumPacketSize = o.maxPacketSize;
    if (Object.keys(properties).length > 0) clientOptions.properties = properties;
  }
  if (o.notifications && !o.notificationsLocalOnly) clientOptions.will = { topic: o.notificationTopic, payload: '0', qos: 1, retain: true };
  const tls = o.tls;
  if (tls !== undefined) {
    if (tls.ca !== undefined) clientOptions.ca = tls.ca;
    if (tls.cert !== undefined) clientOptions.cert = tls.cert;
    if (tls.key !== undefined) clientOptions.key = tls.key;
    if (tls.passphrase !== undefined) clientOptions.passphrase = tls.passphrase;
    if (tls.servername !== undefined) clientOptions.servername = tls.servername;
    if (tls.rejectUnauthorized !== undefined) clientOptions.rejectUnauthorized = tls.rejectUnauthorized;
    if (tls.alpn !== undefined) clientOptions.ALPNProtocols = tls.alpn;
    if (tls.minVersion !== undefined) clientOptions.minVersion = tls.minVersion;
    if (tls.psk !== undefined) clientOptions.psk = tls.psk;
  }
  if (o.tryPrivate && o.protocolVersion !== 5) {
    // try_private: the bridge bit (protocol level | 0x80), Mosquitto's mark of a bridge under
    // 3.1/3.1.1, which then neither echoes our own messages nor clears RETAIN on what it forwards.
    // It takes the client option `bridge` (ConnectPacket.bridge); a client without that option
    // sends a plain CONNECT and the remote takes the bridge for an ordinary client.
    Object.assign(clientOptions, { bridge: true });
  }
  return clientOptions;
}
