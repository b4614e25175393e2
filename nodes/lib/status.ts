// One place decides how a node's status looks, so every node shows the same shapes and colours
// for the same state, and every text is an i18n key from locales/<lang>/<type>.json.
import type { Node, NodeAPI, NodeStatus } from './node-red-types';

export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'error' | 'idle';

const shapes: Record<LinkState, NodeStatus> = {
  connecting: { fill: 'yellow', shape: 'ring' },
  connected: { fill: 'green', shape: 'dot' },
  disconnected: { fill: 'red', shape: 'ring' },
  error: { fill: 'red', shape: 'dot' },
  idle: {},
};

/**
 * Shows `state` on `node`. Without a detail the text is a bare key, which the editor translates into
 * the reader's language; a detail (a count, a reason) needs parameters, so the runtime translates the state
 * and the caller passes the detail already translated.
 */
export function showStatus(RED: NodeAPI, node: Node, state: LinkState, detail?: string): void {
  if (state === 'idle') {
    node.status({});
    return;
  }
  const key = `mqtt-hub.status.${state}`;
  const text = detail === undefined ? key : `${RED._(key)}: ${detail}`;
  node.status({ ...shapes[state], text });
}
