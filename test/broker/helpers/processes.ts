// Child processes for interop and CLI tests: run to completion with a timeout, or keep running
// with their output collected line by line; every process started is killed by `killAll`.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  lines(): string[];
  exited: Promise<RunResult>;
  kill(signal?: NodeJS.Signals): Promise<RunResult>;
}

const started = new Set<ChildProcess>();

export function start(command: string, args: string[], env?: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<RunResult>((resolve) => {
    child.once('error', (e) => {
      err += String(e);
    });
    child.once('close', (code, signal) => {
      started.delete(child);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').filter((l) => l.length > 0),
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion; kills it (SIGKILL) and rejects after timeoutMs. */
export async function run(command: string, args: string[], timeoutMs = 10_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const p = start(command, args, env);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every process started here that is still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  const list = [...started];
  await Promise.all(
    list.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('close', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/** Polls until `check` is true or rejects after timeoutMs. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
