// A TCP proxy in front of a broker that a test controls: it can stop forwarding (a link that is
// dead without a FIN, as when a cable is pulled), cut every connection, or refuse new ones.
import * as net from 'node:net';
import { freePort } from '../../helpers/net';

export class TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  accepted = 0;
  /** client -> broker */
  private forwardUp = true;
  /** broker -> client */
  private forwardDown = true;
  private refusing = false;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private readonly server: net.Server;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const port = await freePort();
    const server = net.createServer();
    const proxy = new TcpProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, targetPort, targetHost));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  private accept(client: net.Socket, targetPort: number, targetHost: string): void {
    this.accepted++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    client.on('data', (d) => {
      if (this.forwardUp) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (this.forwardDown) client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  get connectionCount(): number {
    return this.pairs.size;
  }

  /** Drop every byte both ways, keeping the sockets open. */
  blackhole(direction: 'both' | 'up' | 'down' = 'both'): void {
    if (direction !== 'down') this.forwardUp = false;
    if (direction !== 'up') this.forwardDown = false;
  }

  resume(): void {
    this.forwardUp = this.forwardDown = true;
  }

  /** New connections are closed at once (a broker that is down). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Cut every connection now (a broker crash as the client sees it). */
  dropConnections(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
