// Keepalive: a PINGREQ when the link has been quiet in either direction for a keepalive period
// [MQTT-3.1.2-23], and a dead link declared when no packet comes back within the ping timeout.
// Quiet inbound counts too, so a client that only publishes QoS 0 still finds out that nobody is
// listening any more.
import { Clock, Timer } from './clock';

export class KeepaliveMonitor {
  private readonly checkTimer: Timer;
  private readonly responseTimer: Timer;
  private intervalMs = 0;
  private timeoutMs = 0;
  private lastSent = 0;
  private lastReceived = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sendPing: () => void,
    private readonly onDeadLink: (waitedMs: number) => void,
  ) {
    this.checkTimer = new Timer(clock);
    this.responseTimer = new Timer(clock);
  }

  /** Starts watching; `keepaliveSeconds` 0 turns the mechanism off (section 3.1.2.10). */
  start(keepaliveSeconds: number, pingTimeoutMs: number): void {
    this.stop();
    if (keepaliveSeconds <= 0) return;
    this.intervalMs = keepaliveSeconds * 1000;
    this.timeoutMs = pingTimeoutMs > 0 ? pingTimeoutMs : this.intervalMs;
    this.lastSent = this.lastReceived = this.clock.now();
    this.schedule();
  }

  stop(): void {
    this.intervalMs = 0;
    this.checkTimer.clear();
    this.responseTimer.clear();
  }

  packetSent(): void {
    this.lastSent = this.clock.now();
  }

  /** Any packet from the server shows the link is alive. */
  packetReceived(): void {
    this.lastReceived = this.clock.now();
    this.responseTimer.clear();
  }

  private schedule(): void {
    const due = Math.min(this.lastSent, this.lastReceived) + this.intervalMs;
    this.checkTimer.set(Math.max(0, due - this.clock.now()), () => this.check());
  }

  private check(): void {
    if (this.intervalMs === 0) return;
    const now = this.clock.now();
    if (now - Math.min(this.lastSent, this.lastReceived) < this.intervalMs) {
      this.schedule();
      return;
    }
    if (!this.responseTimer.active) {
      const timeout = this.timeoutMs;
      this.responseTimer.set(timeout, () => this.onDeadLink(timeout));
      this.sendPing();
    }
    this.lastSent = now;
    // The ping is the traffic out; look again one period on whatever has come in by then.
    this.checkTimer.set(this.intervalMs, () => this.check());
  }
}
