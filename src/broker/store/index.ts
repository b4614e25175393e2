export { MemoryStore } from './memory-store';
export type { BrokerStore, StoredDelivery, StoredSession, StoredSubscription, StoredInflight } from './types';
