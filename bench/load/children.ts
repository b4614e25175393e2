// Every child process the bench starts is registered here, so all of them are killed at the end of a
// run, on an error and on SIGINT/SIGTERM, and none outlives the harness.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function liveChildren(): number[] {
  return [...live].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child exited. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function killAllSync(): void {
  for (const child of live) if (!exited(child)) child.kill('SIGKILL');
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, 1000)));
}

/**
 * Installs handlers that kill every tracked child when this process exits or is interrupted;
 * returns a function removing them again.
 */
export function guardChildren(): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    killAllSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', killAllSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('exit', killAllSync);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

let tasksetAvailable: boolean | undefined;
let pinning = false;

/**
 * Turns CPU pinning on or off for this run (off by default: on a machine where other work runs too,
 * a fixed core can be the busy one, and the scheduler does better).
 */
export function setPinning(enabled: boolean): void {
  pinning = enabled;
}

/**
 * Pins a process (all its threads) to one CPU, so the broker and the load generator do not take
 * turns on the same core. A no-op unless enabled, on a single-core machine or without taskset.
 */
export function pinToCpu(pid: number, cpu: number): boolean {
  if (!pinning || os.cpus().length < 2) return false;
  if (tasksetAvailable === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      tasksetAvailable = true;
    } catch {
      tasksetAvailable = false;
    }
  }
  if (!tasksetAvailable) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu % os.cpus().length), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
