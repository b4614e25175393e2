// Outbound batching: packets encoded within one tick leave in one write. One write of the joined
// bytes costs far less than a stream write per packet (cork/uncork still pays each write's stream
// bookkeeping), and on a WebSocket it is one frame instead of hundreds. A batch that grows past
// `maxBytes` goes at once, so a long synchronous loop does not hold everything until its end.
import type { Duplex } from 'node:stream';

export class WriteBatch {
  private stream: Duplex | undefined;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    /** Called after each write, e.g. to note outbound traffic for keepalive. */
    private readonly written: () => void,
    private readonly maxBytes = 64 * 1024,
  ) {}

  push(stream: Duplex, bytes: Buffer): void {
    if (stream !== this.stream) {
      this.flush();
      this.stream = stream;
    }
    this.chunks.push(bytes);
    this.bytes += bytes.length;
    if (this.bytes >= this.maxBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushOnTick);
    }
  }

  private readonly flushOnTick = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** Writes what is batched now. */
  flush(): void {
    const stream = this.stream;
    if (this.chunks.length === 0 || !stream) return;
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    // A stream ended (DISCONNECT sent) or destroyed takes nothing more: no 'write after end'.
    if (stream.destroyed || stream.writableEnded) return;
    stream.write(data);
    this.written();
  }
}
