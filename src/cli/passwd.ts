// `mqtt-hub passwd`: manages a password file like mosquitto_passwd, same options, messages and exit
// codes, so scripts written for one work with the other:
//   mqtt-hub passwd [-H sha512-pbkdf2] [-I iterations] [-c | -D] FILE USER
//   mqtt-hub passwd [-H sha512-pbkdf2] [-I iterations] [-c] -b FILE USER PASSWORD
//   mqtt-hub passwd -U FILE
// Differences, each on purpose: comments and blank lines in the file survive an edit; -U leaves
// entries that are already hashed alone (mosquitto_passwd hashes the hash, locking the user out);
// an empty username or password is refused; the file is replaced atomically and a new one is 0600;
// `-H sha512` (the weak Mosquitto 1.x scheme) is still read but no longer written.
import { StringDecoder } from 'node:string_decoder';
import { PasswordFile, PasswordFileError, usernameProblem } from '../auth/password-file';
import { DEFAULT_ITERATIONS } from '../auth/password-hash';

export interface PasswdIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const USAGE = `mqtt-hub passwd is a tool for managing password files for mosquitto and mqtt-hub.

Usage: mqtt-hub passwd [-H sha512-pbkdf2] [-I iterations] [-c | -D] passwordfile username
       mqtt-hub passwd [-H sha512-pbkdf2] [-I iterations] [-c] -b passwordfile username password
       mqtt-hub passwd -U passwordfile
 -b : run in batch mode to allow passing passwords on the command line.
 -c : create a new password file. This will overwrite existing files.
 -D : delete the username rather than adding/updating its password.
 -H : specify the hashing algorithm. Only sha512-pbkdf2 is written; sha512 ($6$) hashes are still accepted.
 -I : specify the number of PBKDF2 iterations (default ${DEFAULT_ITERATIONS}).
 -U : update a plain text password file to use hashed passwords.

`;

const MAX_LENGTH = 65535;

/** Exit code mosquitto_passwd gives when the two passwords typed differ. */
const EXIT_MISMATCH = 2;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface Options {
  batch: boolean;
  create: boolean;
  delete: boolean;
  update: boolean;
  iterations: number;
  file: string;
  username?: string;
  password?: string;
}

/** The text strerror() gives for the errors a user meets here. */
function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EPERM: 'Operation not permitted',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
    EROFS: 'Read-only file system',
  };
  return (code && known[code]) || (err as Error).message;
}

/** Reads options the way mosquitto_passwd does: flags first, then positional arguments. */
function parseArgs(argv: string[], io: PasswdIo): Options | number {
  if (argv.length === 0) {
    io.stdout.write(USAGE);
    return 1;
  }
  if (argv[0] === '-h' || argv[0] === '--help') {
    io.stdout.write(USAGE);
    return 0;
  }
  let batch = false;
  let create = false;
  let del = false;
  let update = false;
  let iterations = DEFAULT_ITERATIONS;
  let idx = 0;
  for (; idx < argv.length; idx++) {
    const a = argv[idx];
    if (a === '-H') {
      if (idx + 1 === argv.length) throw new CliError('Error: -H argument given but not enough other arguments.');
      const type = argv[++idx];
      if (type === 'sha512') {
        throw new CliError('Error: sha512 ($6$) hashes are too weak to write; they are still accepted. Use sha512-pbkdf2.');
      }
      if (type !== 'sha512-pbkdf2') throw new CliError(`Error: Unknown hash type '${type}'`);
    } else if (a === '-I') {
      if (idx + 1 === argv.length) throw new CliError('Error: -I argument given but not enough other arguments.');
      const text = argv[++idx];
      iterations = /^[0-9]+$/.test(text) ? Number(text) : 0;
      if (iterations < 1 || iterations > 0x7fffffff) throw new CliError('Error: Number of iterations must be > 0.');
    } else if (a === '-b') batch = true;
    else if (a === '-c') create = true;
    else if (a === '-D') del = true;
    else if (a === '-U') update = true;
    else break;
  }
  if (create && del) throw new CliError('Error: -c and -D cannot be used together.');
  if (create && update) throw new CliError('Error: -c and -U cannot be used together.');
  if (del && update) throw new CliError('Error: -D and -U cannot be used together.');
  if (del && batch) throw new CliError('Error: -b and -D cannot be used together.');

  const rest = argv.slice(idx);
  const base = { batch, create, delete: del, update, iterations };
  if (create) {
    if (batch ? rest.length < 3 : rest.length < 2) {
      throw new CliError(
        batch
          ? 'Error: -c argument given but password file, username, or password missing.'
          : 'Error: -c argument given but password file or username missing.',
      );
    }
    return { ...base, file: rest[0], username: rest[1], password: batch ? rest[2] : undefined };
  }
  if (del) {
    if (rest.length < 2) throw new CliError('Error: -D argument given but password file or username missing.');
    return { ...base, file: rest[0], username: rest[1] };
  }
  if (update) {
    if (rest.length !== 1) throw new CliError('Error: -U argument given but password file missing.');
    return { ...base, file: rest[0] };
  }
  if (batch && rest.length === 3) return { ...base, file: rest[0], username: rest[1], password: rest[2] };
  if (!batch && rest.length === 2) return { ...base, file: rest[0], username: rest[1] };
  io.stdout.write(USAGE);
  return 1;
}

