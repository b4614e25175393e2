// A TCP proxy between an MQTT client and a broker that plays a bad network on command: it cuts
// connections (now, or after a given number of bytes so a packet is torn in two), stalls them (bytes
// held, sockets open, as a link that hangs), slows them to a byte rate, or refuses new ones.
import * as net from 'node:net';

export type Direction = 'up' | 'down';

/** One proxied connection: client <-> proxy <-> upstream (the broker). */
class Link {
  readonly bytes: Record<Direction, number> = { up: 0, down: 0 };
  /** Cut the link once this many bytes went through in that direction. */
  readonly cutAt: Partial<Record<Direction, number>> = {};
  private readonly pending: Record<Direction, Buffer[]> = { up: [], down: [] };
  private closed = false;

  constructor(
    private readonly proxy: FaultProxy,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
  ) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d: Buffer) => this.receive('up', d));
    upstream.on('data', (d: Buffer) => this.receive('down', d));
    const close = (): void => this.cut();
    for (const s of [client, upstream]) {
      s.on('close', close);
      s.on('error', close);
    }
  }

  private receive(dir: Direction, chunk: Buffer): void {
    this.pending[dir].push(chunk);
    // Hold the sender back while we hold bytes (stalled or slowed): no unbounded buffer here.
    if (this.pending[dir].length > 16) (dir === 'up' ? this.client : this.upstream).pause();
    this.pump(dir);
  }

  /** Forwards what is held in `dir`, as the proxy's mode allows. */
  pump(dir: Direction): void {
    const mode = this.proxy.mode;
    if (this.closed || mode.stalled) return;
    const queue = this.pending[dir];
    let budget = mode.bytesPerTick > 0 ? mode.bytesPerTick : Infinity;
    while (queue.length > 0 && budget > 0 && !this.closed) {
      let chunk = queue[0];
      if (chunk.length > budget) {
        queue[0] = chunk.subarray(budget);
        chunk = chunk.subarray(0, budget);
      } else {
        queue.shift();
      }
      budget -= chunk.length;
      const limit = this.cutAt[dir];
      if (limit !== undefined && this.bytes[dir] + chunk.length >= limit) {
        // the part before the limit goes through, then the link dies: a packet torn in two
        const head = chunk.subarray(0, Math.max(0, limit - this.bytes[dir]));
        this.bytes[dir] += head.length;
        if (head.length > 0) this.target(dir).write(head);
        this.proxy.cutsByLimit++;
        this.cut();
        return;
      }
      this.bytes[dir] += chunk.length;
      this.target(dir).write(chunk);
    }
    if (queue.length <= 16) (dir === 'up' ? this.client : this.upstream).resume();
  }

  private target(dir: Direction): net.Socket {
    return dir === 'up' ? this.upstream : this.client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Both sockets destroyed at once: to each side the peer vanished. */
  cut(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }
}

export interface FaultMode {
  /** Nothing forwarded; bytes held until `resume()`. */
  stalled: boolean;
  /** Bytes forwarded per direction and link every tick (10 ms); 0 = no limit. */
  bytesPerTick: number;
}

export class FaultProxy {
  readonly port: number;
  /** Connections accepted so far. */
  accepted = 0;
  /** Links cut by `cutAll()` or `cut()`. */
  cuts = 0;
  /** Links cut by a byte limit (`cutAfter`). */
  cutsByLimit = 0;
  readonly mode: FaultMode = { stalled: false, bytesPerTick: 0 };
  private refusing = false;
  /** Byte limits given to each new link, drawn by the function per direction. */
  private nextCut: ((dir: Direction) => number | undefined) | undefined;
  private readonly links = new Set<Link>();
  private slowTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {
    this.port = (server.address() as net.AddressInfo).port;
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to targetHost:targetPort. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new FaultProxy(server, targetPort, targetHost);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get connectionCount(): number {
    return this.links.size;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const link = new Link(this, client, upstream);
    this.links.add(link);
    if (this.nextCut !== undefined) {
      for (const dir of ['up', 'down'] as const) {
        const limit = this.nextCut(dir);
        if (limit !== undefined) link.cutAt[dir] = limit;
      }
    }
  }

  /** @internal a link that closed */
  forget(link: Link): void {
    this.links.delete(link);
  }

  /** Cuts every open connection now; returns how many. */
  cutAll(): number {
    const n = this.links.size;
    for (const link of [...this.links]) link.cut();
    this.cuts += n;
    return n;
  }

  /**
   * Every open link and every new one is cut after the number of bytes `limit(dir)` gives for
   * that direction (undefined: no limit that way), counted from the link's start. `undefined`
   * turns this off for new links.
   */
  cutAfter(limit: ((dir: Direction) => number | undefined) | undefined): void {
    this.nextCut = limit;
  }

  /** New connections closed at once (a broker that is down) or accepted again. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Holds every byte both ways with the sockets open, until `resume()`. */
  stall(): void {
    this.mode.stalled = true;
  }

  /** Forwards at most `bytesPerSecond` per direction and link; 0 = full speed. */
  slow(bytesPerSecond: number): void {
    this.mode.bytesPerTick = bytesPerSecond > 0 ? Math.max(1, Math.round(bytesPerSecond / 100)) : 0;
    if (this.mode.bytesPerTick > 0 && this.slowTimer === undefined) {
      this.slowTimer = setInterval(() => this.pumpAll(), 10);
    } else if (this.mode.bytesPerTick === 0 && this.slowTimer !== undefined) {
      clearInterval(this.slowTimer);
      this.slowTimer = undefined;
      this.pumpAll();
    }
  }

  /** Ends `stall()`: what was held goes through now. */
  resume(): void {
    this.mode.stalled = false;
    this.pumpAll();
  }

  private pumpAll(): void {
    for (const link of [...this.links]) {
      link.pump('up');
      link.pump('down');
    }
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    if (this.slowTimer !== undefined) clearInterval(this.slowTimer);
    this.slowTimer = undefined;
    for (const link of [...this.links]) link.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
