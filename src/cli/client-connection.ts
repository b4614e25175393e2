// Connecting `mqtt-hub pub` and `mqtt-hub sub`: client options from the command line, -d packet
// tracing worded like mosquitto's ("Client x sending CONNECT"), and connection failures turned into
// mosquitto's messages and exit codes (a refused CONNACK exits with its reason code).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { connect, MqttClient, MqttError } from '../client';
import type { ClientOptions } from '../client';
import type { Packet } from '../codec/types';
import type { CommonArgs } from './client-args';
import { connackString, transportErrorText } from './client-errors';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A problem found before connecting (an unreadable certificate file); exit code 1. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

function readTlsFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new SetupError('Problem setting TLS options: File not found.');
  }
}

/** The CA certificates in a --capath directory (*.crt and *.pem, as mosquitto's c_rehash layout uses). */
function readCaPath(dir: string): Buffer[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new SetupError('Problem setting TLS options: File not found.');
  }
  return names.filter((n) => /\.(crt|pem|\d+)$/.test(n)).map((n) => readTlsFile(path.join(dir, n)));
}

/**
 * --tls-version as libmosquitto reads it: the lowest version allowed (tlsv1.2 still lets TLS 1.3
 * be negotiated). A value it does not know fails even without TLS, as mosquitto_pub's does.
 */
function tlsMinVersion(text: string | undefined): tls.SecureVersion | undefined {
  if (text === undefined) return undefined;
  const versions: Record<string, tls.SecureVersion> = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' };
  const version = Object.hasOwn(versions, text) ? versions[text] : undefined;
  if (version === undefined) throw new SetupError('Problem setting TLS options, check the options are valid.');
  return version;
}

/** Client options for the command line; reads the TLS files. */
export function clientOptions(args: CommonArgs, reconnectPeriod: number): ClientOptions {
  const minVersion = tlsMinVersion(args.tlsVersion);
  const o: ClientOptions = {
    protocol: args.scheme,
    host: args.host,
    port: args.port,
    protocolVersion: args.protocolVersion,
    // Under 5.0 with no -i the server assigns the id [MQTT-3.1.3-6], as mosquitto's clients let it.
    clientId: args.clientId ?? (args.protocolVersion === 5 ? '' : undefined),
    clean: args.clean,
    keepalive: args.keepalive,
    reconnectPeriod,
  };
  if (args.path !== undefined) o.path = args.path;
  if (args.username !== undefined) o.username = args.username;
  if (args.password !== undefined) o.password = args.password;
  if (args.will) {
    o.will = { topic: args.will.topic, payload: args.will.payload, qos: args.will.qos, retain: args.will.retain };
    if (args.properties.will) o.will.properties = args.properties.will;
  }
  if (args.protocolVersion === 5 && args.properties.connect) o.properties = args.properties.connect;
  if (args.tls) {
    const t = args.tls;
    const ca: (string | Buffer)[] = [];
    if (t.cafile !== undefined) ca.push(readTlsFile(t.cafile));
    if (t.capath !== undefined) ca.push(...readCaPath(t.capath));
    // Node trusts its own CA list only when no `ca` is given; with --tls-use-os-certs add it back.
    if (ca.length > 0) o.ca = t.useOsCerts ? [...tls.rootCertificates, ...ca] : ca;
    if (t.cert !== undefined) o.cert = readTlsFile(t.cert);
    if (t.key !== undefined) o.key = readTlsFile(t.key);
    // --insecure skips the host name check only, as mosquitto's does: the chain is still verified.
    if (t.insecure) o.checkServerIdentity = () => undefined;
    if (t.alpn !== undefined) o.ALPNProtocols = [t.alpn];
    if (minVersion !== undefined) o.minVersion = minVersion;
  }
  return o;
}

/** The subscription options byte without the QoS bits, as mosquitto's -d shows it. */
function optionsByte(s: { noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: number }): string {
  const byte = (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4);
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** The -d lines for one packet, without the "Client <id> sending|received " prefix. */
export function describePacket(packet: Packet, sending: boolean): string[] {
  switch (packet.type) {
    case 'connack':
      return [`CONNACK (${packet.reasonCode})`];
    case 'publish':
      return [`PUBLISH (d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, m${packet.packetId ?? 0}, '${packet.topic}', ... (${packet.payload.length} bytes))`];
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const name = packet.type.toUpperCase();
      const rc = packet.reasonCode ?? 0;
      return [sending ? `${name} (m${packet.packetId}, rc${rc})` : `${name} (Mid: ${packet.packetId}, RC:${rc})`];
    }
    case 'subscribe':
      return packet.subscriptions.map((s) => `SUBSCRIBE (Mid: ${packet.packetId}, Topic: ${s.topicFilter}, QoS: ${s.qos}, Options: ${optionsByte(s)})`);
    case 'unsubscribe':
      return packet.topicFilters.map((f) => `UNSUBSCRIBE (Mid: ${packet.packetId}, Topic: ${f})`);
    case 'disconnect':
      return [packet.reasonCode ? `DISCONNECT (${packet.reasonCode})` : 'DISCONNECT'];
    case 'auth':
      return [`AUTH (${packet.reasonCode ?? 0})`];
    default:
      return [packet.type.toUpperCase()];
  }
}