/** One line from a pipe or file on stdin, without its line end; null at end of input with nothing read. */
function readLine(stdin: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const utf8 = new StringDecoder('utf8'); // a character may straddle two chunks
    const finish = (value: string | null): void => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', reject);
      stdin.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      buf += typeof chunk === 'string' ? chunk : utf8.write(chunk);
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl).replace(/\r$/, ''));
    };
    const onEnd = (): void => finish(buf.length > 0 ? buf.replace(/\r$/, '') : null);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', reject);
    stdin.resume();
  });
}

/**
 * Reads one answer per prompt from a terminal in raw mode, so nothing is echoed. Keys typed ahead
 * (or pasted) count toward the next answer. Ctrl-C aborts; Ctrl-D ends the current answer.
 */
function readHidden(io: PasswdIo, prompts: string[]): Promise<string[]> {
  const stdin = io.stdin;
  const answers: string[] = [];
  let value = '';
  const utf8 = new StringDecoder('utf8');
  return new Promise((resolve, reject) => {
    const done = (err: Error | null): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      if (err) {
        io.stdout.write('\n');
        reject(err);
      } else resolve(answers);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : utf8.write(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          answers.push(value);
          value = '';
          io.stdout.write('\n');
          if (answers.length === prompts.length) return done(null);
          io.stdout.write(prompts[answers.length]);
        } else if (ch === '\u0003') {
          return done(new CliError('Error: Interrupted.'));
        } else if (ch === '\u007f' || ch === '\b') {
          value = [...value].slice(0, -1).join('');
        } else if (ch >= ' ') {
          value += ch;
        }
      }
    };
    // Echo goes off before the prompt shows, so nothing typed after it can appear.
    stdin.setRawMode?.(true);
    io.stdout.write(prompts[0]);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Asks twice on a terminal (like mosquitto_passwd); reads one line otherwise, for scripts. */
async function getPassword(io: PasswdIo): Promise<string> {
  if (io.stdin.isTTY) {
    const [password, again] = await readHidden(io, ['Password: ', 'Reenter password: ']);
    if (password === '') throw new CliError('Error: Empty password.');
    if (again !== password) throw new CliError('Error: Passwords do not match.', EXIT_MISMATCH);
    return password;
  }
  const line = await readLine(io.stdin);
  if (line === null || line === '') throw new CliError('Error: Empty password.');
  return line;
}

function checkPassword(password: string): void {
  if (password === '') throw new CliError('Error: Empty password.');
  if (Buffer.byteLength(password, 'utf8') > MAX_LENGTH) {
    throw new CliError('Error: Password must be less than 65536 characters long.');
  }
}

async function loadExisting(file: string, allowPlainText: boolean): Promise<PasswordFile> {
  try {
    return await PasswordFile.load(file, { allowPlainText });
  } catch (err) {
    if (err instanceof PasswordFileError) {
      throw new CliError(`Error: Corrupt password file at line ${err.line}: ${err.detail}.`);
    }
    throw new CliError(`Error: Unable to open password file ${file}. ${describeError(err)}.`);
  }
}

async function save(pw: PasswordFile, file: string): Promise<void> {
  try {
    await pw.save(file);
  } catch (err) {
    throw new CliError(`Error: Unable to open file ${file} for writing. ${describeError(err)}.`);
  }
}

async function run(opts: Options, io: PasswdIo): Promise<number> {
  if (opts.username !== undefined) {
    const problem = usernameProblem(opts.username);
    if (problem) throw new CliError(`Error: ${problem}`);
  }
  if (opts.update) {
    const pw = await loadExisting(opts.file, true);
    await pw.hashPlainText({ iterations: opts.iterations });
    await save(pw, opts.file);
    return 0;
  }
  const username = opts.username as string;
  if (opts.delete) {
    const pw = await loadExisting(opts.file, true);
    if (!pw.delete(username)) {
      io.stderr.write(`Warning: User ${username} not found in password file.\n`);
      return 1;
    }
    await save(pw, opts.file);
    return 0;
  }
  // Open the existing file before asking for a password, so a wrong path fails at once.
  const pw = opts.create ? PasswordFile.empty() : await loadExisting(opts.file, true);
  const password = opts.password ?? (await getPassword(io));
  checkPassword(password);
  await pw.setPassword(username, password, { iterations: opts.iterations });
  await save(pw, opts.file);
  return 0;
}

/**
 * Entry point; `argv` holds the arguments after `passwd`. Resolves with the exit code; messages go
 * to `io.stderr` and usage to `io.stdout`, as mosquitto_passwd prints them.
 */
export async function main(
  argv: string[],
  io: PasswdIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    const opts = parseArgs(argv, io);
    if (typeof opts === 'number') return opts;
    return await run(opts, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(err.message + '\n');
      return err.exitCode;
    }
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
