// Faults on command, in a loop: every few tens of milliseconds the proxy cuts every connection, or
// arms byte limits so the next links die in the middle of a packet, or stalls them for a moment.
// Bounded in count; stopping waits for the loop to finish its current step.
import type { FaultProxy } from '../../helpers/fault-proxy';
import type { Random } from './random';

export interface FaultTally {
  cuts: number;
  tornLinks: number;
  stalls: number;
}

export function startFaults(proxy: FaultProxy, random: Random, maxFaults: number): { stop(): Promise<FaultTally>; done: Promise<void> } {
  const tally: FaultTally = { cuts: 0, tornLinks: 0, stalls: 0 };
  let stopped = false;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const done = (async () => {
    for (let i = 0; i < maxFaults && !stopped; i++) {
      await sleep(random.int(20, 150));
      if (stopped) break;
      const kind = random.int(0, 9);
      if (kind < 6) {
        proxy.cutAll();
        tally.cuts++;
      } else if (kind < 9) {
        // the next links die after a random number of bytes, one way or the other: a packet torn in two
        proxy.cutAfter((dir) => (random.next() < 0.5 ? random.int(dir === 'up' ? 1 : 2, 3000) : undefined));
        proxy.cutAll();
        tally.cuts++;
        await sleep(random.int(50, 200));
        proxy.cutAfter(undefined);
      } else {
        proxy.stall();
        tally.stalls++;
        await sleep(random.int(50, 400));
        proxy.resume();
      }
    }
    proxy.cutAfter(undefined);
    proxy.resume();
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      await done;
      tally.tornLinks = proxy.cutsByLimit;
      return tally;
    },
  };
}

/**
 * Per sequence number, how often it arrived: the acknowledged ones that never did (lost), and every
 * arrival beyond the first (duplicated).
 */
export function tallySequence(received: Map<number, number>, total: number, acknowledged: Set<number>): { lost: number[]; duplicated: number } {
  const lost: number[] = [];
  let duplicated = 0;
  for (let i = 0; i < total; i++) {
    const n = received.get(i) ?? 0;
    if (n === 0 && acknowledged.has(i)) lost.push(i);
    if (n > 1) duplicated += n - 1;
  }
  return { lost, duplicated };
}
