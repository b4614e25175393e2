export { MemoryStore } from './memory-store';
export type { BrokerStore, StoredSession, StoredSubscription, StoredInflight } from './types';
