// One MQTT 3.1.1 connection of the load generator over a raw TCP socket: CONNECT and SUBSCRIBE are
// encoded by mqtt-packet, replies are found by scanning fixed headers (frames.ts).
import * as net from 'node:net';
import { generate } from 'mqtt-packet';
import type { QoS } from 'mqtt-packet';
import { CONNACK, FrameHandler, FrameScanner, SUBACK } from './frames';

interface Waiter {
  type: number;
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface OpenOptions {
  port: number;
  clientId: string;
  keepalive?: number;
  /** How long CONNECT may wait for its CONNACK (and the TCP connect before it). */
  timeoutMs?: number;
}

export class LoadConnection {
  /** Frames other than the CONNACK/SUBACK being waited for. */
  onPacket: FrameHandler = () => {};
  /** Called after every chunk read, once its frames were handled (to batch replies). */
  onChunkEnd: () => void = () => {};
  private waiter: Waiter | null = null;
  private nextSubscribeId = 1;
  private failure: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    const scanner = new FrameScanner((first, buf, start, end) => {
      const w = this.waiter;
      if (w !== null && first >> 4 === w.type) {
        this.waiter = null;
        clearTimeout(w.timer);
        w.resolve(Buffer.from(buf.subarray(start, end)));
      } else {
        this.onPacket(first, buf, start, end);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        scanner.push(chunk);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      this.onChunkEnd();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  /** The first error seen on this connection (a broker closing it counts), or null. */
  get error(): Error | null {
    return this.failure;
  }

  /** TCP connect, CONNECT (clean session), and a successful CONNACK. */
  static async open(opts: OpenOptions): Promise<LoadConnection> {
    const socket = net.connect({ port: opts.port, host: '127.0.0.1', noDelay: true });
    const conn = new LoadConnection(socket);
    const connack = conn.expect(CONNACK, opts.timeoutMs ?? 10_000);
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: opts.clientId, keepalive: opts.keepalive ?? 0 }));
    try {
      const body = await connack;
      if (body[1] !== 0) throw new Error(`CONNACK return code ${body[1]}`);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  async subscribe(topic: string, qos: QoS, timeoutMs = 10_000): Promise<void> {
    const suback = this.expect(SUBACK, timeoutMs);
    const messageId = this.nextSubscribeId++;
    this.socket.write(generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] }));
    const body = await suback;
    if (body[2] === 0x80) throw new Error(`SUBSCRIBE to ${topic} refused`);
  }

  /** Writes the SUBSCRIBE and returns at once; the SUBACK arrives through onPacket. */
  subscribeNoWait(topic: string, qos: QoS): void {
    this.socket.write(generate({ cmd: 'subscribe', messageId: this.nextSubscribeId++, subscriptions: [{ topic, qos }] }));
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /**
   * Closes with a TCP RST rather than a FIN: thousands of connections closed by the generator would
   * otherwise sit in TIME_WAIT on their ephemeral ports and slow down every later connect().
   */
  close(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private expect(type: number, timeoutMs: number): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no ${type === CONNACK ? 'CONNACK' : 'SUBACK'} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { type, resolve, reject, timer };
    });
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

/** Opens `count` connections with at most `concurrency` handshakes pending at a time. */
export async function openMany(count: number, concurrency: number, make: (index: number) => Promise<LoadConnection>): Promise<LoadConnection[]> {
  const out: LoadConnection[] = new Array(count);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const index = next++;
      out[index] = await make(index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return out;
}
