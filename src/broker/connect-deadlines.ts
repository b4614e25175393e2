// Connections waiting for their CONNECT share one timer. They all wait the same connectTimeout, so they
// expire in the order they came: only the oldest needs a timer, instead of a setTimeout and a
// clearTimeout for every connection.
import type { Connection } from './connection';

export class ConnectDeadlines {
  /** Insertion order is arrival order, and so deadline order. */
  private readonly waiting = new Set<Connection>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweep = (): void => this.expire();

  constructor(
    private readonly timeoutMs: number,
    private readonly expired: (connection: Connection) => void,
  ) {}

  /** `connection.openedAt` is when it arrived; its CONNECT is due timeoutMs later. */
  add(connection: Connection): void {
    this.waiting.add(connection);
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  /** CONNECT came, or the connection closed. */
  delete(connection: Connection): void {
    if (!this.waiting.delete(connection) || this.waiting.size > 0 || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.sweep, ms);
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const connection of this.waiting) {
      const due = connection.openedAt + this.timeoutMs;
      if (due > now) {
        this.arm(due - now);
        return;
      }
      this.waiting.delete(connection);
      this.expired(connection);
    }
  }
}
