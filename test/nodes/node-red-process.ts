// A real Node-RED in a child process with the build under test installed as a package, for tests
// that need what the test helper leaves out: the admin API with adminAuth, translated log lines,
// the editor. Each test file starts its own and stops it in `after`.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForPort, waitUntil } from '../helpers/net';

/** The build under test: this file sits in <dist>/test/nodes/. */
const dist = path.resolve(__dirname, '../..');
/** The project (package.json, node_modules), from the working directory or the build's parent. */
export const projectRoot = [process.cwd(), path.resolve(dist, '..'), path.resolve(dist, '../..')].find(
  (d) => fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'node_modules', 'node-red')),
)!;

/** The Node-RED package under test: MQTT_HUB_NODE_RED (scripts/test-node-red-3.js), or the dev dependency. */
export const nodeRedDir = process.env.MQTT_HUB_NODE_RED
  ? path.resolve(process.env.MQTT_HUB_NODE_RED)
  : path.dirname(require.resolve('node-red/package.json', { paths: [projectRoot] }));

export interface NodeRedUser {
  username: string;
  password: string;
  permissions: string;
}

export interface NodeRedOptions {
  flows: unknown[];
  /** Credentials by node id, stored unencrypted (credentialSecret false). */
  credentials?: Record<string, Record<string, string>>;
  /** With users, the admin API needs a login. */
  users?: NodeRedUser[];
}

export interface NodeRedProcess {
  baseUrl: string;
  /** Everything Node-RED printed so far. */
  output(): string;
  /** Waits until the output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** An access token for `user` from /auth/token, asking for `scope` (a read-only user may ask only 'read'). */
  login(username: string, password: string, scope?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Installs the package into a fresh user dir the way Node-RED finds an npm-installed one: its
 * package.json, `dist` pointing at the build under test.
 */
export function install(userDir: string): void {
  const target = path.join(userDir, 'node_modules', '@mqtt-hub', 'node-red');
  fs.mkdirSync(target, { recursive: true });
  fs.copyFileSync(path.join(projectRoot, 'package.json'), path.join(target, 'package.json'));
  fs.symlinkSync(dist, path.join(target, 'dist'), 'dir');
  fs.symlinkSync(path.join(projectRoot, 'icons'), path.join(target, 'icons'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-process-test', private: true, dependencies: { '@mqtt-hub/node-red': '*' } }));
}

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRedProcess> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-nodered-'));
  install(userDir);
  const port = await freePort();
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows));
  fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials ?? {}));
  let adminAuth = '';
  if (options.users?.length) {
    // Node-RED's own bcrypt, so the hashes match what it checks.
    const bcrypt = require(require.resolve('bcryptjs', { paths: [nodeRedDir] })) as {
      hashSync(s: string, rounds: number): string;
    };
    const users = options.users.map((u) => ({ username: u.username, password: bcrypt.hashSync(u.password, 4), permissions: u.permissions }));
    adminAuth = `adminAuth: { type: 'credentials', users: ${JSON.stringify(users)} },`;
  }
  fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, flowFile: 'flows.json', credentialSecret: false, ${adminAuth}
      logging: { console: { level: 'info' } }, telemetry: { enabled: false, updateNotification: false },
      editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } } };\n`,
  );
  const redJs = path.join(nodeRedDir, 'red.js');
  const child: ChildProcess = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, '127.0.0.1', 30_000);
    await waitUntil(() => /Started flows/.test(output), 30_000, 'Node-RED to start its flows');
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  const baseUrl = `http://127.0.0.1:${port}/`;
  return {
    baseUrl,
    output: () => output,
    waitForOutput: async (pattern, timeoutMs = 5000) => {
      await waitUntil(() => pattern.test(output), timeoutMs, `output ${pattern}`);
    },
    login: async (username, password, scope = '*') => {
      const res = await fetch(`${baseUrl}auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password }),
      });
      if (res.status !== 200) throw new Error(`login as ${username}: HTTP ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop,
  };
}
