// The one state of a connection, and the transitions allowed between states.

export enum ConnectionState {
  /** Accepted by the transport; only CONNECT may come [MQTT-3.1.0-1]. */
  AwaitingConnect = 'awaiting-connect',
  /** CONNECT received; authentication (a hook, or a 5.0 AUTH exchange) under way. */
  Authenticating = 'authenticating',
  /** CONNACK 0 sent. */
  Connected = 'connected',
  Closed = 'closed',
}

const allowed: Record<ConnectionState, readonly ConnectionState[]> = {
  [ConnectionState.AwaitingConnect]: [ConnectionState.Authenticating, ConnectionState.Closed],
  [ConnectionState.Authenticating]: [ConnectionState.Connected, ConnectionState.Closed],
  [ConnectionState.Connected]: [ConnectionState.Closed],
  [ConnectionState.Closed]: [],
};

export function assertTransition(from: ConnectionState, to: ConnectionState): void {
  if (!allowed[from].includes(to)) throw new Error(`connection state ${from} cannot become ${to}`);
}
