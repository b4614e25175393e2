// `mqtt-hub pub`: publish one message (or each line of stdin) and exit, with mosquitto_pub's
// options, messages and exit codes. Each publish is awaited until its QoS flow completes (PUBACK
// for QoS 1, PUBCOMP for QoS 2), so a zero exit code means every flow completed; a 5.0 broker's
// refusal of a message is a warning on stderr, as with mosquitto_pub.
import * as fs from 'node:fs';
import type { MqttClient } from '../client';
import { MqttError } from '../client';
import type { PubArgs } from './client-args';
import { CliIo, connectClient, SetupError } from './client-connection';
import { reasonString } from './client-errors';
import { defaultIo, parseOrReport } from './client-main';

/** Reads the whole of a stream (-s). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Lines of a stream (-l), split on '\n' only, as mosquitto_pub does; a last line without '\n' counts. */
async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = Buffer.concat([pending, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)]);
    let newline: number;
    while ((newline = pending.indexOf(0x0a)) >= 0) {
      yield pending.subarray(0, newline);
      pending = pending.subarray(newline + 1);
    }
  }
  if (pending.length > 0) yield pending;
}

/** The payload for -m, -n, -f and -s, read before connecting so a missing file costs no connection. */
async function fixedPayload(args: PubArgs, io: CliIo): Promise<Buffer | number> {
  const m = args.message;
  switch (m.kind) {
    case 'message':
      return m.payload;
    case 'null':
      return Buffer.alloc(0);
    case 'stdin':
      return readAll(io.stdin);
    case 'file':
      try {
        return fs.readFileSync(m.path);
      } catch {
        io.stderr.write(`Error: Unable to open file "${m.path}".\nError loading input file "${m.path}".\n`);
        return 1;
      }
    case 'lines':
      throw new Error('lines are read while connected');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Publishes one message. A 5.0 server that refuses it (PUBACK / PUBREC reason code >= 0x80) costs
 * a warning, not the exit code, and the next message still goes, as with mosquitto_pub: its "mid"
 * counts the messages, starting at 1. Anything else (a lost connection) throws.
 */
async function publishOne(client: MqttClient, args: PubArgs, io: CliIo, mid: number, payload: Buffer): Promise<void> {
  try {
    await client.publish(args.topic, payload, { qos: args.qos, retain: args.retain, properties: args.properties.publish });
  } catch (err) {
    if (!(err instanceof MqttError && err.code === 'PUBLISH_REJECTED' && err.reasonCode !== undefined)) throw err;
    if (!args.quiet) io.stderr.write(`Warning: Publish ${mid} failed: ${reasonString(err.reasonCode)}.\n`);
  }
}

async function publishAll(client: MqttClient, args: PubArgs, io: CliIo, payload: Buffer | undefined): Promise<void> {
  let mid = 0;
  if (args.message.kind === 'lines') {
    for await (const line of readLines(io.stdin)) await publishOne(client, args, io, ++mid, line);
    return;
  }
  for (let i = 0; i < args.repeat; i++) {
    if (i > 0 && args.repeatDelay > 0) await sleep(args.repeatDelay * 1000);
    await publishOne(client, args, io, ++mid, payload as Buffer);
  }
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const args = parseOrReport('pub', argv, io);
  if (typeof args === 'number') return args;
  let payload: Buffer | undefined;
  if (args.message.kind !== 'lines') {
    const p = await fixedPayload(args, io);
    if (typeof p === 'number') return p;
    payload = p;
  }
  let outcome;
  try {
    outcome = await connectClient(args, io, 0);
  } catch (err) {
    if (!(err instanceof SetupError || err instanceof MqttError)) throw err;
    io.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
  if ('exitCode' in outcome) return outcome.exitCode;
  const { client } = outcome;
  let exitCode = 0;
  client.on('error', () => {
    // Failures reach the pending publish as a rejection; listening keeps them from going unobserved.
  });
  try {
    await publishAll(client, args, io, payload);
  } catch (err) {
    if (!args.quiet) io.stderr.write(`Error: Publish failed: ${(err as Error).message}\n`);
    exitCode = 1;
  }
  await client.end({ properties: args.protocolVersion === 5 ? args.properties.disconnect : undefined });
  return exitCode;
}
