import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/passwd';
import { PasswordFile } from '../../src/auth/password-file';
import { mosquittoAvailable } from '../helpers/mosquitto';

const PASSWD_JS = path.resolve(__dirname, '../../src/cli/passwd.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], stdinText = ''): Promise<Result> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdin: Readable.from([stdinText]), stdout, stderr });
  return { code, stdout: out, stderr: err };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-passwd-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Cheap hashes keep the suite fast; the default count is exercised by the first test.
const FAST = ['-I', '5'];

describe('mqtt-hub passwd', () => {
  test('-c -b creates a 0600 file with a $7$ hash that verifies', async (t) => {
    const file = path.join(tempDir(t), 'pw');
    const r = await run(['-c', '-b', file, 'alice', 'secret 1']);
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^alice:\$7\$10000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\n$/);
    assert.ok(!text.includes('secret 1'));
    const pw = await PasswordFile.load(file);
    assert.equal(await pw.verify('alice', 'secret 1'), true);
    assert.equal(await pw.verify('alice', 'secret 2'), false);
  });

  test('-b adds and updates users, -D deletes, comments stay', async (t) => {
    const file = path.join(tempDir(t), 'pw');
    assert.equal((await run([...FAST, '-c', '-b', file, 'a', 'pa'])).code, 0);
    fs.appendFileSync(file, '# operators below\n');
    assert.equal((await run([...FAST, '-b', file, 'b', 'pb'])).code, 0);
    assert.equal((await run([...FAST, '-b', file, 'a', 'pa2'])).code, 0);
    let pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['a', 'b']);
    assert.equal(await pw.verify('a', 'pa2'), true);
    assert.equal(await pw.verify('a', 'pa'), false);
    assert.equal(fs.readFileSync(file, 'utf8').split('\n')[1], '# operators below');

    assert.deepEqual(await run(['-D', file, 'a']), { code: 0, stdout: '', stderr: '' });
    pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['b']);
    const missing = await run(['-D', file, 'a']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Warning: User a not found in password file.\n');
  });

  test('-I sets the iteration count', async (t) => {
    const file = path.join(tempDir(t), 'pw');
    assert.equal((await run(['-I', '101', '-c', '-b', file, 'u', 'p'])).code, 0);
    assert.match(fs.readFileSync(file, 'utf8'), /^u:\$7\$101\$/);
  });

  test('-U hashes a plain-text file in place and leaves hashed entries alone', async (t) => {
    const file = path.join(tempDir(t), 'pw');
    assert.equal((await run([...FAST, '-c', '-b', file, 'hashed', 'h'])).code, 0);
    const hashedLine = fs.readFileSync(file, 'utf8').trim();
    fs.writeFileSync(file, `# plain\nplain1:first\n${hashedLine}\nplain2:se:cond\n`, { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    assert.deepEqual(await run([...FAST, '-U', file]), { code: 0, stdout: '', stderr: '' });
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.equal(lines[0], '# plain');
    assert.equal(lines[2], hashedLine);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640, 'an existing file keeps its mode');
    const pw = await PasswordFile.load(file);
    assert.equal(await pw.verify('plain1', 'first'), true);
    assert.equal(await pw.verify('plain2', 'se:cond'), true);
    assert.equal(await pw.verify('hashed', 'h'), true);
  });

  test('reads the password from a line on stdin when it is not a terminal', async (t) => {
    const file = path.join(tempDir(t), 'pw');
    const r = await run([...FAST, '-c', file, 'piped'], 'from stdin\r\nignored\n');
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    assert.equal(await (await PasswordFile.load(file)).verify('piped', 'from stdin'), true);
    const empty = await run(['-c', path.join(path.dirname(file), 'other'), 'x'], '');
    assert.deepEqual(empty, { code: 1, stdout: '', stderr: 'Error: Empty password.\n' });
    assert.equal(fs.existsSync(path.join(path.dirname(file), 'other')), false);
  });

  test('errors and exit codes follow mosquitto_passwd', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'pw');
    fs.writeFileSync(file, '');
    const cases: Array<[string[], string]> = [
      [['-c', '-D', file, 'u'], 'Error: -c and -D cannot be used together.\n'],
      [['-c', '-U', file], 'Error: -c and -U cannot be used together.\n'],
      [['-D', '-U', file], 'Error: -D and -U cannot be used together.\n'],
      [['-b', '-D', file, 'u'], 'Error: -b and -D cannot be used together.\n'],
      [['-c', file], 'Error: -c argument given but password file or username missing.\n'],
      [['-c', '-b', file, 'u'], 'Error: -c argument given but password file, username, or password missing.\n'],
      [['-D', file], 'Error: -D argument given but password file or username missing.\n'],
      [['-U'], 'Error: -U argument given but password file missing.\n'],
      [['-H', 'md5', '-b', file, 'u', 'p'], "Error: Unknown hash type 'md5'\n"],
      [['-H'], 'Error: -H argument given but not enough other arguments.\n'],
      [['-I', '0', '-b', file, 'u', 'p'], 'Error: Number of iterations must be > 0.\n'],
      [['-b', file, 'a:b', 'p'], "Error: Username must not contain the ':' character.\n"],
      [['-b', file, 'a\tb', 'p'], 'Error: Username must not contain control characters.\n'],
      [['-b', file, '', 'p'], 'Error: Username must not be empty.\n'],
      [['-b', file, 'u', ''], 'Error: Empty password.\n'],
      [['-b', path.join(dir, 'missing'), 'u', 'p'], `Error: Unable to open password file ${path.join(dir, 'missing')}. No such file or directory.\n`],
      [['-U', path.join(dir, 'missing')], `Error: Unable to open password file ${path.join(dir, 'missing')}. No such file or directory.\n`],
      [['-c', '-b', path.join(dir, 'no', 'pw'), 'u', 'p'], `Error: Unable to open file ${path.join(dir, 'no', 'pw')} for writing. No such file or directory.\n`],
    ];
    for (const [argv, stderr] of cases) {
      const r = await run(argv);
      assert.deepEqual([r.code, r.stderr], [1, stderr], argv.join(' '));
    }
    fs.writeFileSync(file, 'ok:$7$1$AAAA$AAAA\nno colon here\n');
    const corrupt = await run(['-b', file, 'u', 'p']);
    assert.deepEqual([corrupt.code, corrupt.stderr], [1, 'Error: Corrupt password file at line 2: expected "username:password hash".\n']);
    assert.equal(fs.readFileSync(file, 'utf8'), 'ok:$7$1$AAAA$AAAA\nno colon here\n', 'a corrupt file is left untouched');
  });

  test('usage: no arguments print it and fail; a wrong count prints it', async () => {
    const none = await run([]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^mqtt-hub passwd is a tool for managing password files/);
    const wrong = await run(['-b', 'file', 'user']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /Usage: mqtt-hub passwd/);
    assert.equal((await run(['--help'])).code, 0);
  });

  test('mosquitto_passwd and mqtt-hub passwd edit each other\'s files', { skip: !mosquittoAvailable() && 'mosquitto_passwd is not installed' }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'm1', 'mosq-one']);
    assert.equal((await run([...FAST, '-b', file, 'h1', 'hub-one'])).code, 0);
    execFileSync('mosquitto_passwd', ['-b', file, 'm2', 'mosq-two']);
    execFileSync('mosquitto_passwd', ['-D', file, 'm1']);
    assert.equal((await run(['-D', file, 'm2'])).code, 0);
    const pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['h1']);
    assert.equal(await pw.verify('h1', 'hub-one'), true);
  });
});

