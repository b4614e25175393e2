// Bridges from our broker to upstream brokers, configured in Mosquitto's bridge vocabulary.
export { Bridge, createBridge } from './bridge';
export type { BridgeEvents, BridgeState } from './bridge';
export { resolveBridgeOptions, parseAddress } from './options';
export type { BridgeOptions, BridgeProtocolVersion, BridgeStartType, BridgeTlsOptions, RemoteAddress, ResolvedBridgeOptions, RestartTimeout } from './options';
export { compileTopic, incomingTopic, outgoingTopic } from './topic-map';
export type { BridgeDirection, BridgeTopic, TopicMapping } from './topic-map';
