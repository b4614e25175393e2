// The servers behind each listener protocol: TCP (mqtt), TLS (mqtts), WebSocket (ws) and WebSocket
// over TLS (wss). Each hands the broker a duplex stream and what it knows of the peer.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ConnectionInfo, ListenerOptions, ListenerTlsOptions } from './options';
import { WebSocketStream } from './websocket-stream';
import { RevocationList } from './revocation-list';

/** WebSocket subprotocols MQTT clients ask for: 'mqtt' (3.1.1, 5.0 [MQTT-6.0.0-4]), 'mqttv3.1' (3.1). */
const WS_PROTOCOLS = ['mqtt', 'mqttv3.1'];

export interface ListenerServer {
  server: net.Server;
  wss?: WebSocketServer;
}

export interface ListenerSink {
  accept(stream: Duplex, info: ConnectionInfo): void;
  tcpNoDelay: boolean;
  error(message: string): void;
}

/** What a TLS listener's secure context is made of: reloaded in place by `reloadTlsContext`. */
function secureContextOptions(options: ListenerOptions): tls.SecureContextOptions {
  const t = options.tls;
  if (t === undefined) throw new Error(`a ${options.protocol} listener needs tls.cert and tls.key`);
  // t.crl is not given to Node, which would ask a CRL of every CA in the chain: see revocation-list.ts
  return { cert: t.cert, key: t.key, ca: t.ca, passphrase: t.passphrase };
}

/** Each listener's CRLs, read once per TLS settings (a reload brings new settings). */
const revocationLists = new WeakMap<ListenerTlsOptions, RevocationList>();

function revocationList(t: ListenerTlsOptions): RevocationList | undefined {
  if (t.crl === undefined) return undefined;
  let list = revocationLists.get(t);
  if (list === undefined) {
    list = RevocationList.parse(t.crl, t.ca);
    revocationLists.set(t, list);
  }
  return list;
}

/** Why a verified client certificate is revoked (the listener's crl), or undefined. */
function revocation(socket: net.Socket, options: ListenerOptions): string | undefined {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized || options.tls === undefined) return undefined;
  const list = revocationList(options.tls);
  const cert = list === undefined ? undefined : socket.getPeerX509Certificate();
  return cert === undefined ? undefined : list!.refusal(cert);
}

/**
 * A client certificate the listener's CRL revokes: with require_certificate the connection is closed
 * (the handshake is over by then under TLS 1.3, so it cannot fail it); otherwise the certificate counts
 * as none. True when the socket was closed.
 */
function refuseRevoked(socket: net.Socket, options: ListenerOptions, sink: ListenerSink): boolean {
  const why = revocation(socket, options);
  if (why === undefined || options.tls?.requireCertificate !== true) return false;
  sink.error(`TLS client ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? ''} refused: ${why}`);
  socket.destroy();
  return true;
}

/** The PSK identity each TLS-PSK client gave, for useIdentityAsUsername. */
const pskIdentities = new WeakMap<tls.TLSSocket, string>();

/**
 * A TLS-PSK listener. Node.js also negotiates TLS 1.3 with external PSKs through this callback (with
 * its SHA-256 cipher suites, as OpenSSL does for Mosquitto); the PSK cipher suites are for TLS 1.2
 * clients, which alone receive the identity hint.
 */
function pskContext(options: ListenerOptions): tls.TlsOptions {
  const psk = options.psk!;
  return {
    pskIdentityHint: psk.hint,
    ciphers: 'PSK',
    pskCallback: (socket: tls.TLSSocket, identity: string) => {
      const key = psk.key(identity);
      if (key === undefined) return null; // the handshake fails with unknown_psk_identity
      pskIdentities.set(socket, identity);
      return key;
    },
  };
}

function tlsContext(options: ListenerOptions): tls.TlsOptions {
  if (options.psk !== undefined && options.tls === undefined) return pskContext(options);
  const t = options.tls;
  if (t === undefined) throw new Error(`a ${options.protocol} listener needs tls.cert and tls.key`);
  const request = t.requireCertificate === true || t.requestCertificate === true;
  revocationList(t); // a CRL that cannot be used stops the listener from opening
  return {
    ...secureContextOptions(options),
    requestCert: request,
    // optional certificates: the handshake succeeds without one and `authorized` tells whether it was verified
    rejectUnauthorized: t.requireCertificate === true,
  };
}

