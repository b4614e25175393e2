import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import {
  DEFAULT_ITERATIONS,
  formatPasswordHash,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from '../../src/auth/password-hash';

describe('password hashes in Mosquitto format', () => {
  test('hashPassword writes $7$<iterations>$<12-byte salt>$<64-byte PBKDF2-SHA512>', async () => {
    const encoded = await hashPassword('s3cret');
    const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
    assert.ok(m, encoded);
    assert.equal(Number(m[1]), DEFAULT_ITERATIONS);
    const salt = Buffer.from(m[2], 'base64');
    assert.equal(salt.length, 12);
    // Recompute independently with the synchronous API.
    const expected = crypto.pbkdf2Sync('s3cret', salt, DEFAULT_ITERATIONS, 64, 'sha512');
    assert.equal(m[3], expected.toString('base64'));
  });

  test('each hash gets a fresh salt', async () => {
    const a = await hashPassword('same', { iterations: 5 });
    const b = await hashPassword('same', { iterations: 5 });
    assert.notEqual(a, b);
  });

  test('fixed salt and iterations give a reproducible hash', async () => {
    const salt = Buffer.from('000102030405060708090a0b', 'hex');
    const encoded = await hashPassword('pw', { salt, iterations: 101 });
    const expected = crypto.pbkdf2Sync('pw', salt, 101, 64, 'sha512').toString('base64');
    assert.equal(encoded, `$7$101$${salt.toString('base64')}$${expected}`);
  });

  test('verifyPassword accepts the right password and refuses others', async () => {
    const encoded = await hashPassword('correct horse', { iterations: 50 });
    assert.equal(await verifyPassword('correct horse', encoded), true);
    assert.equal(await verifyPassword('correct hors', encoded), false);
    assert.equal(await verifyPassword('', encoded), false);
    assert.equal(await verifyPassword(Buffer.from('correct horse'), encoded), true);
  });

  test('non-ASCII passwords are hashed as UTF-8 bytes', async () => {
    const encoded = await hashPassword('pässwörd✓', { iterations: 20 });
    assert.equal(await verifyPassword(Buffer.from('pässwörd✓', 'utf8'), encoded), true);
    assert.equal(await verifyPassword(Buffer.from('pässwörd✓', 'latin1'), encoded), false);
  });

  test('$6$ (SHA512 of password then salt) verifies', async () => {
    const salt = crypto.randomBytes(12);
    const hash = crypto.createHash('sha512').update('old-pass').update(salt).digest();
    const encoded = `$6$${salt.toString('base64')}$${hash.toString('base64')}`;
    assert.deepEqual(parsePasswordHash(encoded)?.type, 'sha512');
    assert.equal(await verifyPassword('old-pass', encoded), true);
    assert.equal(await verifyPassword('old-pas', encoded), false);
  });

  test('unreadable hashes never verify and never throw', async () => {
    const good = await hashPassword('x', { iterations: 3 });
    const bad = [
      '',
      'plaintext',
      'x',
      '$7$',
      '$7$0$AAAA$AAAA',
      '$7$-1$AAAA$AAAA',
      '$7$abc$AAAA$AAAA',
      '$7$99999999999$AAAA$AAAA',
      '$7$10$$AAAA',
      '$7$10$AAAA$',
      '$7$10$A!AA$AAAA',
      '$7$10$AAAA$AAAA$AAAA',
      '$6$AAAA$AAAA', // a $6$ hash is always 64 bytes
      '$5$AAAA$AAAA',
      good.slice(1),
    ];
    for (const s of bad) {
      assert.equal(parsePasswordHash(s), null, s);
      assert.equal(await verifyPassword('x', s), false, s);
    }
    assert.equal(await verifyPassword('x', good), true);
  });

  test('a hash of another length than 64 bytes is refused, not compared by prefix', async () => {
    const encoded = await hashPassword('pw', { iterations: 7 });
    const h = parsePasswordHash(encoded)!;
    const short = formatPasswordHash({ ...h, hash: h.hash.subarray(0, 32) });
    assert.equal(parsePasswordHash(short), null);
    assert.equal(await verifyPassword('pw', short), false);
    assert.equal(await verifyPassword('pw', { ...h, hash: h.hash.subarray(0, 32) }), false);
  });

  test('parse and format round-trip', async () => {
    const encoded = await hashPassword('round', { iterations: 12 });
    assert.equal(formatPasswordHash(parsePasswordHash(encoded)!), encoded);
  });

  test('invalid iteration counts are refused when hashing', async () => {
    await assert.rejects(hashPassword('a', { iterations: 0 }), RangeError);
    await assert.rejects(hashPassword('a', { iterations: 1.5 }), RangeError);
  });
});
