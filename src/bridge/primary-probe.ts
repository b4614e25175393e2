// Mosquitto's `round_robin false`: while a bridge runs on a secondary address it keeps trying the
// primary (the first address) and goes back as soon as it accepts connections. A TCP connection
// that opens is enough to tell, as in Mosquitto; it is closed at once.
import * as net from 'node:net';
import type { RemoteAddress } from './options';

export class PrimaryProbe {
  private timer: NodeJS.Timeout | undefined;
  private socket: net.Socket | undefined;
  private stopped = false;

  constructor(
    private readonly primary: RemoteAddress,
    private readonly periodMs: number,
    private readonly onPrimaryBack: () => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.probe(), this.periodMs);
  }

  private probe(): void {
    this.timer = undefined;
    const socket = net.connect({ host: this.primary.host, port: this.primary.port });
    this.socket = socket;
    socket.once('connect', () => {
      socket.destroy();
      if (this.socket !== socket || this.stopped) return;
      this.socket = undefined;
      this.stopped = true;
      this.onPrimaryBack();
    });
    socket.once('error', () => {
      socket.destroy();
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.schedule();
    });
  }
}
