// Entry point of a broker child process: our broker alone in its own process, so a test can read its
// memory from /proc and see a crash as an exit. Options come as JSON in MQTT_HUB_BROKER_OPTIONS; the
// parent talks over the IPC channel (see broker-process.ts).
import { createBroker, type BrokerOptions, type DropReason } from '../../../src/broker';

export interface ChildReady {
  type: 'ready';
  port: number;
}

export interface ChildStats {
  type: 'stats';
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  clients: number;
  /** Messages the broker dropped, by reason, since it started. */
  dropped: Partial<Record<DropReason, number>>;
  /** Clients the broker closed, by reason, since it started. */
  disconnects: Record<string, number>;
}

export type ChildRequest = { type: 'stats'; gc?: boolean } | { type: 'close' };

const options = JSON.parse(process.env.MQTT_HUB_BROKER_OPTIONS ?? '{}') as BrokerOptions;
const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, ...options });
const dropped: Partial<Record<DropReason, number>> = {};
const disconnects: Record<string, number> = {};
broker.on('dropped', (_message, _clientId, reason) => {
  dropped[reason] = (dropped[reason] ?? 0) + 1;
});
broker.on('clientDisconnected', (_info, reason) => {
  disconnects[reason] = (disconnects[reason] ?? 0) + 1;
});

function send(message: ChildReady | ChildStats): void {
  process.send?.(message);
}

process.on('message', (request: ChildRequest) => {
  if (request.type === 'stats') {
    // A collection first when asked, so heap figures compare live objects and not garbage.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (request.gc === true && gc !== undefined) gc();
    const m = process.memoryUsage();
    send({
      type: 'stats',
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      clients: broker.clients().length,
      dropped: { ...dropped },
      disconnects: { ...disconnects },
    });
  } else if (request.type === 'close') {
    broker.close().then(
      () => process.exit(0),
      () => process.exit(2),
    );
  }
});
// The parent going away must not leave a broker behind.
process.on('disconnect', () => process.exit(0));

broker.listen().then(
  () => send({ type: 'ready', port: broker.addresses()[0].port }),
  (err: unknown) => {
    console.error(err);
    process.exit(3);
  },
);
