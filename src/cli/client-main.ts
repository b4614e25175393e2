// What `mqtt-hub pub` and `mqtt-hub sub` share around their work: reading the command line and
// answering --help, --version and bad arguments the way mosquitto's clients do.
import { parseClientArgs, PubArgs, SubArgs, Tool } from './client-args';
import type { CliIo } from './client-connection';
import { ArgsError } from './client-errors';
import { usage, versionLine } from './client-usage';

export function defaultIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** The parsed arguments, or the exit code once help, the version or an error has been printed. */
export function parseOrReport(tool: 'pub', argv: readonly string[], io: CliIo): PubArgs | number;
export function parseOrReport(tool: 'sub', argv: readonly string[], io: CliIo): SubArgs | number;
export function parseOrReport(tool: Tool, argv: readonly string[], io: CliIo): PubArgs | SubArgs | number {
  try {
    const result = tool === 'pub' ? parseClientArgs('pub', argv) : parseClientArgs('sub', argv);
    if (result.action === 'help') {
      io.stdout.write(usage(tool));
      return 0;
    }
    if (result.action === 'version') {
      io.stdout.write(versionLine(tool));
      return 0;
    }
    return result.args;
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    io.stderr.write(`Error: ${err.message}\n`);
    io.stderr.write(err.showUsage ? `\n${usage(tool)}` : `\nUse 'mqtt-hub ${tool} --help' to see usage.\n`);
    return 1;
  }
}
