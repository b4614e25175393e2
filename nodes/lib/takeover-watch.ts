// Takeover-loop detection: two clients with one client id keep taking the session from each other
// [MQTT-3.1.4-3]. Seen as a DISCONNECT 0x8E Session taken over, or as connections that keep ending
// within seconds of their CONNACK; either way the user is told once, until a connection lasts.

/** A connection cut this soon after CONNACK counts towards the loop. */
const SHORT_LIVED_MS = 10_000;
/** Short-lived connections in a row that make a loop. */
const SHORT_LIVED_IN_A_ROW = 3;

export class TakeoverWatch {
  private connectedAt = 0;
  private shortLivedInARow = 0;
  private warned = false;

  /** `warn` says it to the user (once per loop). */
  constructor(private readonly warn: () => void) {}

  connected(now: number): void {
    this.connectedAt = now;
  }

  /** A connected link ended. */
  lost(now: number): void {
    if (now - this.connectedAt < SHORT_LIVED_MS) {
      if (++this.shortLivedInARow >= SHORT_LIVED_IN_A_ROW) this.takenOver();
    } else {
      this.shortLivedInARow = 0;
      this.warned = false;
    }
  }

  /** The server said so (DISCONNECT 0x8E), or the connections say so. */
  takenOver(): void {
    if (this.warned) return;
    this.warned = true;
    this.warn();
  }
}
