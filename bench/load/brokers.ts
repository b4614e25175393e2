// Launchers for the brokers under test, each its own child process on a free loopback port with
// TCP_NODELAY on: ours through its CLI and Mosquitto with the same generated mosquitto.conf, Aedes
// through aedes-broker.js, our broker node in a Node-RED (nodered-broker.ts). Brokers start through
// bash to raise the open-files limit to the hard limit.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForPort } from '../../test/helpers/net';
import { stopChild, track } from './children';
import { LoadConnection } from './load-connection';
import { nodeRedProblem, nodeRedUnavailableReason, prepareNodeRedBroker } from './nodered-broker';
import { residentBytes } from './proc';

export type BrokerKind = 'mqtt-hub' | 'aedes' | 'mosquitto' | 'node-red';

export const BROKER_LABELS: Record<BrokerKind, string> = { 'mqtt-hub': 'mqtt-hub', aedes: 'Aedes', mosquitto: 'Mosquitto', 'node-red': 'mqtt-hub in Node-RED' };

export interface BrokerProcess {
  kind: BrokerKind;
  port: number;
  pid: number;
  /** Resident set size now, in bytes. */
  residentBytes(): number;
  /** The temporary folder of its mosquitto.conf or of Node-RED's user dir (null for Aedes); removed on stop. */
  dir: string | null;
  /** What the broker printed (the last 64 KB). */
  output(): string;
  stop(): Promise<void>;
}

/** The build folder this file runs from (<build>/bench/load/brokers.js). */
const buildRoot = path.resolve(__dirname, '..', '..');
export const ourCliPath = path.join(buildRoot, 'src', 'cli', 'main.js');
const aedesLauncherPath = path.join(__dirname, 'aedes-broker.js');

const RAISE_FD_LIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
const START_TIMEOUT_MS = 10_000;
/** Node-RED loads its core nodes and the flow before the broker node listens. */
const NODE_RED_START_TIMEOUT_MS = 60_000;
/** Node-RED stops its flows on SIGTERM: time for that (and for a --cpu-prof file to be written). */
const NODE_RED_STOP_GRACE_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

/**
 * One mosquitto.conf for Mosquitto and for our broker (whose CLI reads the same format), so both run
 * with the same settings.
 */
function brokerConfig(port: number): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'set_tcp_nodelay true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    // A line per connection would be measured in the idle-connections scenario.
    'connection_messages false',
    // Room to queue: the bench keeps its own bound on what is on the way, and a dropped QoS 1/2
    // message would stall a window instead of measuring throughput.
    'max_queued_messages 100000',
    // Mosquitto also takes this as the limit of incoming QoS 2 flows and disconnects a 3.1.1 client
    // past it (default 20); the QoS 2 scenario keeps 64 in flight.
    'max_inflight_messages 64',
    '',
  ].join('\n');
}

/** Why a broker cannot run here, or null when it can (our CLI is checked further by probing it). */
export function unavailableReason(kind: BrokerKind): string | null {
  switch (kind) {
    case 'mqtt-hub':
      return fs.existsSync(ourCliPath) ? null : `${ourCliPath} is not built`;
    case 'aedes':
      return fs.existsSync(aedesLauncherPath) ? null : `${aedesLauncherPath} is not built`;
    case 'mosquitto':
      try {
        execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
        return null;
      } catch (err) {
        // mosquitto -h exits 3 after printing its usage: it is installed.
        return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'mosquitto is not installed' : null;
      }
    case 'node-red':
      return nodeRedUnavailableReason();
  }
}

export function mosquittoVersion(): string {
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'pipe' });
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    const m = /mosquitto version (\S+)/.exec(out);
    if (m) return m[1];
  }
  return 'unknown';
}

/**
 * Starts a broker on 127.0.0.1:port and resolves once it answers a CONNECT. `nodeArgs` go to the
 * node brokers (ours, Aedes, Node-RED), e.g. `--cpu-prof`.
 */
export async function startBroker(kind: BrokerKind, port: number, nodeArgs: string[] = []): Promise<BrokerProcess> {
  // Node-RED takes seconds from the port being picked to the node listening on it; on a busy
  // machine an outgoing connection may take the port meanwhile. The node's error names it: pick another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(kind, port, nodeArgs);
    } catch (err) {
      if (kind !== 'node-red' || attempt === 3 || !(err as Error).message.split('\n')[0].includes(`port ${port}`)) throw err;
      port = await freePort();
    }
  }
}

async function startOnce(kind: BrokerKind, port: number, nodeArgs: string[]): Promise<BrokerProcess> {
  let command: string[];
  let confDir: string | null = null;
  const writeConfig = (): string => {
    confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bench-broker-'));
    const conf = path.join(confDir, 'mosquitto.conf');
    fs.writeFileSync(conf, brokerConfig(port));
    return conf;
  };
  switch (kind) {
    case 'mqtt-hub':
      command = [process.execPath, ...nodeArgs, ourCliPath, 'broker', '-c', writeConfig()];
      break;
    case 'aedes':
      command = [process.execPath, ...nodeArgs, aedesLauncherPath, String(port)];
      break;
    case 'mosquitto':
      command = ['mosquitto', '-c', writeConfig()];
      break;
    case 'node-red': {
      const setup = await prepareNodeRedBroker(port, nodeArgs);
      confDir = setup.userDir;
      command = setup.command;
      break;
    }
  }
  const child: ChildProcess = track(spawn('bash', ['-c', RAISE_FD_LIMIT, 'bench-broker', ...command], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  // Node-RED keeps running when the node fails to listen: its error line ends the wait.
  let onProblem = (_problem: string): void => {};
  const collect = (d: Buffer): void => {
    output = (output + d.toString()).slice(-OUTPUT_LIMIT);
    const problem = kind === 'node-red' ? nodeRedProblem(output) : null;
    if (problem !== null) onProblem(problem);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const cleanup = (): void => {
    if (confDir !== null) fs.rmSync(confDir, { recursive: true, force: true });
  };
  const broker: BrokerProcess = {
    kind,
    port,
    pid: child.pid!,
    dir: confDir,
    residentBytes: () => residentBytes(child.pid!),
    output: () => output,
    stop: async () => {
      await stopChild(child, kind === 'node-red' ? NODE_RED_STOP_GRACE_MS : undefined);
      cleanup();
    },
  };
  try {
    const exitedEarly = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`${kind} exited (${signal ?? code}) before accepting connections:\n${output}`)));
      onProblem = (problem) => reject(new Error(`${problem}\n${output}`));
    });
    exitedEarly.catch(() => {});
    await Promise.race([waitForPort(port, '127.0.0.1', kind === 'node-red' ? NODE_RED_START_TIMEOUT_MS : START_TIMEOUT_MS), exitedEarly]);
    // Accepting TCP is not enough: it must answer an MQTT CONNECT.
    const probe = await Promise.race([LoadConnection.open({ port, clientId: 'bench-probe', timeoutMs: START_TIMEOUT_MS }), exitedEarly]);
    probe.close();
  } catch (err) {
    await broker.stop();
    // Node-RED's own log line says best why, first.
    const problem = kind === 'node-red' ? nodeRedProblem(output) : null;
    throw problem === null || (err as Error).message.startsWith(problem) ? err : new Error(`${problem}\n${(err as Error).message}\n${output}`);
  }
  return broker;
}
