// A raw MQTT-over-WebSocket client (the `ws` package, packets by mqtt-packet) that keeps every binary
// frame the broker sent as it came, so tests can check what each frame holds, not only the packets.
import WebSocket from 'ws';
import * as mqttPacket from 'mqtt-packet';
import { waitUntil } from '../../helpers/net';
import type { RawPacket, Version } from './raw-client';

/** The whole packets in one frame, or why the frame is not a sequence of whole packets. */
export function packetsInFrame(frame: Buffer): { lengths: number[]; error?: string } {
  const lengths: number[] = [];
  let at = 0;
  while (at < frame.length) {
    let remaining = 0;
    let multiplier = 1;
    let i = at + 1;
    for (;;) {
      if (i >= frame.length) return { lengths, error: `a fixed header cut at byte ${i}` };
      const b = frame[i++];
      remaining += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if ((b & 0x80) === 0) break;
    }
    const end = i + remaining;
    if (end > frame.length) return { lengths, error: `a packet of ${end - at} bytes cut at ${frame.length - at}` };
    lengths.push(end - at);
    at = end;
  }
  return { lengths };
}

export class WsFrameClient {
  readonly frames: Buffer[] = [];
  readonly received: RawPacket[] = [];
  private readonly parser: mqttPacket.Parser;

  private constructor(readonly ws: WebSocket, readonly version: Version) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: RawPacket) => {
      this.received.push(p);
      // QoS 1 PUBLISHes are acknowledged as they come, each PUBACK in a frame of its own
      if (p.cmd === 'publish' && p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId } as mqttPacket.IPubackPacket);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error('text frame from the broker');
      this.frames.push(data);
      this.parser.parse(data);
    });
  }

  static open(url: string, version: Version): Promise<WsFrameClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'mqtt');
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => {
        ws.off('error', reject);
        ws.on('error', () => undefined);
        resolve(new WsFrameClient(ws, version));
      });
      ws.once('error', reject);
    });
  }

  /** Sends the packets in one binary frame. */
  send(...packets: mqttPacket.Packet[]): void {
    const opts = { protocolVersion: this.version };
    this.ws.send(Buffer.concat(packets.map((p) => mqttPacket.generate(p, opts))), { binary: true });
  }

  async connect(clientId: string): Promise<void> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.version, clientId, clean: true, keepalive: 60 } as mqttPacket.IConnectPacket);
    await this.waitFor((p) => p.cmd === 'connack', 1, 'CONNACK');
  }

  count(match: (p: RawPacket) => boolean): number {
    return this.received.filter(match).length;
  }

  async waitFor(match: (p: RawPacket) => boolean, n: number, what: string): Promise<void> {
    await waitUntil(() => this.count(match) >= n, 8000, `${n} × ${what}`);
  }

  close(): void {
    this.ws.terminate();
  }
}