/**
 * New certificate, key, CA and CRL for a running TLS or secure WebSocket listener (Mosquitto reloads
 * them on SIGHUP): new handshakes use them, connected clients keep theirs. Throws, leaving the old
 * context in place, when the new one cannot be made (a key that does not match its certificate).
 */
export function reloadTlsContext(server: net.Server, options: ListenerOptions): void {
  if (!(server instanceof tls.Server)) return;
  if (options.tls !== undefined) revocationList(options.tls); // throws on a CRL that cannot be used
  server.setSecureContext(secureContextOptions(options));
}

/** An RFC 2253 attribute value: , + " \ < > ; escaped, and a leading # or blank and a trailing blank. */
function rfc2253Value(value: string): string {
  return value.replace(/[,+"\\<>;]/g, '\\$&').replace(/^[# ]/, '\\$&').replace(/ $/, '\\ ');
}

/** The subject as OpenSSL prints it with XN_FLAG_RFC2253 (Mosquitto's use_subject_as_username): the last RDN first. */
function subjectRfc2253(cert: tls.PeerCertificate): string {
  const subject = cert.subject as unknown as Record<string, string | string[]>;
  const rdns: string[] = [];
  for (const [type, value] of Object.entries(subject)) {
    for (const v of Array.isArray(value) ? value : [value]) rdns.push(`${type}=${rfc2253Value(v)}`);
  }
  return rdns.reverse().join(',');
}

/** The CN of a client certificate the TLS layer verified against the listener's CA, or undefined. */
function certificateIdentity(socket: net.Socket, options: ListenerOptions): string | undefined {
  if (socket instanceof tls.TLSSocket && options.psk !== undefined && options.tls === undefined) return pskIdentities.get(socket);
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized || revocation(socket, options) !== undefined) return undefined;
  if (options.useSubjectAsUsername === true) return subjectRfc2253(socket.getPeerCertificate());
  const cn = socket.getPeerCertificate().subject?.CN;
  // a certificate may hold several CNs; Mosquitto takes the first too
  const first = Array.isArray(cn) ? cn[0] : cn;
  return typeof first === 'string' && first.length > 0 ? first : undefined;
}

function socketInfo(socket: net.Socket, options: ListenerOptions): ConnectionInfo {
  return { address: socket.remoteAddress, port: socket.remotePort, localPort: socket.localPort, listener: options, certificateIdentity: certificateIdentity(socket, options) };
}

function refuseHttp(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain' });
  res.end('MQTT over WebSocket only\n');
}

export function createListenerServer(options: ListenerOptions, sink: ListenerSink): ListenerServer {
  const protocol = options.protocol ?? 'mqtt';
  switch (protocol) {
    case 'mqtt':
      return {
        server: net.createServer((socket) => {
          socket.setNoDelay(sink.tcpNoDelay);
          sink.accept(socket, socketInfo(socket, options));
        }),
      };
    case 'mqtts': {
      const server = tls.createServer(tlsContext(options), (socket) => {
        if (refuseRevoked(socket, options, sink)) return;
        socket.setNoDelay(sink.tcpNoDelay);
        sink.accept(socket, socketInfo(socket, options));
      });
      // a failed handshake (no certificate, an unknown CA) never reaches the broker
      server.on('tlsClientError', (err, socket) => {
        sink.error(`TLS handshake with ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? ''} failed: ${err.message}`);
      });
      return { server };
    }
    case 'ws':
    case 'wss': {
      const server = protocol === 'wss' ? createHttpsServer(tlsContext(options), refuseHttp) : createHttpServer(refuseHttp);
      if (protocol === 'wss') {
        server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
          sink.error(`TLS handshake with ${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? ''} failed: ${err.message}`);
        });
      }
      const wss = new WebSocketServer({
        server,
        path: options.path,
        handleProtocols: (protocols) => WS_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
      });
      wss.on('connection', (ws, req) => {
        if (refuseRevoked(req.socket, options, sink)) return ws.terminate();
        if (req.socket instanceof net.Socket) req.socket.setNoDelay(sink.tcpNoDelay);
        sink.accept(new WebSocketStream(ws), socketInfo(req.socket, options));
      });
      wss.on('error', (err) => sink.error(`websocket listener: ${err.message}`));
      return { server, wss };
    }
    default:
      throw new Error(`unknown listener protocol ${String(protocol)}`);
  }
}
