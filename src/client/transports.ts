// The stream under the client, chosen from a table keyed by URL scheme. Each entry returns a
// duplex that buffers writes until it is open, so CONNECT can be written at once.
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import WebSocket, { createWebSocketStream } from 'ws';
import type { ResolvedOptions, Scheme } from './options';

export type TransportFactory = (opts: ResolvedOptions) => Duplex;

/**
 * The client options handed to tls.connect as they are: credentials, trust, versions and
 * algorithms. Never where to connect (host, port, socket, path, lookup): the URL says that.
 */
const tlsPassThrough = [
  'ca', 'cert', 'key', 'passphrase', 'pfx', 'crl', 'checkServerIdentity',
  'minVersion', 'maxVersion', 'ciphers', 'sigalgs', 'ecdhCurve', 'ALPNProtocols',
] as const satisfies readonly (keyof ResolvedOptions & keyof tls.ConnectionOptions)[];

function tlsOptions(opts: ResolvedOptions): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: opts.rejectUnauthorized };
  for (const name of tlsPassThrough) {
    if (opts[name] !== undefined) Object.assign(o, { [name]: opts[name] });
  }
  if (opts.psk !== undefined) {
    const { identity, key } = opts.psk;
    o.pskCallback = () => ({ identity, psk: key });
    // Node offers PSK with TLS 1.2 and below only; there is no certificate to check
    o.maxVersion = 'TLSv1.2';
    o.ciphers ??= 'PSK';
    o.checkServerIdentity = () => undefined;
  }
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
  if (opts.localAddress !== undefined) wsOptions.localAddress ??= opts.localAddress;
  if (secure) Object.assign(wsOptions, tlsOptions(opts));
  const socket = new WebSocket(url, ['mqtt'], wsOptions);
  return createWebSocketStream(socket);
}

export const transports: Record<Scheme, TransportFactory> = {
  mqtt: (opts) => {
    const socket = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
    socket.setNoDelay(true);
    return socket;
  },
  mqtts: (opts) => {
    const socket = tls.connect({ host: opts.host, port: opts.port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}), ...tlsOptions(opts) });
    socket.setNoDelay(true);
    return socket;
  },
  ws: (opts) => webSocket(opts, false),
  wss: (opts) => webSocket(opts, true),
};
