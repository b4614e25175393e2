// "Test connection" in the mqtt-hub-connection form: one connection attempt with the settings as
// typed (saved or not), answered in plain words. No reconnect, a short timeout, its own client id so
// that a deployed connection using the same settings is never taken over.
import { randomBytes } from 'node:crypto';
import { brokerEndpoint } from './broker-registry';
import { connectProperties, readConnectionSettings, serverUrl, type ConnectionSettings } from './connection-settings';
import { connectClient, type ClientOptions } from './engine';
import type { AdminRequest, AdminResponse, NodeAPI, TlsConfigNode } from './node-red-types';

export type TestOutcome =
  | 'connected'
  | 'badCredentials'
  | 'notAuthorized'
  | 'refusedByServer'
  | 'tlsUntrusted'
  | 'tlsHostname'
  | 'connectionRefused'
  | 'hostUnreachable'
  | 'hostNotFound'
  | 'timeout'
  | 'closedByServer'
  | 'badSettings'
  | 'failed';

export interface TestResult {
  ok: boolean;
  outcome: TestOutcome;
  /** Plain words for the editor, in the runtime's language. */
  message: string;
  /** The CONNACK reason code (5.0) or return code (3.1.1) when the server refused. */
  reasonCode?: number;
  /** The server we dialled. */
  server?: string;
  /** The underlying error, for those who want it. */
  detail?: string;
}

/** Longest a test waits for CONNACK, whatever the form's connect timeout says. */
const TEST_TIMEOUT_MS = 8000;
/** What the editor shows in a password field of a deployed node. */
const STORED_PASSWORD = '__PWRD__';

/** 3.1.1 CONNACK return codes mapped onto the 5.0 reason codes with the same meaning. */
const V4_RETURN_CODES: Record<number, number> = { 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };

const TLS_UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** The form's fields as the editor posts them: the node's properties plus `user` and `password`. */
type TestRequest = Record<string, unknown> & { id?: string; user?: string; password?: string };

/** Apps that have the route: one per runtime, even when a harness loads the module again. */
const registered = new WeakSet<object>();

export function registerConnectionTest(RED: NodeAPI): void {
  const admin = RED.httpAdmin;
  if (!admin || registered.has(admin)) return;
  registered.add(admin);
  admin.post('/mqtt-hub/test-connection', RED.auth.needsPermission('mqtt-hub.write'), (req: AdminRequest, res: AdminResponse) => {
    testConnection(RED, (req.body ?? {}) as TestRequest).then(
      (result) => res.json(result),
      (err: Error) => res.status(500).json({ ok: false, outcome: 'failed', message: err.message }),
    );
  });
}

export async function testConnection(RED: NodeAPI, body: TestRequest): Promise<TestResult> {
  const say = (key: string, params: Record<string, unknown> = {}): string => RED._(`mqtt-hub-connection.test.${key}`, params);
  const config: Record<string, unknown> = { ...body };
  // The editor's config-node picker says "_ADD_" when none is chosen.
  if (config.tls === '_ADD_') config.tls = '';
  // Host, URL and client id may name an environment variable, as the deployed node reads them.
  for (const key of ['host', 'url', 'clientId']) {
    if (config[`${key}Type`] === 'env' && typeof config[key] === 'string') config[key] = process.env[config[key] as string] ?? '';
  }
  let settings: ConnectionSettings;
  try {
    settings = readConnectionSettings(config, credentialsFor(RED, body));
  } catch (err) {
    return { ok: false, outcome: 'badSettings', message: say('badSettings', { error: (err as Error).message }) };
  }
  let url: string;
  if (settings.serverType === 'broker-node') {
    const endpoint = brokerEndpoint(settings.brokerNode);
    if (!endpoint) return { ok: false, outcome: 'connectionRefused', message: say('brokerNodeDown') };
    const host = endpoint.host === '0.0.0.0' || endpoint.host === '::' || endpoint.host === '' ? '127.0.0.1' : endpoint.host;
    url = `mqtt://${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`;
  } else {
    url = serverUrl(settings);
  }
  let options: ClientOptions;
  try {
    options = clientOptions(RED, settings, url);
  } catch (err) {
    return { ok: false, outcome: 'badSettings', message: say('badSettings', { error: (err as Error).message }), server: url };
  }
  return attempt(url, options, settings.protocolVersion, say);
}

/** The credentials as typed; a password left as `__PWRD__` is the one stored with the deployed node. */
function credentialsFor(RED: NodeAPI, body: TestRequest): { user?: string; password?: string } {
  const user = typeof body.user === 'string' ? body.user : undefined;
  let password = typeof body.password === 'string' ? body.password : undefined;
  if (password === STORED_PASSWORD) {
    const id = typeof body.id === 'string' ? body.id : '';
    const stored = id ? RED.nodes.getCredentials?.(id) ?? RED.nodes.getNode(id)?.credentials : undefined;
    password = stored?.password;
  }
  return { user, password };
}

