// The engine as a library: `require('@mqtt-hub/node-red')` gives the broker, the client, the codec
// and the stores, the same pieces the Node-RED nodes and the `mqtt-hub` command are built on.
export { createBroker, Broker, MemoryStore, createSecurityHooks } from './broker';
export type { BrokerAddress, BrokerEvents, BrokerMessage, BrokerStore, ClientInfo, InjectedMessage, SecurityOptions } from './broker';
export { PasswordFile, AclRules } from './auth';
export { connect, MqttClient, MqttError } from './client';
export type { ClientOptions, ClientEvents, ClientState } from './client';
export { DiskStore } from './persistence';
export type { DiskStoreOptions } from './persistence';
export { createBridge, Bridge } from './bridge';
export type { BridgeOptions } from './bridge';
export * as codec from './codec';
export * as topics from './topics';
