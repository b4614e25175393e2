// The store's contents in memory, changed only by applying records: the same code path serves a
// live write, a log replay and a snapshot load, so what is read after a restart is what was read
// before it. Reads return copies, as the memory store does.
import type { BrokerMessage } from '../broker/message';
import { matchRetainedTopics } from '../broker/store/retained-match';
import type { StoredDelivery, StoredInflight, StoredSession, StoredSubscription } from '../broker/store/types';
import { Op, type StoreOp } from './records';

interface SessionRecord {
  session: StoredSession;
  subscriptions: Map<string, StoredSubscription>;
  queue: StoredDelivery[];
  inflight: Map<number, StoredInflight>;
}

export class StoreState {
  readonly retained = new Map<string, BrokerMessage>();
  readonly sessions = new Map<string, SessionRecord>();

  apply(r: StoreOp): void {
    switch (r.op) {
      case Op.RetainSet:
        // a retained message with an empty payload removes the one stored [MQTT-3.3.1-10], [MQTT-3.3.1-11]
        if (r.message.payload.length === 0) this.retained.delete(r.message.topic);
        else this.retained.set(r.message.topic, r.message);
        break;
      case Op.RetainDelete:
        this.retained.delete(r.topic);
        break;
      case Op.SessionSave: {
        const record = this.sessions.get(r.session.clientId);
        if (record !== undefined) record.session = r.session;
        else this.sessions.set(r.session.clientId, { session: r.session, subscriptions: new Map(), queue: [], inflight: new Map() });
        break;
      }
      case Op.SessionDelete:
        this.sessions.delete(r.clientId);
        break;
      case Op.SubscriptionsAdd: {
        const record = this.record(r.clientId);
        for (const s of r.subscriptions) record.subscriptions.set(s.topicFilter, s);
        break;
      }
      case Op.SubscriptionsRemove: {
        const record = this.sessions.get(r.clientId);
        if (record !== undefined) for (const f of r.topicFilters) record.subscriptions.delete(f);
        break;
      }
      case Op.Enqueue:
        this.record(r.clientId).queue.push(r.delivery);
        break;
      case Op.QueueClear: {
        const record = this.sessions.get(r.clientId);
        if (record !== undefined) record.queue = [];
        break;
      }
      case Op.Dequeue:
        this.sessions.get(r.clientId)?.queue.splice(0, r.count);
        break;
      case Op.InflightPut:
        this.record(r.clientId).inflight.set(r.entry.packetId, r.entry);
        break;
      case Op.InflightRemove:
        this.sessions.get(r.clientId)?.inflight.delete(r.packetId);
        break;
      case Op.InflightClear:
        this.sessions.get(r.clientId)?.inflight.clear();
        break;
      case Op.SnapshotEnd:
        break;
      case Op.Group:
        for (const inner of r.records) this.apply(inner);
        break;
    }
  }

  /** Records that rebuild this state from nothing, for a snapshot. */
  *records(): Generator<StoreOp> {
    for (const message of this.retained.values()) yield { op: Op.RetainSet, message };
    for (const [clientId, record] of this.sessions) {
      yield { op: Op.SessionSave, session: record.session };
      if (record.subscriptions.size > 0) yield { op: Op.SubscriptionsAdd, clientId, subscriptions: [...record.subscriptions.values()] };
      for (const delivery of record.queue) yield { op: Op.Enqueue, clientId, delivery };
      // a Map keeps first-insertion order: replayed in that order, getInflight keeps its order
      for (const entry of record.inflight.values()) yield { op: Op.InflightPut, clientId, entry };
    }
  }

  getRetained(topic: string): BrokerMessage | undefined {
    const m = this.retained.get(topic);
    return m === undefined ? undefined : { ...m };
  }

  matchRetained(topicFilter: string): BrokerMessage[] {
    return matchRetainedTopics(this.retained, topicFilter).map((m) => ({ ...m }));
  }

  getSession(clientId: string): StoredSession | undefined {
    const record = this.sessions.get(clientId);
    return record === undefined ? undefined : { ...record.session };
  }

  listSessions(): StoredSession[] {
    return [...this.sessions.values()].map((r) => ({ ...r.session }));
  }

  getSubscriptions(clientId: string): StoredSubscription[] {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : [...record.subscriptions.values()].map((s) => ({ ...s }));
  }

  getQueued(clientId: string): StoredDelivery[] {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : record.queue.map((d) => ({ ...d }));
  }

  getInflight(clientId: string): StoredInflight[] {
    const record = this.sessions.get(clientId);
    return record === undefined ? [] : [...record.inflight.values()].map((e) => ({ ...e }));
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
