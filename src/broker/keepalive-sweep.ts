// Keep alive [MQTT-3.1.2-24]: one timer for all connections, each checked against its own last whole
// packet every half second, instead of a timer per connection. A client is closed between 1.5 × its
// keep alive and half a second later.
import type { Connection } from './connection';

const SWEEP_MS = 500;

export class KeepaliveSweep {
  private readonly watched = new Set<Connection>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweep = (): void => {
    const now = Date.now();
    // a connection closed by its check leaves the set during the loop, which Set iteration allows
    for (const connection of this.watched) connection.checkKeepalive(now);
  };

  add(connection: Connection): void {
    this.watched.add(connection);
    if (this.timer !== undefined) return;
    this.timer = setInterval(this.sweep, SWEEP_MS);
    this.timer.unref?.();
  }

  delete(connection: Connection): void {
    if (!this.watched.delete(connection) || this.watched.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
