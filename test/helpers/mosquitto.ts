import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForPort } from './net';

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (after the default listener). */
  extraConfig?: string[];
  /** Also open a TLS listener with these files. */
  tls?: { cert: string; key: string; ca?: string; requireCertificate?: boolean };
  /** Keep persistence on (a fixed dir) so a restart keeps sessions. */
  persistence?: boolean;
}

export interface MosquittoInstance {
  port: number;
  tlsPort?: number;
  dir: string;
  process: ChildProcess;
  /** Output mosquitto printed (it runs with -v). */
  log(): string;
  /** SIGKILL or SIGTERM the broker and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same ports and config (after stop). */
  restart(): Promise<void>;
}

let cachedAvailable: boolean | undefined;
/** True where the mosquitto binary is installed (.ci/run installs it). */
export function mosquittoAvailable(): boolean {
  if (cachedAvailable === undefined) {
    try {
      execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
      cachedAvailable = true;
    } catch (err) {
      // mosquitto -h exits 3 after printing its usage: it is there.
      cachedAvailable = (err as { status?: number }).status !== undefined && (err as { code?: string }).code !== 'ENOENT';
    }
  }
  return cachedAvailable;
}

/** Starts a real Mosquitto on free loopback ports with anonymous access, for interop tests. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-mosquitto-'));
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    `listener ${port} 127.0.0.1`,
    'log_dest stdout',
    'log_type all',
  ];
  // Run as root, Mosquitto drops to the `mosquitto` user and then cannot read the certificates, password
  // and ACL files that tests keep in private temporary folders.
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot && !(opts.extraConfig ?? []).some((l) => /^user\s/.test(l))) lines.push('user root');
  if (opts.tls && tlsPort) {
    lines.push(`listener ${tlsPort} 127.0.0.1`, `certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`);
    if (opts.tls.ca) lines.push(`cafile ${opts.tls.ca}`);
    lines.push(`require_certificate ${opts.tls.requireCertificate ? 'true' : 'false'}`);
  }
  if (opts.persistence) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
  lines.push(...(opts.extraConfig ?? []));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, lines.join('\n') + '\n');

  let output = '';
  const inst: MosquittoInstance = {
    port,
    tlsPort,
    dir,
    process: undefined as unknown as ChildProcess,
    log: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      const p = inst.process;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill(signal);
      });
    },
    restart: async () => {
      await launch();
    },
  };
  async function launch(): Promise<void> {
    const child = spawn('mosquitto', ['-c', conf, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    inst.process = child;
    try {
      await waitForPort(port);
      if (tlsPort) await waitForPort(tlsPort);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start: ${(err as Error).message}\n${output}`);
    }
  }
  await launch();
  return inst;
}

/** Stop and remove the instance's files. */
export async function disposeMosquitto(inst: MosquittoInstance): Promise<void> {
  await inst.stop();
  fs.rmSync(inst.dir, { recursive: true, force: true });
}
