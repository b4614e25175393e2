// The mosquitto.conf reader: what it applies, what it warns about (with line numbers), and the
// security options that must stop the broker from starting. TLS, security, persistence and bridge
// sections: conf-mapping.test.ts.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatDiagnostic, loadMosquittoConf, parseDuration, parseMosquittoConf } from '../../src/cli/mosquitto-conf';

const conf = (lines: string[]) => parseMosquittoConf(lines.join('\n'), { file: 'test.conf' });

describe('mosquitto.conf parser', () => {
  test('comments and blank lines are skipped; an empty file gives no options and no diagnostics', () => {
    const c = conf(['# a comment', '', '   ', '  # indented comment']);
    assert.deepEqual(c.options, {});
    assert.deepEqual(c.listeners, []);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.errors, []);
  });

  test('several listeners, with and without a bind address; options after a listener apply to it', () => {
    const c = conf(['listener 1883 127.0.0.1', 'listener 9001', 'protocol websockets', 'listener 1884', 'bind_address 10.0.0.1']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.listeners, [
      { port: 1883, host: '127.0.0.1' },
      { port: 9001, protocol: 'ws' },
      { port: 1884, host: '10.0.0.1' },
    ]);
    assert.deepEqual(c.options.listeners, c.listeners);
  });

  test('port and bind_address before any listener make the default listener, opened first', () => {
    const c = conf(['bind_address 127.0.0.1', 'listener 9001 127.0.0.1', 'protocol websockets', 'port 1999']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.listeners, [
      { port: 1999, host: '127.0.0.1' },
      { port: 9001, host: '127.0.0.1', protocol: 'ws' },
    ]);
  });

  test('numeric and boolean options map to broker options', () => {
    const c = conf([
      'max_keepalive 120',
      'max_connections 50',
      'message_size_limit 1000000',
      'max_packet_size 2000000',
      'max_queued_messages 300',
      'max_inflight_messages 10',
      'allow_zero_length_clientid false',
      'sys_interval 5',
      'set_tcp_nodelay true',
      'persistent_client_expiration 2d',
      'retain_available false',
      'max_qos 1',
      'max_topic_alias 4',
    ]);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.options, {
      maxKeepalive: 120,
      maxConnections: 50,
      messageSizeLimit: 1_000_000,
      maxPacketSize: 2_000_000,
      maxQueuedMessages: 300,
      maxInflightMessages: 10,
      allowZeroLengthClientId: false,
      sysInterval: 5,
      tcpNoDelay: true,
      persistentClientExpiration: 2 * 86_400,
      retainAvailable: false,
      maximumQoS: 1,
      topicAliasMaximum: 4,
    });
  });

  test('max_connections -1 means no limit', () => {
    assert.equal(conf(['max_connections -1']).options.maxConnections, 0);
  });

  test('durations in Mosquitto units', () => {
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('2d'), 172_800);
    assert.equal(parseDuration('1w'), 604_800);
    assert.equal(parseDuration('1m'), 2_592_000);
    assert.equal(parseDuration('1y'), 31_536_000);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('1x'), undefined);
    assert.equal(parseDuration('h'), undefined);
  });

  test('log_type (repeatable) and connection_messages', () => {
    const c = conf(['log_type error', 'log_type all', 'connection_messages false']);
    assert.deepEqual(c.logTypes, ['error', 'all']);
    assert.equal(c.connectionMessages, false);
    assert.equal(conf([]).connectionMessages, true);
  });

  test('an option not supported yet is a warning naming it and its line, never silently ignored', () => {
    const c = conf(['listener 1883', '', '# x', 'log_dest file /var/log/m.log', 'no_such_option 1']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(
      c.warnings.map((w) => [w.line, w.message.match(/'([^']+)'/)?.[1]]),
      [
        [4, 'log_dest'],
        [5, 'no_such_option'],
      ],
    );
    assert.equal(formatDiagnostic(c.warnings[0]), "test.conf line 4: option 'log_dest' is not supported yet and is ignored");
  });

  test('options that are defaults here are accepted silently: persistence false, log_dest stdout, allow_anonymous true', () => {
    const c = conf(['persistence false', 'log_dest stdout', 'allow_anonymous true', 'per_listener_settings false', 'require_certificate false']);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.errors, []);
  });

  for (const line of [
    'ciphers_tls1.3 TLS_AES_256_GCM_SHA384',
    'auth_plugin /usr/lib/auth.so',
    'plugin /usr/lib/dynsec.so',
    'plugin_opt_config_file /etc/dynsec.json',
    'use_username_as_clientid true',
    'dhparamfile /etc/dh.pem',
    'ciphers ECDHE',
  ]) {
    test(`security option refuses to start: ${line}`, () => {
      const c = conf(['listener 1883', line]);
      assert.equal(c.errors.length, 1);
      assert.equal(c.errors[0].line, 2);
      assert.match(c.errors[0].message, /security option/);
      assert.match(c.errors[0].message, new RegExp(line.split(' ')[0]));
    });
  }

  test('bad values are errors with the line number', () => {
    const c = conf(['listener abc', 'max_keepalive ten', 'allow_zero_length_clientid yes', 'persistent_client_expiration 10', 'max_qos 3', 'port 70000', 'protocol websockets', 'log_type loud', 'sys_interval']);
    assert.deepEqual(
      c.errors.map((e) => e.line),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.match(c.errors[3].message, /duration '10'/);
    assert.match(c.errors[6].message, /must follow a 'listener'/);
  });

  test('max_connections given per listener with different values warns that it is broker-wide', () => {
    const c = conf(['listener 1883', 'max_connections 10', 'listener 1884', 'max_connections 20']);
    assert.equal(c.options.maxConnections, 20);
    assert.equal(c.warnings.length, 1);
    assert.equal(c.warnings[0].line, 4);
  });

  test('include_dir reads the .conf files of a directory in order, as if inline', () => {
    const c = parseMosquittoConf(['listener 1883', 'include_dir /etc/mosquitto/conf.d', 'max_keepalive 30'].join('\n'), {
      file: 'main.conf',
      readDir: (dir) => {
        assert.equal(dir, '/etc/mosquitto/conf.d');
        return [
          { name: '/etc/mosquitto/conf.d/a.conf', text: 'max_keepalive 10\nlistener 1884\n' },
          { name: '/etc/mosquitto/conf.d/b.conf', text: '\nunknown_thing 1\n' },
        ];
      },
    });
    assert.deepEqual(c.listeners, [{ port: 1883 }, { port: 1884 }]);
    assert.equal(c.options.maxKeepalive, 30, 'later lines of the main file win');
    assert.deepEqual(c.warnings.map((w) => [w.file, w.line]), [['/etc/mosquitto/conf.d/b.conf', 2]]);
  });

  test('include_dir on disk, and a security option inside an included file is still an error with its file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-conf-'));
    try {
      fs.mkdirSync(path.join(dir, 'conf.d'));
      fs.writeFileSync(path.join(dir, 'conf.d', '01-listeners.conf'), 'listener 2883 127.0.0.1\n');
      fs.writeFileSync(path.join(dir, 'conf.d', '02-auth.conf'), '# auth\nauth_plugin /x\n');
      fs.writeFileSync(path.join(dir, 'conf.d', 'ignored.txt'), 'auth_plugin /y\n');
      fs.writeFileSync(path.join(dir, 'main.conf'), `include_dir ${path.join(dir, 'conf.d')}\n`);
      const c = loadMosquittoConf(path.join(dir, 'main.conf'));
      assert.deepEqual(c.listeners, [{ port: 2883, host: '127.0.0.1' }]);
      assert.equal(c.errors.length, 1);
      assert.equal(c.errors[0].file, path.join(dir, 'conf.d', '02-auth.conf'));
      assert.equal(c.errors[0].line, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing include_dir or config file is an error', () => {
    const c = parseMosquittoConf('include_dir /definitely/not/here', { file: 'x.conf' });
    assert.equal(c.errors.length, 1);
    assert.match(c.errors[0].message, /include_dir/);
    const missing = loadMosquittoConf('/definitely/not/here.conf');
    assert.equal(missing.errors.length, 1);
    assert.match(missing.errors[0].message, /Unable to open config file/);
  });

  test('Windows line endings and trailing spaces are tolerated', () => {
    const c = parseMosquittoConf('listener 1883 127.0.0.1  \r\nmax_keepalive 5\r\n', { file: 'w.conf' });
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.listeners, [{ port: 1883, host: '127.0.0.1' }]);
    assert.equal(c.options.maxKeepalive, 5);
  });
});
