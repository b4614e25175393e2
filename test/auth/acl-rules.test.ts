import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AclFileError, parseAclFile } from '../../src/auth/acl-file';
import { AclRules } from '../../src/auth/acl-rules';

describe('acl_file parsing', () => {
  test('keywords, access words, defaults, comments and blank lines', () => {
    const rules = parseAclFile(
      [
        '# anonymous clients',
        'topic read public/#',
        '',
        '   # an indented comment',
        'topic status',
        'user alice',
        'topic write  alice/out',
        'topic deny alice/out/secret',
        'topic read with space/in a level',
        'pattern readwrite devices/%c/#',
        'user bob smith',
        'topic read',
        '\ttopic\treadwrite\tbob/#\t',
      ].join('\n'),
    );
    assert.deepEqual(
      rules.map((r) => [r.type, r.access, r.filter, r.username, r.line]),
      [
        ['topic', 'read', 'public/#', null, 2],
        ['topic', 'readwrite', 'status', null, 5],
        ['topic', 'write', 'alice/out', 'alice', 7],
        ['topic', 'deny', 'alice/out/secret', 'alice', 8],
        ['topic', 'read', 'with space/in a level', 'alice', 9],
        ['pattern', 'readwrite', 'devices/%c/#', null, 10],
        // Like Mosquitto: a lone word after `topic` is the topic, with readwrite access.
        ['topic', 'readwrite', 'read', 'bob smith', 12],
        ['topic', 'readwrite', 'bob/#', 'bob smith', 13],
      ],
    );
  });

  test('errors carry the line number and the file name', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['topic read a\ntopc read b\n', 2, /unknown keyword "topc"/],
      ['\n\ntopic reed a/b\n', 3, /invalid access "reed"/],
      ['topic read a/#/b\n', 1, /invalid topic filter "a\/#\/b"/],
      ['topic read a+\n', 1, /invalid topic filter/],
      ['pattern read x/%u#\n', 1, /invalid topic filter/],
      ['user\n', 1, /missing username/],
      ['user   \n', 1, /missing username/],
      ['topic\n', 1, /missing topic filter/],
    ];
    for (const [text, line, re] of cases) {
      assert.throws(
        () => parseAclFile(text, 'my.acl'),
        (err: unknown) => err instanceof AclFileError && err.line === line && re.test(err.message) && err.message.startsWith(`my.acl:${line}: `),
        JSON.stringify(text),
      );
    }
  });

  test('AclRules.load reads a file', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-acl-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'acl');
    fs.writeFileSync(file, 'user u\ntopic read x\n');
    const acl = await AclRules.load(file);
    assert.equal(acl.canRead('c', 'u', 'x'), true);
    fs.writeFileSync(file, 'user u\nbogus\n');
    await assert.rejects(AclRules.load(file), (err: unknown) => err instanceof AclFileError && err.file === file && err.line === 2);
  });
});

