// A full deploy closes every node and creates it anew, the mqtt-hub-connection config node too. So
// that such a deploy costs no DISCONNECT/CONNECT (and retained messages do not fire again), a config
// node closing for a redeploy leaves its live controller here, keyed by node id, and the new node
// with the same id and the same settings adopts it. Whatever nobody adopts is ended: when the new
// flows have started, when the runtime stops without a deploy, and in any case after HANDOVER_GRACE_MS.
import type { EventEmitter } from 'node:events';
import type { ConnectionSettings } from './connection-settings';
import type { ConnectionController } from './connection-controller';
import type { Node, NodeAPI, TlsConfigNode } from './node-red-types';

/** How long a closed config node's client waits for its successor. */
export const HANDOVER_GRACE_MS = 5000;

interface Handover {
  fingerprint: string;
  controller: ConnectionController;
  timer: NodeJS.Timeout;
  /** The closed node, for a warning if ending the client fails. */
  node: Node;
}

const handovers = new Map<string, Handover>();
/** Runtimes whose flow events we follow (a module function runs once per load, in tests many times). */
const watched = new WeakSet<EventEmitter>();

/**
 * Everything that shapes the connection: every setting, the credentials, and what the tls-config node
 * would add (its files may change while its id does not). Equal strings mean the client may be reused.
 */
export function connectionFingerprint(RED: NodeAPI, settings: ConnectionSettings): string {
  let tls: Record<string, unknown> | null = null;
  if (settings.tlsConfig) {
    const tlsNode = RED.nodes.getNode(settings.tlsConfig) as TlsConfigNode | null;
    tls = { valid: tlsNode?.valid, options: tlsNode ? tlsNode.addTLSOptions({}) : null };
  }
  return JSON.stringify({ settings, tls });
}

/** Leaves `controller` for the next node with `id`; it is ended if nobody takes it in time. */
export function offerHandover(id: string, fingerprint: string, controller: ConnectionController, node: Node): void {
  endHandover(id);
  const timer = setTimeout(() => endHandover(id), HANDOVER_GRACE_MS);
  // The runtime stopping ends it anyway; this timer alone must not keep a process alive.
  timer.unref();
  handovers.set(id, { fingerprint, controller, timer, node });
}

/**
 * What the previous node with `id` left: its controller when the settings are the same; otherwise
 * that controller is ended and `ended` settles once its DISCONNECT is out and its socket closed, so
 * the successor does not dial (perhaps with the same client id) while it is still connected.
 */
export function takeHandover(id: string, fingerprint: string): { controller: ConnectionController | null; ended: Promise<void> | null } {
  const handover = handovers.get(id);
  if (!handover) return { controller: null, ended: null };
  if (handover.fingerprint !== fingerprint) return { controller: null, ended: endHandover(id) };
  clearTimeout(handover.timer);
  handovers.delete(id);
  return { controller: handover.controller, ended: null };
}

function endHandover(id: string): Promise<void> | null {
  const handover = handovers.get(id);
  if (!handover) return null;
  clearTimeout(handover.timer);
  handovers.delete(id);
  return handover.controller.close().catch((err: Error) => handover.node.warn(err.message));
}

function endAll(): void {
  for (const id of [...handovers.keys()]) endHandover(id);
}

/** How many clients wait for a successor (tests count them). */
export function pendingHandovers(): number {
  return handovers.size;
}

/**
 * Ends the handovers nobody can take any more: once new flows have started every successor exists,
 * and a stop that is not part of a deploy (shutdown, tests unloading) has no successors at all.
 */
export function watchFlowEvents(RED: NodeAPI): void {
  const events = RED.events;
  if (!events || watched.has(events)) return;
  watched.add(events);
  events.on('flows:started', endAll);
  events.on('runtime-event', (event: { id?: string; payload?: { state?: string; deploy?: boolean } }) => {
    if (event?.id === 'runtime-state' && event.payload?.state === 'stop' && !event.payload.deploy) endAll();
  });
}
