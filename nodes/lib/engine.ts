// The nodes' one seam to the engine: the client and broker modules, typed by what the nodes use.
// The broker module is loaded on first use, so a connection-only flow never loads it.
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Properties, QoS, PublishPacket } from '../../src/codec/types';
import { connect, type ClientOptions, type MqttClient } from '../../src/client';

export type { ClientOptions } from '../../src/client';
export type EngineClient = MqttClient;

export type MessageListener = (topic: string, payload: Buffer, packet: PublishPacket) => void;

export interface ListenerOptions {
  port: number;
  host?: string;
  protocol?: 'mqtt' | 'ws';
  path?: string;
  tls?: Record<string, unknown>;
}

export interface BrokerOptions {
  listeners: ListenerOptions[];
  maxConnections?: number;
  maxPacketSize?: number;
  maxQueuedMessages?: number;
  maxInflightMessages?: number;
  sysInterval?: number;
  logger?: unknown;
  authenticate?: (...args: never[]) => unknown;
  [option: string]: unknown;
}

export interface EngineBroker extends EventEmitter {
  listen(): Promise<void>;
  close(): Promise<void>;
  handle(stream: Duplex, info?: Record<string, unknown>): void;
  publish(msg: { topic: string; payload: Buffer; qos?: QoS; retain?: boolean; properties?: Properties }): Promise<void>;
  addresses(): Array<{ address: string; port: number; family?: string; protocol?: string }>;
  clients(): unknown[] | Map<string, unknown> | number;
}

interface BrokerModule {
  createBroker(options: BrokerOptions): EngineBroker;
}

export function connectClient(url: string, options: ClientOptions): MqttClient {
  return connect(url, options);
}

export function createEngineBroker(options: BrokerOptions): EngineBroker {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('../../src/broker') as BrokerModule;
  return mod.createBroker(options);
}
