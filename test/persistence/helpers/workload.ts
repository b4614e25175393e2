// Seeded sequences of store changes of every kind, each of which changes something (so that the
// disk store writes exactly one log record per change), with a memory store as the reference.
import type { BrokerMessage } from '../../../src/broker/message';
import { MemoryStore } from '../../../src/broker/store';
import type { BrokerStore } from '../../../src/broker/store';

/** mulberry32: small, seeded, good enough to pick test cases reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Change = (store: BrokerStore) => Promise<void>;

const CLIENTS = ['alpha', 'beta', 'gamma'];

function bytes(random: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

function message(random: () => number, topic: string, withProperties: boolean): BrokerMessage {
  const m: BrokerMessage = { topic, payload: bytes(random, 1 + Math.floor(random() * 40)), qos: (1 + Math.floor(random() * 2)) as 1 | 2, retain: random() < 0.5 };
  if (withProperties) {
    m.properties = { correlationData: bytes(random, 5), userProperties: [['n', String(Math.floor(random() * 100))], ['n', '\u0000x']], contentType: 'bin' };
    m.expiresAt = 1_800_000_000_000 + Math.floor(random() * 1000);
  }
  return m;
}

/**
 * `count` changes picked at random among those that change the reference's contents; they are
 * applied to `reference` as they are made (the reference then holds the state after all of them).
 */
export async function makeChanges(seed: number, count: number, reference: MemoryStore): Promise<Change[]> {
  const random = prng(seed);
  const changes: Change[] = [];
  let packetId = 1;
  while (changes.length < count) {
    const client = CLIENTS[Math.floor(random() * CLIENTS.length)];
    const kind = Math.floor(random() * 11);
    let change: Change | null = null;
    const session = await reference.getSession(client);
    switch (kind) {
      case 0:
      case 1: {
        const m = message(random, `r/${Math.floor(random() * 5)}`, random() < 0.5);
        change = (s) => s.storeRetained(m);
        break;
      }
      case 2: {
        const topic = `r/${Math.floor(random() * 5)}`;
        if ((await reference.getRetained(topic)) !== undefined) change = (s) => s.storeRetained({ topic, payload: Buffer.alloc(0), qos: 0, retain: true });
        break;
      }
      case 3: {
        const saved = { clientId: client, protocolVersion: 5, sessionExpiryInterval: 1 + Math.floor(random() * 1000), disconnectedAt: 1_700_000_000_000 + changes.length };
        change = (s) => s.saveSession(saved);
        break;
      }
      case 4:
        if (session !== undefined && random() < 0.3) change = (s) => s.deleteSession(client);
        break;
      case 5: {
        const subs = [{ topicFilter: `f/${Math.floor(random() * 4)}/#`, qos: Math.floor(random() * 3) as 0 | 1 | 2, subscriptionIdentifier: 1 + Math.floor(random() * 100) }];
        change = (s) => s.addSubscriptions(client, subs);
        break;
      }
      case 6: {
        const have = (await reference.getSubscriptions(client)).map((x) => x.topicFilter);
        if (have.length > 0) {
          const filters = [have[Math.floor(random() * have.length)]];
          change = (s) => s.removeSubscriptions(client, filters);
        }
        break;
      }
      case 7:
      case 8: {
        const d = { message: message(random, `q/${client}`, random() < 0.3), qos: 1 as const, subscriptionIdentifiers: [3] };
        change = (s) => s.enqueue(client, d);
        break;
      }
      case 9: {
        if ((await reference.getQueued(client)).length > 0 && random() < 0.3) change = (s) => s.clearQueued(client);
        break;
      }
      case 10: {
        const inflight = await reference.getInflight(client);
        if (inflight.length > 0 && random() < 0.4) {
          const id = inflight[Math.floor(random() * inflight.length)].packetId;
          change = random() < 0.5 ? (s) => s.removeInflight(client, id) : (s) => s.clearInflight(client);
        } else {
          const entry = { packetId: packetId++, state: (random() < 0.5 ? 'publish' : 'pubrel') as 'publish' | 'pubrel', qos: 2 as const, message: message(random, `i/${client}`, random() < 0.3) };
          change = (s) => s.putInflight(client, entry);
        }
        break;
      }
    }
    if (change === null) continue;
    await change(reference);
    changes.push(change);
  }
  return changes;
}

/** Everything a store holds for the workload's clients, in a comparable form. */
export async function dump(store: BrokerStore): Promise<unknown> {
  const retained = [...(await store.matchRetained('#')), ...(await store.matchRetained('$SYS/#'))].sort((a, b) => a.topic.localeCompare(b.topic));
  const sessions = (await store.listSessions()).sort((a, b) => a.clientId.localeCompare(b.clientId));
  const clients: Record<string, unknown> = {};
  for (const c of CLIENTS) {
    clients[c] = {
      subscriptions: (await store.getSubscriptions(c)).sort((a, b) => a.topicFilter.localeCompare(b.topicFilter)),
      queued: await store.getQueued(c),
      inflight: await store.getInflight(c),
    };
  }
  return { retained, sessions, clients };
}
