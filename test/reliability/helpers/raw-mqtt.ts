// A bare MQTT connection for load and abuse: mqtt-packet encodes and parses (not our codec), received
// packets are counted and kept only when asked, and nothing is buffered beyond what the test reads.
import type * as net from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import { openSocket } from './attack';

export type Version = 4 | 5;

export class RawMqtt {
  readonly counts = new Map<string, number>();
  /** Kept packets of the commands listed in `keep`. */
  readonly kept: mqttPacket.Packet[] = [];
  private waiters: Array<() => void> = [];
  private closedFlag = false;

  private constructor(
    readonly socket: net.Socket,
    readonly version: Version,
    private readonly keep: Set<string>,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: mqttPacket.Packet) => {
      this.counts.set(p.cmd, (this.counts.get(p.cmd) ?? 0) + 1);
      if (this.keep.has(p.cmd)) this.kept.push(p);
      this.wake();
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
  }

  /** Connects, sends CONNECT and awaits a successful CONNACK. */
  static async connect(port: number, version: Version, connect: Partial<mqttPacket.IConnectPacket> = {}, keep: string[] = []): Promise<RawMqtt> {
    const socket = await openSocket(port);
    socket.setNoDelay(true);
    const c = new RawMqtt(socket, version, new Set(['connack', ...keep]));
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: `raw-${process.pid}-${Math.random().toString(36).slice(2, 10)}`, ...connect });
    await c.until(() => c.count('connack') > 0, 15_000, 'CONNACK');
    const connack = c.kept.shift() as mqttPacket.IConnackPacket;
    const code = connack.reasonCode ?? connack.returnCode ?? 0;
    if (code !== 0) throw new Error(`CONNACK ${code}`);
    return c;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  count(cmd: string): number {
    return this.counts.get(cmd) ?? 0;
  }

  encode(packet: mqttPacket.Packet): Buffer {
    return mqttPacket.generate(packet, { protocolVersion: this.version });
  }

  /** Writes; false when the socket buffer is full (await `drained()`). */
  send(packet: mqttPacket.Packet): boolean {
    return this.socket.write(this.encode(packet));
  }

  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check()` holds, rejecting after timeoutMs or when the connection closes first. */
  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.closedFlag) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
