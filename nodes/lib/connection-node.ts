// How in and out nodes reach their mqtt-hub-connection config node's controller.
import type { ConnectionController } from './connection-controller';
import type { Node, NodeAPI } from './node-red-types';

export interface ConnectionNode extends Node {
  controller: ConnectionController | null;
  /** Why the controller could not be made (a bad setting), for the users' status. */
  settingsError?: string;
}

export function findConnection(RED: NodeAPI, id: unknown): ConnectionNode | null {
  if (typeof id !== 'string' || !id) return null;
  const node = RED.nodes.getNode(id) as ConnectionNode | null;
  return node && node.type === 'mqtt-hub-connection' ? node : null;
}
