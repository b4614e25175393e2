// Delay before the next connection attempt, as Mosquitto's `restart_timeout base cap`: "Decorrelated
// Jitter" (each delay random between base and three times the previous one, capped), so bridges cut
// off together do not come back together. base === cap is the constant form `restart_timeout N`.

export class RestartBackoff {
  private previous: number;

  constructor(
    private readonly base: number,
    private readonly cap: number,
    private readonly random: () => number = Math.random,
  ) {
    this.previous = base;
  }

  /** Seconds to wait before the next attempt. */
  next(): number {
    if (this.cap <= this.base) return this.base;
    const upper = Math.max(this.base, this.previous * 3);
    this.previous = Math.min(this.cap, this.base + this.random() * (upper - this.base));
    return this.previous;
  }

  /** A connection succeeded: the next loss starts again from the base. */
  reset(): void {
    this.previous = this.base;
  }
}
