// The broker node in a real Node-RED, for the bench: a fresh user dir with the build under test
// installed as a package (as the Node-RED process tests install it) and a flow of one
// mqtt-hub-broker node set like the CLI's generated mosquitto.conf, so the two columns differ only
// by the Node-RED glue. brokers.ts starts and stops the process like the other brokers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../test/helpers/net';
import { install, projectRoot } from '../../test/nodes/node-red-process';

/** The built broker node Node-RED loads through the installed package. */
const brokerNodePath = path.resolve(__dirname, '..', '..', 'nodes', 'mqtt-hub-broker.js');

function redJsPath(): string | null {
  if (projectRoot === undefined) return null;
  try {
    return require.resolve('node-red/red.js', { paths: [projectRoot] });
  } catch {
    return null;
  }
}

export function nodeRedVersion(): string {
  const redJs = redJsPath();
  if (redJs === null) return 'unknown';
  return (JSON.parse(fs.readFileSync(path.join(path.dirname(redJs), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Why Node-RED cannot run the broker node here, or null when it can (starting it is the real check). */
export function nodeRedUnavailableReason(): string | null {
  if (redJsPath() === null) return 'node-red is not installed in the project';
  return fs.existsSync(brokerNodePath) ? null : `${brokerNodePath} is not built`;
}

/**
 * The broker node's config: what bench/load/brokers.ts writes into mosquitto.conf for the CLI
 * (anonymous, persistence off, max_queued_messages 100000, max_inflight_messages 64), packet log
 * off. TCP_NODELAY has no field in the form: the engine's default applies, which is on, as
 * `set_tcp_nodelay true` sets it for the CLI. sys_interval is left at 10 s in both.
 */
function brokerFlow(port: number): unknown[] {
  return [
    { id: 'bench-flow', type: 'tab', label: 'bench' },
    {
      id: 'bench-broker',
      z: 'bench-flow',
      type: 'mqtt-hub-broker',
      name: 'bench',
      bind: 'loopback',
      port: String(port),
      allowAnonymous: true,
      maxQueuedMessages: '100000',
      maxInflightMessages: '64',
      persistence: false,
      verbose: false,
      wires: [[]],
    },
  ];
}

export interface NodeRedBrokerSetup {
  /** node [nodeArgs] red.js --userDir DIR --settings DIR/settings.js */
  command: string[];
  /** Remove it once the process has exited. */
  userDir: string;
}

/**
 * Writes a user dir whose flow runs one broker node on 127.0.0.1:port; the editor and admin API
 * listen on another free loopback port, as in any running Node-RED.
 */
export async function prepareNodeRedBroker(port: number, nodeArgs: string[]): Promise<NodeRedBrokerSetup> {
  const redJs = redJsPath();
  if (redJs === null) throw new Error('node-red is not installed in the project');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bench-nodered-'));
  try {
    install(userDir);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(brokerFlow(port)));
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: await freePort(),
      flowFile: 'flows.json',
      credentialSecret: false,
      // Problems only, as the CLI's `log_type error` and `connection_messages false`: at info the
      // node logs every client connecting and leaving, as Mosquitto does by default.
      logging: { console: { level: 'warn' } },
      telemetry: { enabled: false, updateNotification: false },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};\n`);
  } catch (err) {
    fs.rmSync(userDir, { recursive: true, force: true });
    throw err;
  }
  return { command: [process.execPath, ...nodeArgs, redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], userDir };
}

/**
 * What in Node-RED's output says the broker will not come up: an error line (the node's, naming
 * the port when it cannot listen), our package failing to load (a warning), or the flow waiting
 * for node types that did not load (at info); else null.
 */
export function nodeRedProblem(output: string): string | null {
  const lines = output.split('\n');
  const error = lines.find((l) => l.includes('[error]') || l.includes('[warn] [@mqtt-hub/node-red/'));
  if (error !== undefined) return error.replace(/^.*?\[(error|warn)\]\s*/, '').trim();
  const waiting = lines.findIndex((l) => l.includes('Waiting for missing types'));
  if (waiting < 0) return null;
  const types = lines.slice(waiting + 1).filter((l) => /\]\s+- /.test(l)).map((l) => l.replace(/^.*\]\s+- /, '').trim());
  return `Node-RED did not load node types${types.length > 0 ? ` (${types.join(', ')})` : ''}: its flow waits for them`;
}
