// The nodes' one seam to the engine: the client and broker modules, and the types the nodes use.
import { connect, type ClientOptions, type MqttClient } from '../../src/client';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker';

export type { ClientOptions } from '../../src/client';
export type { BrokerOptions, ClientInfo } from '../../src/broker';
export type EngineClient = MqttClient;
export type EngineBroker = Broker;

export function connectClient(url: string, options: ClientOptions): MqttClient {
  return connect(url, options);
}

export function createEngineBroker(options: BrokerOptions): Broker {
  return createBroker(options);
}
