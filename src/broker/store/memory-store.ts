// The in-memory store: the default, and the reference the abstract store suite is written against.
import type { BrokerMessage } from '../message';
import { matchRetainedTopics } from './retained-match';
import type { BrokerStore, StoredDelivery, StoredInflight, StoredSession, StoredSubscription } from './types';

interface SessionRecord {
  session: StoredSession;
  subscriptions: Map<string, StoredSubscription>;
  queue: StoredDelivery[];
  inflight: Map<number, StoredInflight>;
}

export class MemoryStore implements BrokerStore {
  private readonly retained = new Map<string, BrokerMessage>();
  private readonly sessions = new Map<string, SessionRecord>();

  async storeRetained(message: BrokerMessage): Promise<void> {
    // a retained message with an empty payload removes the one stored [MQTT-3.3.1-10], [MQTT-3.3.1-11]
    if (message.payload.length === 0) this.retained.delete(message.topic);
    else this.retained.set(message.topic, message);
  }

  async getRetained(topic: string): Promise<BrokerMessage | undefined> {
    return this.retained.get(topic);
  }

  async matchRetained(topicFilter: string): Promise<BrokerMessage[]> {
    return matchRetainedTopics(this.retained, topicFilter);
  }

  matchRetainedNow(topicFilter: string): BrokerMessage[] {
    return matchRetainedTopics(this.retained, topicFilter);
  }

  async countRetained(): Promise<number> {
    return this.retained.size;
  }

  async saveSession(session: StoredSession): Promise<void> {
    const record = this.sessions.get(session.clientId);
    if (record !== undefined) record.session = { ...session };
    else this.sessions.set(session.clientId, { session: { ...session }, subscriptions: new Map(), queue: [], inflight: new Map() });
  }

  async getSession(clientId: string): Promise<StoredSession | undefined> {
    const record = this.sessions.get(clientId);
    return record === undefined ? undefined : { ...record.session };
  }

  async deleteSession(clientId: string): Promise<void> {
    this.sessions.delete(clientId);
  }

  async listSessions(): Promise<StoredSession[]> {
    return [...this.sessions.values()].map((r) => ({ ...r.session }));
  }

  async addSubscriptions(clientId: string, subscriptions: StoredSubscription[]): Promise<void> {
    const record = this.record(clientId);
    for (const s of subscriptions) record.subscriptions.set(s.topicFilter, { ...s });
  }

  async removeSubscriptions(clientId: string, topicFilters: string[]): Promise<void> {
    const record = this.sessions.get(clientId);
    if (record === undefined) return;
    for (const f of topicFilters) record.subscriptions.delete(f);
  }

  async getSubscriptions(clientId: string): Promise<StoredSubscription[]> {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : [...record.subscriptions.values()].map((s) => ({ ...s }));
  }

  async enqueue(clientId: string, delivery: StoredDelivery): Promise<void> {
    this.record(clientId).queue.push({ ...delivery });
  }

  async getQueued(clientId: string): Promise<StoredDelivery[]> {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : record.queue.map((d) => ({ ...d }));
  }

  async dequeue(clientId: string, count: number): Promise<void> {
    this.sessions.get(clientId)?.queue.splice(0, count);
  }

  async clearQueued(clientId: string): Promise<void> {
    const record = this.sessions.get(clientId);
    if (record !== undefined) record.queue.length = 0;
  }

  async putInflight(clientId: string, entry: StoredInflight): Promise<void> {
    this.record(clientId).inflight.set(entry.packetId, { ...entry });
  }

  async removeInflight(clientId: string, packetId: number): Promise<void> {
    this.sessions.get(clientId)?.inflight.delete(packetId);
  }

  async getInflight(clientId: string): Promise<StoredInflight[]> {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : [...record.inflight.values()].map((e) => ({ ...e }));
  }

  async clearInflight(clientId: string): Promise<void> {
    this.sessions.get(clientId)?.inflight.clear();
  }

  async close(): Promise<void> {
    this.retained.clear();
    this.sessions.clear();
  }

  /** Subscriptions, queue and in-flight entries may arrive before saveSession; keep them anyway. */
  private record(clientId: string): SessionRecord {
    let record = this.sessions.get(clientId);
    if (record === undefined) {
      record = {
        session: { clientId, protocolVersion: 4, sessionExpiryInterval: 0 },
        subscriptions: new Map(),
        queue: [],
        inflight: new Map(),
      };
      this.sessions.set(clientId, record);
    }
    return record;
  }
}
