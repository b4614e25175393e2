// start_type lazy: the timer that tells when a bridge connection has been idle for idle_timeout
// (no message either way, nothing waiting to go out), so that it can be closed until it is needed.

export class IdleWatch {
  private lastActivity = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** True while messages still wait to go out: the connection is not idle then. */
    private readonly busy: () => boolean,
    private readonly onIdle: () => void,
  ) {}

  /** Traffic went through: idleness counts from now. */
  touch(): void {
    this.lastActivity = Date.now();
  }

  start(): void {
    this.stop();
    this.touch();
    this.arm(this.timeoutMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor < this.timeoutMs || this.busy()) this.arm(Math.max(this.timeoutMs - idleFor, 100));
      else this.onIdle();
    }, ms);
  }
}
