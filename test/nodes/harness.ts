// Shared set-up for the node tests: Node-RED's test helper on the built nodes, and small waits.
import * as path from 'node:path';
import { waitUntil } from '../helpers/net';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestHelper;
/**
 * The Node-RED under test: the dev dependency (4.x), or the package directory named by
 * MQTT_HUB_NODE_RED, so the same tests run against another major version (`npm run test:node-red-3`).
 */
export const nodeRedPath = process.env.MQTT_HUB_NODE_RED ? require.resolve(path.resolve(process.env.MQTT_HUB_NODE_RED)) : require.resolve('node-red');
helper.init(nodeRedPath);

/** A core node module (e.g. `network/05-tls.js`) of the Node-RED under test, not of another version. */
export function coreNode(file: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [path.dirname(nodeRedPath)] })) as NodeModule;
}

/** The built node modules, found from this file's place in <dist>/test/nodes/. */
const nodesDir = path.join(__dirname, '../../nodes');
/* eslint-disable @typescript-eslint/no-require-imports */
export const connectionNode = require(path.join(nodesDir, 'mqtt-hub-connection.js')) as NodeModule;
export const inNode = require(path.join(nodesDir, 'mqtt-hub-in.js')) as NodeModule;
export const outNode = require(path.join(nodesDir, 'mqtt-hub-out.js')) as NodeModule;
export const brokerNode = require(path.join(nodesDir, 'mqtt-hub-broker.js')) as NodeModule;
/* eslint-enable @typescript-eslint/no-require-imports */
export const allNodes = [connectionNode, inNode, outNode, brokerNode];

type NodeModule = (RED: unknown) => void;

export interface TestNode {
  id: string;
  type: string;
  on(event: string, listener: (...args: any[]) => void): void;
  once(event: string, listener: (...args: any[]) => void): void;
  off(event: string, listener: (...args: any[]) => void): void;
  receive(msg: Record<string, unknown>): void;
  status: { getCalls?: unknown } & ((...args: unknown[]) => void);
  [key: string]: unknown;
}

export interface TestHelper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  /** Runtime settings for the next load, merged with the defaults (`{}` restores them). */
  settings(userSettings: Record<string, unknown>): Record<string, unknown>;
  load(nodes: NodeModule | NodeModule[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
  setFlows(flow: unknown[], type: 'full' | 'flows' | 'nodes', credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  log(): { args: unknown[][]; getCalls(): Array<{ args: unknown[] }> };
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  url(): string;
}

export type Msg = Record<string, any>;

/** Collects what a node sends (its 'input' handler on a helper node wired after it). */
export function collect(node: TestNode): Msg[] {
  const got: Msg[] = [];
  node.on('input', (msg: Msg) => got.push(msg));
  return got;
}

/** Every status the node showed, in order (the helper spies on Node.prototype.status). */
export function statuses(node: TestNode): Array<Record<string, string>> {
  const seen: Array<Record<string, string>> = [];
  node.on('call:status', (call: { args: Array<Record<string, string>> }) => seen.push(call.args[0]));
  return seen;
}

export async function waitForStatus(node: TestNode, match: (s: Record<string, string>) => boolean, what: string, timeoutMs = 5000): Promise<Record<string, string> | undefined> {
  const last = () => (node as unknown as { _lastStatus?: Record<string, string> })._lastStatus;
  return waitUntil<Record<string, string> | undefined>(() => {
    const s = last();
    return s && match(s) ? s : undefined;
  }, timeoutMs, what);
}

/** Remembers each node's latest status as `_lastStatus` (call before load). */
export function trackStatuses(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Node = require(require.resolve('@node-red/runtime/lib/nodes/Node', { paths: [path.dirname(nodeRedPath)] })) as {
    prototype: { status(s: unknown): void; _lastStatus?: unknown };
  };
  const proto = Node.prototype;
  if ((proto as { _trackingStatus?: boolean })._trackingStatus) return;
  const original = proto.status;
  proto.status = function (this: { _lastStatus?: unknown }, s: unknown) {
    this._lastStatus = typeof s === 'string' ? { text: s } : s;
    return original.call(this, s);
  };
  (proto as { _trackingStatus?: boolean })._trackingStatus = true;
}

/** Log lines the runtime printed through node.log/warn/error since load (level, text). */
export function logLines(): Array<{ level: number; msg: string; type?: string }> {
  return helper
    .log()
    .getCalls()
    .map((c) => c.args[0] as { level: number; msg: unknown; type?: string })
    .map((e) => ({ level: e.level, msg: String(e.msg), type: e.type }));
}