describe('acl decisions', () => {
  const acl = AclRules.parse(
    [
      'topic read public/#',
      'topic write anon/in',
      'user alice',
      'topic readwrite alice/#',
      'topic deny alice/secret/#',
      'topic read shared/+/status',
      'user bob',
      'topic read alice/#',
      'user monitor',
      'topic read $SYS/#',
      'topic read #',
      'user everything',
      'topic readwrite #',
      'pattern readwrite devices/%u/#',
      'pattern write clients/%c/out',
      'pattern read inbox/%u/from/%c',
      'pattern deny devices/%u/locked',
    ].join('\n'),
  );

  test('rules before any user line apply to anonymous clients only', () => {
    assert.equal(acl.canRead('c1', undefined, 'public/news'), true);
    assert.equal(acl.canRead('c1', null, 'public/news'), true);
    assert.equal(acl.canWrite('c1', undefined, 'public/news'), false);
    assert.equal(acl.canWrite('c1', undefined, 'anon/in'), true);
    assert.equal(acl.canRead('c1', undefined, 'anon/in'), false);
    assert.equal(acl.canRead('c1', 'alice', 'public/news'), false, 'a named user does not get the anonymous rules');
    assert.equal(acl.canRead('c1', 'nobody', 'public/news'), false);
  });

  test("a user's rules are its own", () => {
    assert.equal(acl.canWrite('c1', 'alice', 'alice/x'), true);
    assert.equal(acl.canRead('c1', 'alice', 'alice'), true);
    assert.equal(acl.canWrite('c1', 'bob', 'alice/x'), false);
    assert.equal(acl.canRead('c1', 'bob', 'alice/x'), true);
    assert.equal(acl.canRead('c1', 'Alice', 'alice/x'), false, 'usernames are case-sensitive');
    assert.equal(acl.canRead('c1', '', 'alice/x'), false);
  });

  test('deny wins over allow, in topic and pattern rules alike', () => {
    assert.equal(acl.canRead('c1', 'alice', 'alice/secret'), false);
    assert.equal(acl.canWrite('c1', 'alice', 'alice/secret/deeper'), false);
    assert.equal(acl.canRead('c1', 'alice', 'alice/secretary'), true);
    // `everything` may readwrite '#', but the pattern deny covers its own locked topic.
    assert.equal(acl.canWrite('c1', 'everything', 'devices/everything/locked'), false);
    assert.equal(acl.canWrite('c1', 'everything', 'devices/everything/open'), true);
    const order = AclRules.parse('user u\ntopic deny a/b\ntopic read a/#\n');
    assert.equal(order.canRead('c', 'u', 'a/b'), false, 'a deny written before the allow still wins');
    assert.equal(order.canRead('c', 'u', 'a/c'), true);
  });

  test('patterns substitute %u and %c for every client', () => {
    assert.equal(acl.canWrite('dev-1', 'carol', 'devices/carol/temp'), true);
    assert.equal(acl.canRead('dev-1', 'carol', 'devices/carol'), true);
    assert.equal(acl.canRead('dev-1', 'carol', 'devices/dave/temp'), false);
    assert.equal(acl.canWrite('dev-1', 'carol', 'clients/dev-1/out'), true);
    assert.equal(acl.canWrite('dev-1', 'carol', 'clients/dev-2/out'), false);
    assert.equal(acl.canRead('dev-1', 'carol', 'inbox/carol/from/dev-1'), true);
    assert.equal(acl.canRead('dev-1', 'carol', 'inbox/carol/from/dev-2'), false);
  });

  test('%c patterns apply to anonymous clients, %u patterns do not', () => {
    assert.equal(acl.canWrite('anon-1', undefined, 'clients/anon-1/out'), true);
    assert.equal(acl.canRead('anon-1', undefined, 'devices/undefined/x'), false);
    assert.equal(acl.canRead('anon-1', undefined, 'inbox/undefined/from/anon-1'), false);
  });

  test('$SYS is readable only through a rule naming it [MQTT-4.7.2-1]', () => {
    assert.equal(acl.canRead('c', 'everything', '$SYS/broker/uptime'), false, '# does not cover $SYS');
    assert.equal(acl.canRead('c', 'monitor', '$SYS/broker/uptime'), true);
    assert.equal(acl.canRead('c', 'monitor', 'any/topic'), true);
    assert.equal(acl.canWrite('c', 'monitor', '$SYS/broker/uptime'), false);
    const plus = AclRules.parse('topic read +/broker/#\ntopic read +\n');
    assert.equal(plus.canRead('c', undefined, '$SYS/broker/uptime'), false);
    assert.equal(plus.canRead('c', undefined, '$SYS'), false);
    assert.equal(plus.canRead('c', undefined, 'x/broker/uptime'), true);
  });

  test('wildcards in a published or read topic name are refused', () => {
    assert.equal(acl.canWrite('c', 'everything', 'a/+'), false);
    assert.equal(acl.canWrite('c', 'everything', 'a/#'), false);
    assert.equal(acl.canRead('c', 'everything', '#'), false);
    assert.equal(acl.canWrite('c', 'everything', ''), false);
  });

  describe('a username or client id cannot widen a %u / %c rule', () => {
    const devices = AclRules.parse('pattern read devices/%u/#\npattern write out/%c\npattern readwrite %u/private/#\n');

    test('username # or + matches nothing', () => {
      for (const u of ['#', '+', 'a#', 'x+y']) {
        assert.equal(devices.canRead('c', u, 'devices/anything'), false, u);
        assert.equal(devices.canRead('c', u, 'devices/anything/else'), false, u);
        assert.equal(devices.canRead('c', u, `devices/${u}/x`), false, `${u}: not even its literal tree`);
        assert.equal(devices.canSubscribe('c', u, 'devices/+/#'), false, u);
        assert.equal(devices.subscribeCoverage('c', u, 'devices/#'), 'none', u);
      }
    });

    test("a username with '/' cannot reach into another tree", () => {
      assert.equal(devices.canRead('c', 'victim/secret', 'devices/victim/secret/x'), false);
      assert.equal(devices.canRead('c', 'victim', 'devices/victim/secret/x'), true, 'the real victim still can');
      assert.equal(devices.canWrite('c', 'a/b', 'a/b/private/x'), false);
    });

    test('client id with wildcards or / matches nothing, other rules still apply', () => {
      for (const id of ['#', '+', 'x/y', '']) {
        assert.equal(devices.canWrite(id, 'u', `out/${id}`), false, JSON.stringify(id));
        assert.equal(devices.canWrite(id, 'u', 'out/anything'), false, JSON.stringify(id));
        assert.equal(devices.canRead(id, 'u', 'devices/u/x'), true, `${JSON.stringify(id)}: username rules unaffected`);
      }
    });

    test('a substitution cannot start a $ topic', () => {
      assert.equal(devices.canWrite('c', '$SYS', '$SYS/private/x'), false);
      assert.equal(devices.canRead('c', '$SYS', '$SYS/private/x'), false);
    });

    test('substitution happens once: a username "%c" is not replaced again', () => {
      assert.equal(devices.canRead('victim-id', '%c', 'devices/victim-id/x'), false);
      assert.equal(devices.canRead('victim-id', '%c', 'devices/%c/x'), true);
    });
  });

  describe('subscribe', () => {
    test('a filter fully covered by read rules is granted', () => {
      assert.equal(acl.subscribeCoverage('c', 'alice', 'shared/+/status'), 'all');
      assert.equal(acl.canSubscribe('c', 'bob', 'alice/#'), true);
      assert.equal(acl.canSubscribe('c', 'bob', 'alice/+/x'), true);
      assert.equal(acl.canSubscribe('c', undefined, 'public/#'), true);
      assert.equal(acl.canSubscribe('c', 'carol', 'devices/carol/+/temp'), true);
      assert.equal(acl.subscribeCoverage('c', 'carol', 'devices/carol/#'), 'some', 'the pattern deny devices/%u/locked lies inside');
    });

    test('subscribing a/# needs a rule covering all of a/#', () => {
      const acl2 = AclRules.parse('user u\ntopic read a/b/#\ntopic read a/c\n');
      assert.equal(acl2.subscribeCoverage('c', 'u', 'a/#'), 'some');
      assert.equal(acl2.canSubscribe('c', 'u', 'a/#'), false);
      assert.equal(acl2.canSubscribe('c', 'u', 'a/+'), false);
      assert.equal(acl2.canSubscribe('c', 'u', 'a/b/#'), true);
      assert.equal(acl2.canSubscribe('c', 'u', 'a/c'), true);
      assert.equal(acl2.subscribeCoverage('c', 'u', 'x/#'), 'none');
      assert.equal(acl2.subscribeCoverage('c', 'u', '#'), 'some');
    });

    test('write-only rules do not grant subscriptions', () => {
      assert.equal(acl.subscribeCoverage('c', undefined, 'anon/in'), 'none');
      assert.equal(acl.subscribeCoverage('dev-1', 'carol', 'clients/dev-1/out'), 'none');
    });

    test('a deny inside the filter makes it partial; a filter inside a deny gets nothing', () => {
      assert.equal(acl.subscribeCoverage('c', 'alice', 'alice/#'), 'some');
      assert.equal(acl.canSubscribe('c', 'alice', 'alice/#'), false);
      assert.equal(acl.subscribeCoverage('c', 'alice', 'alice/secret/#'), 'none');
      assert.equal(acl.subscribeCoverage('c', 'alice', 'alice/secret/x'), 'none');
      assert.equal(acl.canSubscribe('c', 'alice', 'alice/public/#'), true);
      assert.equal(acl.canSubscribe('c', 'alice', 'alice/+'), false, 'alice/+ reaches alice/secret');
    });

    test('wildcards across users: a user cannot subscribe into trees of others', () => {
      assert.equal(acl.subscribeCoverage('dev-1', 'carol', 'devices/#'), 'some');
      assert.equal(acl.canSubscribe('dev-1', 'carol', 'devices/#'), false);
      assert.equal(acl.canSubscribe('dev-1', 'carol', 'devices/+/temp'), false);
      assert.equal(acl.subscribeCoverage('dev-1', 'carol', 'devices/dave/#'), 'none');
      assert.equal(acl.subscribeCoverage('dev-1', 'carol', '+/dave/#'), 'none');
    });

    test('$SYS subscriptions need a $SYS rule', () => {
      assert.equal(acl.subscribeCoverage('c', 'everything', '$SYS/#'), 'none');
      assert.equal(acl.canSubscribe('c', 'everything', '#'), false, 'devices/everything/locked is denied inside #');
      assert.equal(acl.canSubscribe('c', 'monitor', '$SYS/#'), true);
      assert.equal(acl.canSubscribe('c', 'monitor', '$SYS/broker/+'), true);
      assert.equal(acl.canSubscribe('c', 'monitor', 'any/#'), true);
      assert.equal(acl.subscribeCoverage('c', 'monitor', '#'), 'some', 'devices/monitor/locked is denied');
    });

    test('shared subscriptions are judged on their filter', () => {
      assert.equal(acl.canSubscribe('c', 'bob', '$share/g1/alice/#'), true);
      assert.equal(acl.canSubscribe('c', 'bob', '$share/g1/bob/#'), false);
      assert.equal(acl.subscribeCoverage('c', 'bob', '$share//alice/#'), 'none');
      assert.equal(acl.subscribeCoverage('c', 'bob', '$share/g1'), 'none');
    });

    test('invalid filters get nothing', () => {
      for (const f of ['', 'alice/#/x', 'alice/a+']) assert.equal(acl.subscribeCoverage('c', 'bob', f), 'none', f);
    });
  });

  test('forClient keeps one client\'s decisions for the life of its connection', () => {
    const carol = acl.forClient('dev-1', 'carol');
    assert.equal(carol.canWrite('devices/carol/temp'), true);
    assert.equal(carol.canWrite('devices/dave/temp'), false);
    assert.equal(carol.canRead('inbox/carol/from/dev-1'), true);
    assert.equal(carol.canSubscribe('devices/carol/+/temp'), true);
    assert.equal(carol.subscribeCoverage('devices/#'), 'some');
    const anonymous = acl.forClient('anon-1', undefined);
    assert.equal(anonymous.canRead('public/news'), true);
    assert.equal(anonymous.canRead('devices/carol/temp'), false);
  });

  test('an empty acl_file denies everything', () => {
    const none = AclRules.parse('# nothing yet\n');
    assert.equal(none.canRead('c', 'u', 'a'), false);
    assert.equal(none.canWrite('c', undefined, 'a'), false);
    assert.equal(none.subscribeCoverage('c', 'u', '#'), 'none');
  });
});
