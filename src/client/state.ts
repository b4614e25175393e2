// One state per client, and the one function that says which changes are allowed.

export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'disconnecting' | 'closed';

const allowed: Record<ClientState, readonly ClientState[]> = {
  // opening the transport, sending CONNECT, waiting for CONNACK (and AUTH exchanges)
  connecting: ['connected', 'reconnecting', 'disconnecting', 'closed'],
  connected: ['reconnecting', 'disconnecting', 'closed'],
  // waiting for the backoff timer before the next attempt
  reconnecting: ['connecting', 'closed'],
  // DISCONNECT written, waiting for the transport to close
  disconnecting: ['closed'],
  closed: [],
};

export function canTransition(from: ClientState, to: ClientState): boolean {
  return allowed[from].includes(to);
}

export function assertTransition(from: ClientState, to: ClientState): void {
  if (!canTransition(from, to)) throw new Error(`client state cannot change from '${from}' to '${to}'`);
}
