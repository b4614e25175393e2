// A WebSocket as the duplex stream a Connection reads and writes. MQTT over WebSocket travels in
// binary frames only [MQTT-6.0.0-1]: a text frame closes the connection. Frames are not packet
// boundaries [MQTT-6.0.0-2]: chunks go to the decoder as they come, which reassembles packets. Each
// write is sent as one frame; the connection's PacketWriter writes one whole packet at a time here.
import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/** WebSocket close code 1003: the endpoint received data of a type it does not accept (RFC 6455). */
const UNSUPPORTED_DATA = 1003;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WebSocketStream extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(UNSUPPORTED_DATA, 'MQTT needs binary frames');
        this.destroy(new Error('text frame received: MQTT over WebSocket uses binary frames [MQTT-6.0.0-1]'));
        return;
      }
      // a reader that cannot keep up pauses the WebSocket (and so the socket under it)
      if (!this.push(toBuffer(data))) ws.pause();
    });
    ws.once('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      callback();
      return;
    }
    this.ws.send(chunk, { binary: true }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ws.close();
    callback();
  }

  override _destroy(err: Error | null, callback: (error: Error | null) => void): void {
    if (this.ws.readyState === this.ws.CONNECTING || this.ws.readyState === this.ws.OPEN) {
      if (err !== null) this.ws.terminate();
      else this.ws.close();
    } else if (this.ws.readyState === this.ws.CLOSING && err !== null) {
      this.ws.terminate();
    }
    callback(err);
  }
}