/** -d: print every packet sent and received to stdout, as mosquitto's clients do. */
export function traceClient(client: MqttClient, io: CliIo): void {
  const prefix = () => `Client ${client.clientId === '' ? '(null)' : client.clientId}`;
  client.on('packetsend', (packet) => {
    for (const line of describePacket(packet, true)) io.stdout.write(`${prefix()} sending ${line}\n`);
  });
  client.on('packetreceive', (packet) => {
    for (const line of describePacket(packet, false)) io.stdout.write(`${prefix()} received ${line}\n`);
    if (packet.type === 'suback') io.stdout.write(`Subscribed (mid: ${packet.packetId}): ${packet.reasonCodes.join(', ')}\n`);
  });
}

/** An OpenSSL failure that Node reports as a socket error (EPROTO: an alert from the server). */
const opensslReason = /SSL routines:[^:]*:([^:]+)/;

function isTlsError(err: Error | undefined): boolean {
  if (!err) return false;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const library = (err as { library?: string }).library ?? '';
  return (
    code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SIGNATURE|ISSUER/.test(code) ||
    library.includes('SSL') || err.message.includes('certificate') || opensslReason.test(err.message)
  );
}

/** The reason OpenSSL gives, without Node's "write EPROTO <address>:error:<code>:" wrapping. */
function tlsErrorText(err: Error): string {
  return err.message.match(opensslReason)?.[1] ?? err.message.trim();
}

/** Exit code and stderr lines for a connection that failed before CONNACK, worded as mosquitto words them. */
export function describeConnectFailure(err: MqttError, protocolVersion: number): { exitCode: number; lines: string[] } {
  if (err.code === 'CONNACK_REFUSED' && err.reasonCode !== undefined) {
    return { exitCode: err.reasonCode, lines: [`Connection error: ${connackString(err.reasonCode, protocolVersion)}`] };
  }
  const cause = err.cause instanceof Error ? err.cause : undefined;
  if (err.code === 'TRANSPORT_ERROR' && cause) {
    if (isTlsError(cause)) return { exitCode: 1, lines: [`OpenSSL Error: ${tlsErrorText(cause)}`, 'Unable to connect (A TLS error occurred.).'] };
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { exitCode: 1, lines: ['Unable to connect (Lookup error.).'] };
    return { exitCode: 1, lines: [`Error: ${transportErrorText(cause)}`] };
  }
  return { exitCode: 1, lines: [`Error: ${err.message}`] };
}

export type ConnectOutcome = { client: MqttClient } | { exitCode: number };

/**
 * Connects and waits for CONNACK. On failure ends the client, prints the reason (unless --quiet)
 * and gives the exit code.
 */
export function connectClient(
  args: CommonArgs,
  io: CliIo,
  reconnectPeriod: number,
  /** Called before any packet is read: messages of a kept session may come right behind CONNACK. */
  onCreated?: (client: MqttClient) => void,
): Promise<ConnectOutcome> {
  const client = connect(clientOptions(args, reconnectPeriod));
  onCreated?.(client);
  // CONNECT leaves on the next tick: the trace sees it like every other packet.
  if (args.debug) traceClient(client, io);
  return new Promise((resolve) => {
    let firstError: MqttError | undefined;
    const fail = (err: MqttError) => {
      client.off('connect', onConnect);
      client.off('close', onClose);
      const { exitCode, lines } = describeConnectFailure(err, args.protocolVersion);
      if (!args.quiet) for (const line of lines) io.stderr.write(`${line}\n`);
      void client.end({ force: true }).then(() => resolve({ exitCode }));
    };
    const onError = (err: MqttError) => {
      firstError ??= err;
    };
    const onConnect = () => {
      client.off('close', onClose);
      client.off('error', onError);
      resolve({ client });
    };
    // The stream closes after every failed attempt; the first error says why.
    const onClose = () => fail(firstError ?? new MqttError('CONNECTION_LOST', 'The connection was lost before CONNACK.'));
    client.on('error', onError);
    client.once('connect', onConnect);
    client.once('close', onClose);
  });
}
