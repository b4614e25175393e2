#!/usr/bin/env node
// `mqtt-hub <command>`: one executable for the broker and the command line clients.
// Commands are loaded only when used, so `mqtt-hub pub` does not load the broker and a command
// whose module is missing fails with a clear message instead of at startup.

import * as fs from 'node:fs';
import * as path from 'node:path';

type CommandMain = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { module: string; summary: string }> = {
  broker: { module: './broker', summary: 'run an MQTT broker (mosquitto.conf-compatible options)' },
  pub: { module: './pub', summary: 'publish a message (mosquitto_pub options)' },
  sub: { module: './sub', summary: 'subscribe and print messages (mosquitto_sub options)' },
  passwd: { module: './passwd', summary: 'manage a password file (mosquitto_passwd options)' },
};

let cachedVersion: string | undefined;
/**
 * The package's version, from the nearest package.json above this file: the build output sits at a
 * different depth (dist/src/cli) than the sources (src/cli).
 */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@mqtt-hub/node-red' && pkg.version) {
        cachedVersion = pkg.version;
        break;
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  return cachedVersion;
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    `mqtt-hub ${packageVersion()}`,
    '',
    'Usage: mqtt-hub <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'mqtt-hub <command> --help shows the options of a command.',
    'mqtt-hub --version prints the version.',
    '',
  ].join('\n');
}

function loadCommand(name: string): CommandMain {
  const { module } = COMMANDS[name];
  let loaded: { main?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(module) as { main?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(module.slice(2))) {
      throw new Error(`the '${name}' command is not available in this build (${module}.js is missing)`);
    }
    throw err;
  }
  if (typeof loaded.main !== 'function') throw new Error(`the '${name}' command has no main function`);
  return loaded.main as CommandMain;
}

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(usage());
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`mqtt-hub ${packageVersion()}\n`);
    return 0;
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) {
    process.stderr.write(`mqtt-hub: unknown command '${command}'\n\n${usage()}`);
    return 1;
  }
  let main: CommandMain;
  try {
    main = loadCommand(command);
  } catch (err) {
    process.stderr.write(`mqtt-hub: ${(err as Error).message}\n`);
    return 1;
  }
  return main(rest);
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Commands close what they open; a stray handle must not keep a finished command alive.
      setImmediate(() => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`mqtt-hub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
