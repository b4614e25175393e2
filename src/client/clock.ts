// The client's only view of time, so keepalive, timeouts and backoff run on a fake clock in tests.

export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One named timer: set replaces, clear is idempotent. */
export class Timer {
  private handle: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  get active(): boolean {
    return this.handle !== undefined;
  }

  set(ms: number, fn: () => void): void {
    this.clear();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      fn();
    }, ms);
  }

  clear(): void {
    if (this.handle !== undefined) {
      this.clock.clearTimeout(this.handle);
      this.handle = undefined;
    }
  }
}