function clientOptions(RED: NodeAPI, s: ConnectionSettings, url: string): ClientOptions {
  const options: ClientOptions = {
    clientId: `mqtthub_test_${randomBytes(4).toString('hex')}`,
    protocolVersion: s.protocolVersion,
    keepalive: s.keepalive,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: Math.min(s.connectTimeout, TEST_TIMEOUT_MS),
    properties: connectProperties({ ...s, sessionExpiryInterval: 0 }),
  };
  if (s.username) options.username = s.username;
  if (s.password) options.password = Buffer.from(s.password);
  if (/^(mqtts|wss):/i.test(url)) {
    const tlsNode = s.tlsConfig ? (RED.nodes.getNode(s.tlsConfig) as TlsConfigNode | null) : null;
    if (s.tlsConfig && !tlsNode) throw new Error(RED._('mqtt-hub-connection.test.tlsNotDeployed'));
    if (tlsNode && tlsNode.valid === false) throw new Error(RED._('mqtt-hub.errors.tlsInvalid'));
    if (tlsNode) tlsNode.addTLSOptions(options as Record<string, unknown>);
    if (options.rejectUnauthorized === undefined) options.rejectUnauthorized = true;
  }
  return options;
}

function attempt(url: string, options: ClientOptions, version: number, say: (key: string, p?: Record<string, unknown>) => string): Promise<TestResult> {
  return new Promise((resolve) => {
    const client = connectClient(url, options);
    let done = false;
    const finish = (result: TestResult): void => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      resolve({ server: url, ...result });
      void client.end({ force: !result.ok }).catch(() => undefined);
    };
    // The client's own connect timeout should answer first; this only guards a stream that never settles.
    const guard = setTimeout(() => finish({ ok: false, outcome: 'timeout', message: say('timeout', { seconds: Math.round(TEST_TIMEOUT_MS / 1000) }) }), TEST_TIMEOUT_MS + 2000);
    client.on('connect', () => finish({ ok: true, outcome: 'connected', reasonCode: 0, message: say('connected', { server: url }) }));
    client.on('error', (err: Error) => finish(classify(err, version, options, say)));
    client.on('close', () => finish({ ok: false, outcome: 'closedByServer', message: say('closedByServer') }));
  });
}

function classify(err: Error, version: number, options: ClientOptions, say: (key: string, p?: Record<string, unknown>) => string): TestResult {
  const e = err as Error & { code?: string; reasonCode?: number; cause?: unknown };
  const detail = err.message;
  if (e.code === 'CONNACK_REFUSED' || e.reasonCode !== undefined) {
    const raw = e.reasonCode ?? 0x80;
    const code = version === 5 ? raw : V4_RETURN_CODES[raw] ?? raw;
    const hex = `0x${raw.toString(16).padStart(2, '0')}`;
    if (code === 0x86) return { ok: false, outcome: 'badCredentials', reasonCode: raw, message: say('badCredentials', { code: hex }), detail };
    if (code === 0x87) {
      // Refused without a username, the fix is to give one; with one, the user may not connect.
      return { ok: false, outcome: 'notAuthorized', reasonCode: raw, message: say(options.username ? 'notAuthorized' : 'anonymousRefused', { code: hex }), detail };
    }
    return { ok: false, outcome: 'refusedByServer', reasonCode: raw, message: say('refusedByServer', { code: hex, detail }), detail };
  }
  if (e.code === 'CONNECT_TIMEOUT') {
    return { ok: false, outcome: 'timeout', message: say('timeout', { seconds: Math.round((options.connectTimeout ?? TEST_TIMEOUT_MS) / 1000) }), detail };
  }
  const cause = (e.cause ?? {}) as { code?: string };
  const sys = cause.code ?? '';
  if (sys === 'ERR_TLS_CERT_ALTNAME_INVALID') return { ok: false, outcome: 'tlsHostname', message: say('tlsHostname'), detail };
  if (TLS_UNTRUSTED.has(sys)) return { ok: false, outcome: 'tlsUntrusted', message: say('tlsUntrusted'), detail };
  if (sys === 'ECONNREFUSED') return { ok: false, outcome: 'connectionRefused', message: say('connectionRefused'), detail };
  if (sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH' || sys === 'EADDRNOTAVAIL') return { ok: false, outcome: 'hostUnreachable', message: say('hostUnreachable'), detail };
  if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') return { ok: false, outcome: 'hostNotFound', message: say('hostNotFound'), detail };
  if (sys === 'ETIMEDOUT') return { ok: false, outcome: 'timeout', message: say('timeout', { seconds: Math.round((options.connectTimeout ?? TEST_TIMEOUT_MS) / 1000) }), detail };
  if (sys === 'ECONNRESET' || sys === 'EPIPE') return { ok: false, outcome: 'closedByServer', message: say('closedByServer'), detail };
  return { ok: false, outcome: 'failed', message: say('failed', { error: detail }), detail };
}
