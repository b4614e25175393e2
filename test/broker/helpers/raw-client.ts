// A raw MQTT connection for conformance tests, built on mqtt-packet rather than our own codec,
// so a broken codec cannot make its own tests pass. It sends packets or arbitrary bytes and lets a
// test await the next packet, or the close of the connection, always with a timeout.
import * as net from 'node:net';
import * as mqttPacket from 'mqtt-packet';

export type RawPacket = mqttPacket.Packet;
export type Version = 3 | 4 | 5;

// Generous: the machine running the tests may be busy; waits end early when the packet comes.
export const DEFAULT_TIMEOUT = 4000;

export class RawClient {
  readonly socket: net.Socket;
  readonly received: RawPacket[] = [];
  /** Set when the broker sent bytes mqtt-packet could not parse. */
  parseError: Error | undefined;
  /** Every byte the broker sent, for checks below the packet level. */
  rawData: Buffer = Buffer.alloc(0);
  private closedFlag = false;
  private waiters: Array<() => void> = [];
  private readonly parser: mqttPacket.Parser;

  private constructor(socket: net.Socket, public version: Version) {
    this.socket = socket;
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: RawPacket) => {
      this.received.push(p);
      this.wake();
    });
    this.parser.on('error', (err: Error) => {
      this.parseError = err;
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => {
      this.rawData = Buffer.concat([this.rawData, chunk]);
      this.parser.parse(chunk);
    });
    socket.on('error', () => undefined); // ECONNRESET after the broker closes is part of what we test
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
  }

  /** Opens a TCP connection (nothing sent yet). */
  static open(port: number, version: Version = 4, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, version));
      });
      socket.once('error', reject);
    });
  }

  /**
   * Opens a connection, sends CONNECT (clean, keepalive 60 unless overridden) and awaits the CONNACK,
   * asserting nothing about it: the caller checks it.
   */
  static async connect(
    port: number,
    version: Version,
    connect: Partial<mqttPacket.IConnectPacket> = {},
  ): Promise<{ client: RawClient; connack: mqttPacket.IConnackPacket }> {
    const client = await RawClient.open(port, version);
    client.send(connectPacket(version, connect));
    const connack = await client.expect('connack');
    return { client, connack };
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(packet: RawPacket): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Encodes a packet without sending it (to corrupt it first). */
  encode(packet: RawPacket): Buffer {
    return mqttPacket.generate(packet, { protocolVersion: this.version });
  }

  /** Next packet the broker sends; rejects on timeout, or if the connection closes first. */
  async next(timeoutMs = DEFAULT_TIMEOUT): Promise<RawPacket> {
    const r = await this.nextOrClose(timeoutMs);
    if (r === 'closed') throw new Error('connection closed while waiting for a packet');
    return r;
  }

  /** Next packet, or 'closed' if the broker closed the connection with nothing more to read. */
  async nextOrClose(timeoutMs = DEFAULT_TIMEOUT): Promise<RawPacket | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.received.shift();
      if (p) return p;
      if (this.parseError) throw new Error(`broker sent bytes that do not parse: ${this.parseError.message}`);
      if (this.closedFlag) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet from the broker within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next packet, which must be of this type. */
  async expect<C extends RawPacket['cmd']>(cmd: C, timeoutMs = DEFAULT_TIMEOUT): Promise<Extract<RawPacket, { cmd: C }>> {
    const p = await this.next(timeoutMs);
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, received ${p.cmd}: ${describe(p)}`);
    return p as Extract<RawPacket, { cmd: C }>;
  }

  /** Skips packets of other types until one of this type arrives. */
  async waitFor<C extends RawPacket['cmd']>(cmd: C, timeoutMs = DEFAULT_TIMEOUT): Promise<Extract<RawPacket, { cmd: C }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.next(Math.max(1, deadline - Date.now()));
      if (p.cmd === cmd) return p as Extract<RawPacket, { cmd: C }>;
    }
  }

  /** True if no packet arrives within ms (for "must not be delivered" checks). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const r = await this.nextOrClose(ms);
      if (r === 'closed') return true;
      this.received.unshift(r);
      return false;
    } catch {
      return true;
    }
  }

  /** Resolves once the broker has closed the connection; returns the packets sent before that. */
  async closedByBroker(timeoutMs = DEFAULT_TIMEOUT): Promise<RawPacket[]> {
    const before: RawPacket[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let r: RawPacket | 'closed';
      try {
        r = await this.nextOrClose(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (this.parseError) throw err;
        throw new Error(`broker did not close the connection within ${timeoutMs} ms (received: ${before.map(describe).join(', ') || 'nothing'})`);
      }
      if (r === 'closed') return before;
      before.push(r);
    }
  }

  private lastPacketId = 0;
  /** A fresh packet identifier (1..65535) for this connection. */
  nextPacketId(): number {
    this.lastPacketId = (this.lastPacketId % 65535) + 1;
    return this.lastPacketId;
  }

  /** SUBSCRIBE, awaiting the SUBACK (packets in between are kept for the test). */
  async subscribe(
    filters: string | mqttPacket.ISubscription[],
    qos: 0 | 1 | 2 = 0,
    properties?: mqttPacket.ISubscribePacket['properties'],
  ): Promise<mqttPacket.ISubackPacket> {
    const subscriptions = typeof filters === 'string' ? [{ topic: filters, qos }] : filters;
    const messageId = this.nextPacketId();
    this.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties ? { properties } : {}) });
    return this.awaitReply('suback', messageId);
  }

  async unsubscribe(filters: string[]): Promise<mqttPacket.IUnsubackPacket> {
    const messageId = this.nextPacketId();
    this.send({ cmd: 'unsubscribe', messageId, unsubscriptions: filters });
    return this.awaitReply('unsuback', messageId);
  }

  /**
   * PUBLISH and complete its QoS flow as the sender (PUBACK, or PUBREC/PUBREL/PUBCOMP).
   * Returns the acknowledgement (PUBACK or PUBREC) or undefined at QoS 0.
   */
  async publish(
    topic: string,
    payload: string | Buffer,
    qos: 0 | 1 | 2 = 0,
    extra: Partial<mqttPacket.IPublishPacket> = {},
  ): Promise<mqttPacket.IPubackPacket | mqttPacket.IPubrecPacket | undefined> {
    const messageId = qos > 0 ? this.nextPacketId() : undefined;
    this.send({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(messageId ? { messageId } : {}), ...extra });
    if (qos === 0) return undefined;
    if (qos === 1) return this.awaitReply('puback', messageId!);
    const pubrec = await this.awaitReply('pubrec', messageId!);
    if ((pubrec.reasonCode ?? 0) < 0x80) {
      this.send({ cmd: 'pubrel', messageId: messageId! });
      await this.awaitReply('pubcomp', messageId!);
    }
    return pubrec;
  }

  /** Acknowledges a received PUBLISH as the receiver would (PUBACK, or PUBREC then PUBREL/PUBCOMP). */
  async acknowledge(p: mqttPacket.IPublishPacket): Promise<void> {
    if (p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId! });
    if (p.qos === 2) {
      this.send({ cmd: 'pubrec', messageId: p.messageId! });
      await this.awaitReply('pubrel', p.messageId!);
      this.send({ cmd: 'pubcomp', messageId: p.messageId! });
    }
  }

  /** Next PUBLISH, acknowledged per its QoS; other packets in between are kept. */
  async receive(timeoutMs = DEFAULT_TIMEOUT): Promise<mqttPacket.IPublishPacket> {
    const p = await this.awaitReply('publish', undefined, timeoutMs);
    await this.acknowledge(p);
    return p;
  }

  /**
   * Waits for a packet of this type (and packet id, if given); packets of other kinds that
   * arrive meanwhile stay queued, in order, for later reads.
   */
  async awaitReply<C extends RawPacket['cmd']>(cmd: C, messageId?: number, timeoutMs = DEFAULT_TIMEOUT): Promise<Extract<RawPacket, { cmd: C }>> {
    const deadline = Date.now() + timeoutMs;
    const skipped: RawPacket[] = [];
    try {
      for (;;) {
        const p = await this.next(Math.max(1, deadline - Date.now()));
        if (p.cmd === cmd && (messageId === undefined || p.messageId === messageId)) return p as Extract<RawPacket, { cmd: C }>;
        skipped.push(p);
      }
    } finally {
      this.received.unshift(...skipped);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Sends DISCONNECT and ends the socket. */
  disconnect(reasonCode?: number): void {
    if (this.socket.destroyed) return;
    this.send({ cmd: 'disconnect', ...(this.version === 5 && reasonCode !== undefined ? { reasonCode } : {}) });
    this.socket.end();
  }
}

let idCounter = 0;
/** A unique client identifier per test, so tests never share sessions by accident. */
export function uniqueId(prefix = 'c'): string {
  idCounter += 1;
  return `${prefix}-${process.pid}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function connectPacket(version: Version, connect: Partial<mqttPacket.IConnectPacket> = {}): mqttPacket.IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: true,
    keepalive: 60,
    clientId: uniqueId(),
    ...connect,
  };
}

/** Success code of CONNACK: returnCode in 3.1.1, reasonCode in 5.0 (mqtt-packet fills one of them). */
export function connackCode(p: mqttPacket.IConnackPacket): number | undefined {
  return p.reasonCode ?? p.returnCode;
}

export function describe(p: RawPacket): string {
  const { cmd, ...rest } = p as RawPacket & Record<string, unknown>;
  const shown = Object.fromEntries(
    Object.entries(rest).filter(([k]) => k !== 'length').map(([k, v]) => [k, Buffer.isBuffer(v) ? `<${v.length} bytes>` : v]),
  );
  return `${cmd} ${JSON.stringify(shown)}`;
}