describe('mqtt-hub passwd on a terminal', () => {
  let hasScript = true;
  try {
    execFileSync('script', ['-V'], { stdio: 'ignore' });
  } catch {
    hasScript = false;
  }

  /** Runs passwd under a pseudo-terminal (util-linux `script`), typing each answer after its prompt. */
  function typeInTerminal(args: string[], answers: string[]): Promise<{ code: number | null; output: string }> {
    const command = [process.execPath, PASSWD_JS, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let typed = 0;
    child.stdout.on('data', (d) => {
      output += d;
      // Type only once the prompt is out: raw mode (no echo) is on by then.
      const prompts = (output.match(/password: /gi) ?? []).length;
      while (typed < prompts && typed < answers.length) child.stdin.write(answers[typed++] + '\r');
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
  }

  test('asks twice without echo and stores the password', { skip: !hasScript && 'script(1) is not installed' }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    // The first answer ends with a typo erased by backspace (DEL).
    const r = await typeInTerminal([...FAST, '-c', file, 'ttyuser'], ['typed sëcret!\u007f', 'typed sëcret']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Password: [\s\S]*Reenter password: /);
    assert.ok(!r.output.includes('typed'), `the password was echoed: ${JSON.stringify(r.output)}`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(await (await PasswordFile.load(file)).verify('ttyuser', 'typed sëcret'), true);
  });

  test('two different answers fail with exit code 2 and leave the file alone', { skip: !hasScript && 'script(1) is not installed' }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    assert.equal((await run([...FAST, '-c', '-b', file, 'u', 'old'])).code, 0);
    const before = fs.readFileSync(file, 'utf8');
    const r = await typeInTerminal([file, 'u'], ['one', 'two']);
    assert.equal(r.code, 2);
    assert.match(r.output, /Error: Passwords do not match\./);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
  });
});
