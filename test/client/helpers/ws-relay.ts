// A WebSocket-to-TCP relay on `ws` in front of Mosquitto (whose Debian build has no WebSocket
// listener): one TCP connection per WebSocket, bytes copied both ways. It accepts only the "mqtt"
// subprotocol on the configured path and records what it saw, so tests can check the client's side
// of MQTT over WebSocket (section 6).
import * as http from 'node:http';
import * as https from 'node:https';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { WebSocketServer } from 'ws';
import { freePort } from '../../helpers/net';

export interface WsRelayOptions {
  targetPort: number;
  path?: string;
  tls?: { cert: string; key: string };
  /**
   * Gather what the broker sends for this many ms and send it as one frame, so frames hold several
   * packets (which [MQTT-6.0.0-2] allows); without it each TCP chunk is one frame.
   */
  coalesceMs?: number;
}

export interface WsRelay {
  port: number;
  /** Subprotocols offered by each accepted client, in order. */
  offeredProtocols: string[][];
  /** Paths requested, including refused ones. */
  requestedPaths: string[];
  binaryFrames: number;
  textFrames: number;
  /** The frames sent to clients, as sent. */
  framesToClients: Buffer[];
  close(): Promise<void>;
}

export async function startWsRelay(opts: WsRelayOptions): Promise<WsRelay> {
  const path = opts.path ?? '/mqtt';
  const port = await freePort();
  const server = opts.tls
    ? https.createServer({ cert: fs.readFileSync(opts.tls.cert), key: fs.readFileSync(opts.tls.key) })
    : http.createServer();
  const relay: WsRelay = {
    port,
    offeredProtocols: [],
    requestedPaths: [],
    binaryFrames: 0,
    textFrames: 0,
    framesToClients: [],
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { req: http.IncomingMessage }) => {
      relay.requestedPaths.push(info.req.url ?? '');
      return info.req.url === path;
    },
    handleProtocols: (protocols: Set<string>) => {
      relay.offeredProtocols.push([...protocols]);
      return protocols.has('mqtt') ? 'mqtt' : false;
    },
  });
  wss.on('connection', (ws) => {
    const upstream = net.connect(opts.targetPort, '127.0.0.1');
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) relay.binaryFrames++;
      else relay.textFrames++;
      upstream.write(data);
    });
    const toClient = (d: Buffer): void => {
      relay.framesToClients.push(d);
      ws.send(d, { binary: true });
    };
    let gathered: Buffer[] = [];
    upstream.on('data', (d: Buffer) => {
      if (opts.coalesceMs === undefined) return toClient(d);
      if (gathered.length === 0) {
        setTimeout(() => {
          const frame = Buffer.concat(gathered);
          gathered = [];
          if (ws.readyState === ws.OPEN) toClient(frame);
        }, opts.coalesceMs);
      }
      gathered.push(d);
    });
    ws.on('close', () => upstream.destroy());
    ws.on('error', () => upstream.destroy());
    upstream.on('close', () => ws.terminate());
    upstream.on('error', () => ws.terminate());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return relay;
}
