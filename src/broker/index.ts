// The broker engine: see docs/architecture.md, section src/broker.
export { Broker, createBroker } from './broker';
export type { BrokerAddress, BrokerReload, InjectedMessage, ReloadableOptions } from './broker';
export type {
  BrokerOptions, ListenerOptions, BrokerLogger, LogLevel, ClientHandle, AuthenticateResult, EnhancedAuthStep,
  EnhancedAuthResult, ConnectionInfo, ListenerProtocol, ListenerTlsOptions,
} from './options';
export { createSecurityHooks } from './security';
export { WebSocketStream } from './websocket-stream';
export type { SecurityHooks, SecurityOptions } from './security';
export type { BrokerEvents, ClientInfo, ConnectionOpened, DropReason } from './events';
export type { BrokerMessage } from './message';
export { MemoryStore } from './store';
export type { BrokerStore, StoredDelivery, StoredSession, StoredSubscription, StoredInflight } from './store';
