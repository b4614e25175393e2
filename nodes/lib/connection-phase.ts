// The one state of a connection config node's controller, the transitions allowed between its
// phases, and what each phase shows on the in and out nodes. It takes the place of separate flags
// (closed, held down, waiting for the broker node, the link state) that could disagree.
import type { LinkState } from './status';

export enum ConnectionPhase {
  /** No client, none wanted until a node registers (with auto-connect) or a `connect` action. */
  Idle = 'idle',
  /** A dynamic `disconnect` action: no client until a `connect` action. */
  HeldDown = 'held-down',
  /** Started; the previous config node's client is still ending, so it does not dial yet. */
  AwaitingPredecessor = 'awaiting-predecessor',
  /** Started in broker-node mode; the broker node is not listening yet. */
  AwaitingBroker = 'awaiting-broker',
  /** The client could not be created (settings, TLS files); no client. */
  Failed = 'failed',
  /** A client is dialling, the first time or again. */
  Connecting = 'connecting',
  Connected = 'connected',
  /** The client lost its connection or could not make one; it dials again. */
  Disconnected = 'disconnected',
  /** The client is ending (close message, DISCONNECT); then Idle or HeldDown. */
  Ending = 'ending',
  /** The config node is closing: its client ends; then Closed. */
  Closing = 'closing',
  /** The config node closed: nothing starts again. */
  Closed = 'closed',
}

const P = ConnectionPhase;
/** Where a start may go when no client exists. */
const starting = [P.AwaitingPredecessor, P.AwaitingBroker, P.Connecting] as const;

const allowed: Record<ConnectionPhase, readonly ConnectionPhase[]> = {
  [P.Idle]: [...starting, P.Idle, P.HeldDown, P.Closed],
  [P.HeldDown]: [...starting, P.HeldDown, P.Closed],
  [P.AwaitingPredecessor]: [...starting, P.Idle, P.HeldDown, P.Closed],
  [P.AwaitingBroker]: [P.AwaitingBroker, P.Connecting, P.Idle, P.HeldDown, P.Closed],
  [P.Failed]: [...starting, P.Idle, P.HeldDown, P.Closed],
  // a dial that fails before the client exists ends in Failed
  [P.Connecting]: [P.Connecting, P.Failed, P.Connected, P.Disconnected, P.Ending, P.Closing],
  [P.Connected]: [P.Connecting, P.Disconnected, P.Ending, P.Closing],
  [P.Disconnected]: [P.Disconnected, P.Connecting, P.Connected, P.Ending, P.Closing],
  // a `close` while a client ends turns the ending into the closing
  [P.Ending]: [P.Idle, P.HeldDown, P.Closing],
  [P.Closing]: [P.Closed],
  [P.Closed]: [],
};

/** Throws when the controller would go from `from` to `to`: the one check of every change of phase. */
export function assertPhaseTransition(from: ConnectionPhase, to: ConnectionPhase): void {
  if (!allowed[from].includes(to)) throw new Error(`connection phase ${from} cannot become ${to}`);
}

/** Phases in which a client exists and nothing is stopping it. */
export function isLive(phase: ConnectionPhase): boolean {
  return phase === P.Connecting || phase === P.Connected || phase === P.Disconnected;
}

/** Phases in which the config node is going or gone. */
export function isClosing(phase: ConnectionPhase): boolean {
  return phase === P.Closing || phase === P.Closed;
}

/**
 * What the nodes' status shows for a phase. An ending client keeps the status it had until it is
 * gone (Ending and Closing change nothing visible: the caller does not report them).
 */
export function linkStateOf(phase: ConnectionPhase): LinkState {
  switch (phase) {
    case P.AwaitingPredecessor:
    case P.AwaitingBroker:
    case P.Connecting:
      return 'connecting';
    case P.Connected:
      return 'connected';
    case P.Disconnected:
      return 'disconnected';
    case P.Failed:
      return 'error';
    default:
      return 'idle';
  }
}
