// The same acl_file in a real Mosquitto and in AclRules gives the same answers for reads and writes,
// including the bypass attempts (wildcard usernames and client ids, $SYS through '#').
// Messages are published retained first; then each subscriber either receives its topic's retained
// message (Mosquitto checks read access for it) or times out.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AclRules } from '../../src/auth/acl-rules';
import { PasswordFile } from '../../src/auth/password-file';
import { disposeMosquitto, MosquittoInstance, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto';

const ACL = `# anonymous clients
topic read public/#

user writer
topic write #

user spy
topic read #

user alice
topic readwrite alice/#
topic deny alice/secret

user monitor
topic read $SYS/#

pattern read devices/%u/#
pattern write devices/%u/out
pattern read clients/%c/inbox
`;

// A username starting with '#' cannot be in a password file (the line reads as a comment), so the
// wildcard usernames here hold '#' or start with '+'.
const USERS = ['writer', 'spy', 'alice', 'monitor', 'carol', 'x#', '+'];
const password = (user: string): string => `pw-${user}`;

interface Client {
  user?: string;
  clientId: string;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

function credentials(c: Client): string[] {
  return ['-i', c.clientId, ...(c.user === undefined ? [] : ['-u', c.user, '-P', password(c.user)])];
}

describe('acl_file decisions agree with a real Mosquitto', { skip: !mosquittoAvailable() && 'mosquitto is not installed' }, () => {
  let dir: string;
  let broker: MosquittoInstance;
  const acl = AclRules.parse(ACL);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-acl-mosq-'));
    const pw = PasswordFile.empty();
    for (const u of USERS) await pw.setPassword(u, password(u), { iterations: 101 });
    await pw.save(path.join(dir, 'passwords'));
    fs.writeFileSync(path.join(dir, 'acl'), ACL);
    broker = await startMosquitto({
      extraConfig: [`password_file ${path.join(dir, 'passwords')}`, `acl_file ${path.join(dir, 'acl')}`, 'user root'],
    });
  });

  after(async () => {
    if (broker) await disposeMosquitto(broker);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function publishRetained(c: Client, topic: string): Promise<void> {
    const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), ...credentials(c), '-q', '1', '-r', '-t', topic, '-m', `from ${c.user ?? 'anonymous'}`]);
    assert.equal(r.code, 0, `publish to ${topic}: ${broker.log()}`);
  }

  /** True when the client receives a retained message on `topic` within the wait, false when it times out. */
  async function receives(c: Client, topic: string): Promise<boolean> {
    const r = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), ...credentials(c), '-t', topic, '-C', '1', '-W', '2']);
    // 27 is mosquitto_sub's "timed out"; anything else (5: connection refused) would make a false
    // negative look like a denial.
    assert.ok(r.code === 0 || r.code === 27, `mosquitto_sub as ${c.user ?? 'anonymous'} exited ${r.code}`);
    return r.code === 0 && r.stdout.length > 0;
  }

  test('reads: anonymous and user blocks, deny, %u / %c patterns, injection, $SYS', async () => {
    const writer: Client = { user: 'writer', clientId: 'writer-1' };
    const topics = ['public/news', 'alice/x', 'alice/secret', 'devices/carol/temp', 'devices/dave/temp', 'clients/dev-9/inbox', 'clients/dev-8/inbox'];
    for (const t of topics) await publishRetained(writer, t);

    const cases: Array<[Client, string]> = [
      [{ clientId: 'anon-1' }, 'public/news'],
      [{ clientId: 'anon-1' }, 'alice/x'],
      [{ user: 'alice', clientId: 'alice-1' }, 'alice/x'],
      [{ user: 'alice', clientId: 'alice-1' }, 'alice/secret'],
      [{ user: 'alice', clientId: 'alice-1' }, 'public/news'],
      [{ user: 'carol', clientId: 'carol-1' }, 'devices/carol/temp'],
      [{ user: 'carol', clientId: 'carol-1' }, 'devices/dave/temp'],
      [{ user: 'x#', clientId: 'hash-user' }, 'devices/dave/temp'],
      // A naive substitution would turn devices/%u/# into devices/+/# and match carol's tree.
      [{ user: '+', clientId: 'plus-user' }, 'devices/carol/temp'],
      [{ clientId: 'dev-9' }, 'clients/dev-9/inbox'],
      [{ clientId: 'dev-9' }, 'clients/dev-8/inbox'],
      [{ clientId: '#' }, 'clients/dev-8/inbox'],
      [{ clientId: '+' }, 'clients/dev-9/inbox'],
      [{ user: 'monitor', clientId: 'monitor-1' }, '$SYS/broker/version'],
      [{ user: 'spy', clientId: 'spy-1' }, '$SYS/broker/version'],
      [{ user: 'spy', clientId: 'spy-1' }, 'alice/secret'],
    ];
    const results = await Promise.all(cases.map(([c, t]) => receives(c, t)));
    const expected = [true, false, true, false, false, true, false, false, false, true, false, false, false, true, false, true];
    cases.forEach(([c, t], i) => {
      const who = `${c.user ?? 'anonymous'} (${c.clientId}) reading ${t}`;
      assert.equal(results[i], expected[i], `mosquitto: ${who}`);
      assert.equal(acl.canRead(c.clientId, c.user, t), expected[i], `AclRules: ${who}`);
    });
  });

  test('writes: user blocks, %u patterns, usernames holding wildcards write nowhere', async () => {
    const cases: Array<[Client, string]> = [
      [{ user: 'alice', clientId: 'alice-w' }, 'alice/written'],
      [{ user: 'alice', clientId: 'alice-w' }, 'bob/written'],
      [{ user: 'carol', clientId: 'carol-w' }, 'devices/carol/out'],
      [{ user: 'carol', clientId: 'carol-w' }, 'devices/dave/out'],
      [{ user: 'x#', clientId: 'hash-w' }, 'devices/x/out'],
      // A naive substitution would turn devices/%u/out into devices/+/out and match erin's topic.
      [{ user: '+', clientId: 'plus-w' }, 'devices/erin/out'],
      [{ clientId: 'anon-w' }, 'public/written'],
    ];
    for (const [c, t] of cases) await publishRetained(c, t);
    const spy: Client = { user: 'spy', clientId: 'spy-w' };
    const stored = await Promise.all(cases.map(([, t]) => receives(spy, t)));
    const expected = [true, false, true, false, false, false, false];
    cases.forEach(([c, t], i) => {
      const who = `${c.user ?? 'anonymous'} writing ${t}`;
      assert.equal(stored[i], expected[i], `mosquitto: ${who}`);
      assert.equal(acl.canWrite(c.clientId, c.user, t), expected[i], `AclRules: ${who}`);
    });
  });
});
