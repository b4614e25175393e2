// The connection controller's one state: which phase may follow which, and what each shows. The
// behaviour over real sockets is in connection-behaviour, lifecycle and reliability/nodered-faults.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { assertPhaseTransition, ConnectionPhase as P, isClosing, isLive, linkStateOf } from '../../nodes/lib/connection-phase';

const phases = Object.values(P) as P[];

function may(from: P, to: P): boolean {
  try {
    assertPhaseTransition(from, to);
    return true;
  } catch {
    return false;
  }
}

describe('connection phases', () => {
  test('every phase is reachable from Idle, and every phase but Closed leads on to Closed', () => {
    const reached = new Set<P>([P.Idle]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const from of [...reached]) for (const to of phases) if (!reached.has(to) && may(from, to)) (reached.add(to), (grew = true));
    }
    assert.deepEqual([...reached].sort(), [...phases].sort());
    for (const from of phases) {
      const seen = new Set<P>([from]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const at of [...seen]) for (const to of phases) if (!seen.has(to) && may(at, to)) (seen.add(to), (grew = true));
      }
      assert.ok(seen.has(P.Closed), `${from} can close`);
    }
  });

  test('Closed is final; a closing controller only closes', () => {
    for (const to of phases) assert.equal(may(P.Closed, to), false, `closed → ${to}`);
    assert.deepEqual(phases.filter((to) => may(P.Closing, to)), [P.Closed]);
  });

  test('a client is ended before the controller rests, and only a live client connects', () => {
    for (const rest of [P.Idle, P.HeldDown, P.Closed]) {
      for (const live of [P.Connecting, P.Connected, P.Disconnected]) assert.equal(may(live, rest), false, `${live} → ${rest} skips the ending`);
    }
    assert.equal(may(P.Ending, P.Closed), false, 'a close while ending goes through Closing');
    assert.ok(may(P.Ending, P.Closing));
    for (const from of phases) if (may(from, P.Connected)) assert.ok(from === P.Connecting || from === P.Disconnected, `${from} → connected`);
    assert.throws(() => assertPhaseTransition(P.Idle, P.Connected), /connection phase idle cannot become connected/);
  });

  test('what the nodes show for each phase', () => {
    const shown = Object.fromEntries(phases.map((p) => [p, linkStateOf(p)]));
    assert.deepEqual(shown, {
      idle: 'idle',
      'held-down': 'idle',
      'awaiting-predecessor': 'connecting',
      'awaiting-broker': 'connecting',
      failed: 'error',
      connecting: 'connecting',
      connected: 'connected',
      disconnected: 'disconnected',
      ending: 'idle',
      closing: 'idle',
      closed: 'idle',
    });
    assert.deepEqual(phases.filter(isLive), [P.Connecting, P.Connected, P.Disconnected]);
    assert.deepEqual(phases.filter(isClosing), [P.Closing, P.Closed]);
  });
});
