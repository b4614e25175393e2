// A scripted MQTT server on a raw socket: it decodes what the client sends with our codec and the
// test decides, packet by packet, what to answer, including things a correct broker never sends
// (malformed bytes, unknown acks, bad topic aliases). Used where Mosquitto cannot be made to
// behave as the test needs.
import * as net from 'node:net';
import { PacketDecoder, ProtocolError, encode } from '../../../src/codec';
import type { ConnackPacket, ConnectPacket, Packet, ProtocolVersion } from '../../../src/codec/types';
import { waitUntil } from '../../helpers/net';

/** The packet shape(s) whose type can be T (PUBACK/PUBREC/PUBREL/PUBCOMP share one shape). */
type Distribute<P, T> = P extends { type: infer U } ? (T extends U ? P : never) : never;
export type PacketOf<T extends Packet['type']> = Distribute<Packet, T>;

export class ScriptedConnection {
  readonly received: Packet[] = [];
  protocolVersion: ProtocolVersion = 4;
  closed = false;
  /** 'data' events seen: how many reads the client's bytes took. */
  chunks = 0;
  private readonly decoder = new PacketDecoder();
  private cursor = 0;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.chunks++;
      this.decoder.push(chunk);
      for (let p = this.decoder.next(); p !== null; p = this.decoder.next()) {
        if (p instanceof ProtocolError) {
          socket.destroy();
          return;
        }
        if (p.type === 'connect') this.protocolVersion = p.protocolVersion;
        this.received.push(p);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  send(packet: Packet): void {
    if (!this.socket.destroyed) this.socket.write(encode(packet, this.protocolVersion));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet of `type` not yet taken (in arrival order). */
  async next<T extends Packet['type']>(type: T, timeoutMs = 5000): Promise<PacketOf<T>> {
    let found: Packet | undefined;
    await waitUntil(() => {
      for (let i = this.cursor; i < this.received.length; i++) {
        if (this.received[i].type === type) {
          found = this.received[i];
          this.cursor = i + 1;
          return true;
        }
      }
      return false;
    }, timeoutMs, `a ${type.toUpperCase()} from the client`);
    return found as PacketOf<T>;
  }

  /** Reads CONNECT and answers CONNACK (success unless told otherwise). */
  async accept(connack: Partial<ConnackPacket> = {}): Promise<ConnectPacket> {
    const connect = await this.next('connect');
    this.send({ type: 'connack', sessionPresent: false, reasonCode: 0, ...connack });
    return connect;
  }

  /** Stop reading: the client's bytes pile up in the kernel, then in its own stream buffer. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}

export class ScriptedServer {
  readonly connections: ScriptedConnection[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<ScriptedServer> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const s = new ScriptedServer(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (socket) => s.connections.push(new ScriptedConnection(socket)));
    return s;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The n-th connection (0-based), once it exists. */
  async connection(n = 0, timeoutMs = 5000): Promise<ScriptedConnection> {
    await waitUntil(() => this.connections.length > n, timeoutMs, `connection #${n}`);
    return this.connections[n];
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
