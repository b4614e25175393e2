// The MQTT client: connect by URL or options over TCP, TLS, WebSocket or secure WebSocket.
import { MqttClient } from './client';
import { ClientOptions, resolveOptions } from './options';

export { MqttClient } from './client';
export type { ClientEvents, EndOptions } from './client';
export { MqttError } from './errors';
export type { MqttErrorCode } from './errors';
export type { ClientOptions, WillOptions, AuthenticateHook, AuthResponse, NextAttempt, Scheme } from './options';
export type { ClientState } from './state';
export type { SubscriptionResult, UnsubscriptionResult } from './session';
export type {
  PublishOptions,
  SubscribeOptions,
  SubscribeFilterOptions,
  SubscribeFilters,
  SubscriptionRequest,
  UnsubscribeOptions,
} from './arguments';
export type { Clock, TimerHandle } from './clock';

/**
 * Opens the transport at once and returns the client; CONNECT is written on the next tick, so
 * listeners attached right after this call ('packetsend' included) see every packet. Listen for
 * 'connect' or await `once(client, 'connect')`.
 * `connect('mqtts://host:8883', { ca })`, `connect({ host, port, protocolVersion: 5 })`.
 */
export function connect(urlOrOptions: string | URL | ClientOptions, options?: ClientOptions): MqttClient {
  return new MqttClient(resolveOptions(urlOrOptions, options));
}
