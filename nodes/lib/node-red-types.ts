// The part of Node-RED's runtime API these nodes use, typed here so the package needs no @types
// packages for Node-RED. Shapes follow Node-RED 3.x and 4.x (both call the same functions).
import type { Server } from 'node:http';
import type { EventEmitter } from 'node:events';

export type NodeMessage = Record<string, unknown> & { _msgid?: string };

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type NodeSend = (msg: NodeMessage | Array<NodeMessage | null> | null) => void;
export type NodeDone = (err?: Error) => void;

/** A runtime node instance: `this` inside a node constructor after `RED.nodes.createNode`. */
export interface Node<TCredentials = Record<string, string | undefined>> extends EventEmitter {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: TCredentials;
  status(status: NodeStatus | string): void;
  send(msg: NodeMessage | Array<NodeMessage | null> | null): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown, originalMessage?: NodeMessage): void;
  debug(msg: unknown): void;
  trace(msg: unknown): void;
  on(event: 'input', listener: (msg: NodeMessage, send: NodeSend, done: NodeDone) => void): this;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): this;
  on(event: string, listener: (...args: never[]) => void): this;
}

/** The config object Node-RED hands a node constructor: the node's saved properties. */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

/** Node-RED's `tls-config` node, as the core MQTT and HTTP nodes use it. */
export interface TlsConfigNode extends Node {
  valid?: boolean;
  verifyservercert?: boolean;
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    getNode(id: string): Node | null;
    /** A deployed node's stored credentials (the editor only ever sees `__PWRD__` for a password). */
    getCredentials?(id: string): Record<string, string | undefined> | undefined;
    registerType(
      type: string,
      constructor: (this: Node, def: NodeDef) => void,
      opts?: { credentials?: Record<string, { type: 'text' | 'password' }>; settings?: Record<string, unknown> },
    ): void;
  };
  log: {
    info(msg: unknown): void;
    warn(msg: unknown): void;
    error(msg: unknown): void;
    debug(msg: unknown): void;
    trace(msg: unknown): void;
  };
  util: {
    generateId(): string;
    cloneMessage<T>(msg: T): T;
    evaluateNodeProperty(value: unknown, type: string, node: Node, msg: NodeMessage | null): unknown;
    getSetting?(node: Node, name: string): unknown;
  };
  settings: Record<string, unknown>;
  /** The runtime's event bus (flows:started, runtime-event, ...). */
  events?: EventEmitter;
  /** The editor's Express app (absent when the editor is off). */
  httpAdmin?: AdminApp;
  auth: { needsPermission(permission: string): AdminHandler };
  comms: { publish(topic: string, data: unknown, retain: boolean): void };
  /** Node-RED's HTTP server (absent in some embedded set-ups). */
  server?: Server;
  _(key: string, params?: Record<string, unknown>): string;
}

/** The part of an Express request and response the admin endpoints use. */
export interface AdminRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

export interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): void;
  sendStatus(code: number): void;
}

export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: () => void) => void;

export interface AdminApp {
  get(path: string, ...handlers: AdminHandler[]): void;
  post(path: string, ...handlers: AdminHandler[]): void;
  delete(path: string, ...handlers: AdminHandler[]): void;
}
