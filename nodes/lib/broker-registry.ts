// Broker nodes announce where they listen, so a connection set to "the broker node in this
// Node-RED" can dial it over loopback whenever it is up, whichever node Node-RED started first.
import { EventEmitter } from 'node:events';

export interface BrokerEndpoint {
  host: string;
  port: number;
}

const endpoints = new Map<string, BrokerEndpoint>();
const events = new EventEmitter();
events.setMaxListeners(0);

export function announceBroker(id: string, endpoint: BrokerEndpoint | null): void {
  if (endpoint) endpoints.set(id, endpoint);
  else endpoints.delete(id);
  events.emit(id, endpoint);
}

export function brokerEndpoint(id: string): BrokerEndpoint | undefined {
  return endpoints.get(id);
}

/** Calls `listener` each time broker node `id` starts or stops listening; returns the unsubscribe. */
export function watchBroker(id: string, listener: (endpoint: BrokerEndpoint | null) => void): () => void {
  events.on(id, listener);
  return () => events.off(id, listener);
}
