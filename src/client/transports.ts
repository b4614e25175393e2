// The stream under the client, chosen from a table keyed by URL scheme. Each entry returns a
// duplex that buffers writes until it is open, so CONNECT can be written at once.
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import WebSocket, { createWebSocketStream } from 'ws';
import type { ResolvedOptions, Scheme } from './options';

export type TransportFactory = (opts: ResolvedOptions) => Duplex;

function tlsOptions(opts: ResolvedOptions): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: opts.rejectUnauthorized };
  if (opts.ca !== undefined) o.ca = opts.ca;
  if (opts.cert !== undefined) o.cert = opts.cert;
  if (opts.key !== undefined) o.key = opts.key;
  if (opts.passphrase !== undefined) o.passphrase = opts.passphrase;
  if (opts.ALPNProtocols !== undefined) o.ALPNProtocols = opts.ALPNProtocols;
  // SNI carries host names only (RFC 6066 section 3), never an IP address.
  const servername = opts.servername ?? (net.isIP(opts.host) ? undefined : opts.host);
  if (servername) o.servername = servername;
  return o;
}

function webSocket(opts: ResolvedOptions, secure: boolean): Duplex {
  const host = net.isIPv6(opts.host) ? `[${opts.host}]` : opts.host;
  const path = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
  const url = `${secure ? 'wss' : 'ws'}://${host}:${opts.port}${path}`;
  // MQTT over WebSocket: subprotocol "mqtt", binary frames [MQTT-6.0.0-1], [MQTT-6.0.0-4].
  const wsOptions: WebSocket.ClientOptions = { ...opts.wsOptions };
  if (secure) Object.assign(wsOptions, tlsOptions(opts));
  const socket = new WebSocket(url, ['mqtt'], wsOptions);
  return createWebSocketStream(socket);
}

export const transports: Record<Scheme, TransportFactory> = {
  mqtt: (opts) => {
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.setNoDelay(true);
    return socket;
  },
  mqtts: (opts) => {
    const socket = tls.connect({ host: opts.host, port: opts.port, ...tlsOptions(opts) });
    socket.setNoDelay(true);
    return socket;
  },
  ws: (opts) => webSocket(opts, false),
  wss: (opts) => webSocket(opts, true),
};
