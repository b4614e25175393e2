// One abuse scenario against a broker child: the watchdog runs throughout, the broker's RSS is
// sampled every 100 ms, and afterwards the broker must be alive, the watchdog must have received
// every acknowledged message (some of them during the attack), and the peak RSS must stay under the
// bound.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { BrokerProcess, MB } from './broker-process';
import { Watchdog, type WatchdogReport } from './watchdog';

export interface AttackResult<T> {
  value: T;
  peakRss: number;
  watchdog: WatchdogReport;
}

export async function underAttack<T>(
  broker: BrokerProcess,
  rssBoundBytes: number,
  attack: () => Promise<T>,
  log: (line: string) => void = () => undefined,
): Promise<AttackResult<T>> {
  const watchdog = await Watchdog.start(broker.port);
  // some traffic before the attack, so "during" is measured against a flow that was running
  await new Promise((r) => setTimeout(r, 100));
  const stopWatch = broker.watchRss(100);
  watchdog.attackStarted();
  let value: T;
  try {
    value = await attack();
    // the bystander must get through while the broker is still digesting the attack
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    watchdog.attackEnded();
  }
  const peakRss = stopWatch();
  const report = await watchdog.stop();
  log(`peak RSS ${(peakRss / MB).toFixed(1)} MB (bound ${rssBoundBytes / MB} MB); watchdog sent ${report.sent}, acknowledged ${report.acknowledged}, received ${report.received} (${report.receivedDuringAttack} during the attack), missing ${report.missing.length}`);
  assert.ok(broker.alive, broker.describeExit());
  assert.equal(report.acknowledged, report.sent, 'every watchdog publish acknowledged');
  assert.deepEqual(report.missing, [], 'no acknowledged watchdog message lost');
  assert.ok(report.receivedDuringAttack > 0, 'the watchdog received messages while the attack ran');
  assert.ok(peakRss < rssBoundBytes, `peak RSS ${(peakRss / MB).toFixed(1)} MB < ${rssBoundBytes / MB} MB`);
  return { value, peakRss, watchdog: report };
}

/** A plain TCP connection to the broker, connected; errors are swallowed (resets are expected). */
export function openSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves true when the peer closed the socket within timeoutMs, false otherwise. */
export function closedWithin(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
    socket.resume(); // read (and drop) whatever the broker sends, so 'end' can come
  });
}

/** Runs `task` over `items` with at most `limit` running at once. */
export async function inBatches<I, R>(items: I[], limit: number, task: (item: I, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
