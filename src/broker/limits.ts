// Limits hit by clients: each hit is counted (published under $SYS/broker/limits/...) and logged,
// at most one line per limit per second so that a flood cannot flood the log too.
import type { Connection } from './connection';
import type { Log } from './logger';

/** The $SYS name of each limit hit, below `$SYS/broker/limits/`. */
export const LIMIT_KINDS = [
  'connections/refused', // maxConnections
  'messages/dropped/queue-full', // maxQueuedMessages, maxQueuedBytes
  'messages/dropped/rate', // maxPublishRate: the PUBLISH beyond the rate
  'messages/dropped/buffer-full', // maxOutgoingBufferSize with 'drop-qos0'
  'messages/dropped/message-size', // messageSizeLimit
  'messages/dropped/too-large', // larger than the receiving client's Maximum Packet Size
  'clients/disconnected/slow', // maxOutgoingBufferSize with 'disconnect'
  'clients/disconnected/rate', // maxPublishRate
  'subscriptions/refused', // maxSubscriptionsPerClient
  'packets/refused/too-large', // maxPacketSize (inbound)
] as const;

export type LimitKind = (typeof LIMIT_KINDS)[number];

const LOG_INTERVAL_MS = 1000;

export class LimitCounters {
  readonly counts: Record<LimitKind, number>;
  private readonly loggedAt: Record<LimitKind, number>;
  private readonly unlogged: Record<LimitKind, number>;

  constructor(private readonly log: Log) {
    const zero = (): Record<LimitKind, number> => Object.fromEntries(LIMIT_KINDS.map((k) => [k, 0])) as Record<LimitKind, number>;
    this.counts = zero();
    this.loggedAt = zero();
    this.unlogged = zero();
  }

  /** Counts one hit that its caller logs itself (or not). */
  count(kind: LimitKind): void {
    this.counts[kind]++;
  }

  /** Counts one hit; `detail` builds the log line only when one is written. */
  hit(kind: LimitKind, detail: () => string): void {
    this.counts[kind]++;
    const now = Date.now();
    if (now - this.loggedAt[kind] < LOG_INTERVAL_MS) {
      this.unlogged[kind]++;
      return;
    }
    const more = this.unlogged[kind];
    this.loggedAt[kind] = now;
    this.unlogged[kind] = 0;
    this.log.warn(`limit ${kind}: ${detail()}${more > 0 ? ` (and ${more} more since the last line)` : ''}`);
  }
}

/**
 * A token bucket for maxPublishRate: `rate` tokens a second, as many in reserve (a burst of one
 * second's worth), one taken per PUBLISH. No timer: tokens are added when the next PUBLISH comes.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.refilledAt = now;
  }

  take(now: number): boolean {
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.rate, this.tokens + (elapsed * this.rate) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Slow clients whose disconnection is scheduled (writable() may be asked again before it happens). */
const closingSlow = new WeakSet<Connection>();

/**
 * A client that stopped reading: closed on the next tick, not inside the routing under way (closing
 * may publish its Will, which routes again), and nothing more is written to it, not even DISCONNECT.
 */
export function disconnectSlowClient(c: Connection): void {
  if (closingSlow.has(c)) return;
  closingSlow.add(c);
  const core = c.core;
  core.limits.hit('clients/disconnected/slow', () => `client ${c.label()} disconnected: ${c.unsentBytes()} bytes unread, more than maxOutgoingBufferSize ${core.options.maxOutgoingBufferSize}`);
  process.nextTick(() => {
    c.close('slow-client');
    c.stream.destroy();
  });
}
