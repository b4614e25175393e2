import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PasswordFile, PasswordFileError } from '../../src/auth/password-file';
import { hashPassword } from '../../src/auth/password-hash';
import { mosquittoAvailable } from '../helpers/mosquitto';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-auth-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A well-formed hash no password matches, for parser tests.
const H = `$7$1$${'A'.repeat(16)}$${Buffer.alloc(64).toString('base64')}`;

const noMosquitto = !mosquittoAvailable() && 'mosquitto_passwd is not installed';

describe('PasswordFile', () => {
  test('verifies a file made by the real mosquitto_passwd (PBKDF2, $7$)', { skip: noMosquitto }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'alice', 'wonder land']);
    execFileSync('mosquitto_passwd', ['-b', file, 'bob', 'b0b:colon']);
    assert.match(fs.readFileSync(file, 'utf8'), /^alice:\$7\$\d+\$/);
    const pw = await PasswordFile.load(file);
    assert.deepEqual(pw.usernames(), ['alice', 'bob']);
    assert.equal(await pw.verify('alice', 'wonder land'), true);
    assert.equal(await pw.verify('alice', 'wonder-land'), false);
    assert.equal(await pw.verify('alice', ''), false);
    assert.equal(await pw.verify('bob', 'b0b:colon'), true);
    assert.equal(await pw.verify('bob', 'wonder land'), false);
    assert.equal(await pw.verify('carol', 'wonder land'), false);
  });

  test('verifies the older $6$ format written by mosquitto_passwd -H sha512', { skip: noMosquitto }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    execFileSync('mosquitto_passwd', ['-H', 'sha512', '-c', '-b', file, 'legacy', 'old-secret']);
    assert.match(fs.readFileSync(file, 'utf8'), /^legacy:\$6\$/);
    const pw = await PasswordFile.load(file);
    assert.equal(await pw.verify('legacy', 'old-secret'), true);
    assert.equal(await pw.verify('legacy', 'old-secreT'), false);
  });

  test('a user added by us next to mosquitto_passwd users keeps both working', { skip: noMosquitto }, async (t) => {
    const file = path.join(tempDir(t), 'pw');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'm', 'from-mosquitto']);
    const pw = await PasswordFile.load(file);
    await pw.setPassword('n', 'from-us', { iterations: 101 });
    await pw.save(file);
    // mosquitto_passwd reads our file without complaint and can update it further.
    execFileSync('mosquitto_passwd', ['-b', file, 'o', 'third']);
    const again = await PasswordFile.load(file);
    assert.deepEqual(again.usernames(), ['m', 'n', 'o']);
    assert.equal(await again.verify('m', 'from-mosquitto'), true);
    assert.equal(await again.verify('n', 'from-us'), true);
    assert.equal(await again.verify('o', 'third'), true);
  });

  test('setPassword replaces a password in place; delete removes the user', async () => {
    const pw = PasswordFile.parse('# users\nu1:' + (await hashPassword('a', { iterations: 3 })) + '\n\nu2:' + (await hashPassword('b', { iterations: 3 })) + '\n');
    await pw.setPassword('u1', 'new', { iterations: 3 });
    assert.equal(await pw.verify('u1', 'new'), true);
    assert.equal(await pw.verify('u1', 'a'), false);
    const lines = pw.toString().split('\n');
    assert.equal(lines[0], '# users');
    assert.match(lines[1], /^u1:\$7\$3\$/);
    assert.equal(lines[2], '');
    assert.match(lines[3], /^u2:/);
    assert.equal(pw.delete('u2'), true);
    assert.equal(pw.delete('u2'), false);
    assert.deepEqual(pw.usernames(), ['u1']);
    assert.equal(pw.toString(), `# users\n${lines[1]}\n\n`);
  });

  test('never stores the plain password', async () => {
    const pw = PasswordFile.empty();
    await pw.setPassword('user', 'VeryPlainPassword', { iterations: 3 });
    assert.ok(!pw.toString().includes('VeryPlainPassword'));
    assert.match(pw.toString(), /^user:\$7\$3\$[^$]+\$[^$]+\n$/);
  });

  test('usernames that the format cannot hold are refused', async () => {
    const pw = PasswordFile.empty();
    await assert.rejects(pw.setPassword('a:b', 'x', { iterations: 1 }), /':'/);
    await assert.rejects(pw.setPassword('', 'x', { iterations: 1 }), /empty/);
    await assert.rejects(pw.setPassword('a\nb', 'x', { iterations: 1 }), /control/);
    await assert.rejects(pw.setPassword('#admin', 'x', { iterations: 1 }), /'#'/, 'would read back as a comment');
    await assert.rejects(pw.setPassword(' padded', 'x', { iterations: 1 }), /blank/);
    await assert.rejects(pw.setPassword('padded ', 'x', { iterations: 1 }), /blank/);
    await pw.setPassword('a#b+c', 'x', { iterations: 1 });
    assert.deepEqual(PasswordFile.parse(pw.toString()).usernames(), ['a#b+c']);
  });

  test('parse errors name the file and the line', () => {
    const cases: Array<[string, number, RegExp]> = [
      [`a:${H}\nnocolon\n`, 2, /username:password hash/],
      [`# c\n:${H}\n`, 2, /empty username/],
      ['a:\n', 1, /empty password/],
      ['a:plain\n', 1, /not a \$7\$ or \$6\$ hash/],
      [`a:${H}\nb:${H}\na:${H}\n`, 3, /appears twice/],
      ['a:$7$1$AAAA$AAAA\n', 1, /not a \$7\$ or \$6\$ hash/],
    ];
    for (const [text, line, re] of cases) {
      assert.throws(
        () => PasswordFile.parse(text, { file: 'users.pw' }),
        (err: unknown) => err instanceof PasswordFileError && err.line === line && re.test(err.message) && err.message.startsWith(`users.pw:${line}:`),
        text,
      );
    }
  });

  test('plain-text entries are read only on request, never verify, and hash in place', async () => {
    const text = `x:plain-x\n# keep me\ny:${H}\n`;
    const pw = PasswordFile.parse(text, { allowPlainText: true });
    assert.deepEqual(pw.plainTextUsernames(), ['x']);
    assert.equal(await pw.verify('x', 'plain-x'), false);
    assert.equal(await pw.hashPlainText({ iterations: 4 }), 1);
    assert.equal(await pw.verify('x', 'plain-x'), true);
    const out = pw.toString().split('\n');
    assert.equal(out[1], '# keep me');
    assert.equal(out[2], `y:${H}`, 'an entry already hashed is left alone');
  });

  test('CRLF line ends and blanks around fields are tolerated', async () => {
    const h = await hashPassword('pw', { iterations: 2 });
    const pw = PasswordFile.parse(`  spaced : ${h}  \r\n`);
    assert.equal(await pw.verify('spaced', 'pw'), true);
  });

  test('a client without a password never logs in as a user with one', async () => {
    const pw = PasswordFile.empty();
    await pw.setPassword('u', 'p', { iterations: 2 });
    assert.equal(await pw.verify('u', undefined), false);
    assert.equal(await pw.verify('u', Buffer.alloc(0)), false);
    assert.equal(await pw.verify('u', Buffer.from('p')), true);
  });

  test('save writes through a symlink to its target', async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, 'real');
    const link = path.join(dir, 'link');
    const pw = PasswordFile.empty();
    await pw.setPassword('u', 'p', { iterations: 2 });
    await pw.save(target);
    fs.symlinkSync(target, link);
    await pw.setPassword('v', 'q', { iterations: 2 });
    await pw.save(link);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.deepEqual((await PasswordFile.load(target)).usernames(), ['u', 'v']);
  });

  test('save creates the file with mode 0600 and keeps an existing mode', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'pw');
    const pw = PasswordFile.empty();
    await pw.setPassword('u', 'p', { iterations: 2 });
    await pw.save(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    fs.chmodSync(file, 0o640);
    await pw.setPassword('v', 'q', { iterations: 2 });
    await pw.save(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    assert.deepEqual((await PasswordFile.load(file)).usernames(), ['u', 'v']);
    assert.deepEqual(fs.readdirSync(dir), ['pw'], 'no temporary file is left behind');
  });
});
