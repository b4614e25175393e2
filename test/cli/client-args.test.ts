// The command line of `mqtt-hub pub` and `mqtt-hub sub`: flags, defaults, -L URLs, -D properties
// and the errors mosquitto_pub / mosquitto_sub give for bad ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientArgs, PubArgs, SubArgs } from '../../src/cli/client-args';
import { ArgsError } from '../../src/cli/client-errors';
import { parseUrl } from '../../src/cli/client-url';

function pub(...argv: string[]): PubArgs {
  const r = parseClientArgs('pub', argv);
  assert.equal(r.action, 'run');
  return (r as { args: PubArgs }).args;
}

function sub(...argv: string[]): SubArgs {
  const r = parseClientArgs('sub', argv);
  assert.equal(r.action, 'run');
  return (r as { args: SubArgs }).args;
}

function refuses(tool: 'pub' | 'sub', argv: string[], message: string | RegExp): void {
  assert.throws(
    () => (tool === 'pub' ? parseClientArgs('pub', argv) : parseClientArgs('sub', argv)),
    (err: unknown) => {
      assert.ok(err instanceof ArgsError, `expected ArgsError, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('pub flags', () => {
  test('defaults are mosquitto_pub\'s: localhost:1883, MQTT 3.1.1, QoS 0, keepalive 60, clean session', () => {
    const a = pub('-t', 'a/b', '-m', 'hello');
    assert.equal(a.host, 'localhost');
    assert.equal(a.port, 1883);
    assert.equal(a.scheme, 'mqtt');
    assert.equal(a.protocolVersion, 4);
    assert.equal(a.qos, 0);
    assert.equal(a.keepalive, 60);
    assert.equal(a.clean, true);
    assert.equal(a.retain, false);
    assert.equal(a.repeat, 1);
    assert.equal(a.clientId, undefined);
    assert.equal(a.tls, undefined);
    assert.deepEqual(a.message, { kind: 'message', payload: Buffer.from('hello') });
  });

  test('short and long spellings of every pub option', () => {
    const a = pub('-h', 'broker.local', '-p', '1999', '-t', 't', '-m', 'm', '-q', '2', '-r', '-i', 'me', '-k', '30', '-u', 'user',
      '-P', 'pw', '-V', 'mqttv5', '--repeat', '3', '--repeat-delay', '0.5', '-d', '--quiet');
    assert.equal(a.host, 'broker.local');
    assert.equal(a.port, 1999);
    assert.equal(a.qos, 2);
    assert.equal(a.retain, true);
    assert.equal(a.clientId, 'me');
    assert.equal(a.keepalive, 30);
    assert.equal(a.username, 'user');
    assert.equal(a.password, 'pw');
    assert.equal(a.protocolVersion, 5);
    assert.equal(a.repeat, 3);
    assert.equal(a.repeatDelay, 0.5);
    assert.equal(a.debug, true);
    assert.equal(a.quiet, true);
    const b = pub('--host', 'h', '--port', '2000', '--topic', 't', '--message', 'x', '--qos', '1', '--retain', '--id', 'i2',
      '--keepalive', '0', '--username', 'u', '--pw', 'p', '--protocol-version', '31', '--debug');
    assert.equal(b.host, 'h');
    assert.equal(b.port, 2000);
    assert.equal(b.qos, 1);
    assert.equal(b.retain, true);
    assert.equal(b.clientId, 'i2');
    assert.equal(b.keepalive, 0);
    assert.equal(b.protocolVersion, 3);
  });

  test('-V takes 31, 311, 5 and the mqttv forms', () => {
    for (const [text, v] of [['31', 3], ['mqttv31', 3], ['311', 4], ['mqttv311', 4], ['5', 5], ['mqttv5', 5]] as const) {
      assert.equal(pub('-t', 't', '-n', '-V', text).protocolVersion, v);
    }
    refuses('pub', ['-t', 't', '-n', '-V', '6'], 'Invalid protocol version argument given.');
  });

  test('message sources -m -n -f -l -s, exactly one', () => {
    assert.deepEqual(pub('-t', 't', '-n').message, { kind: 'null' });
    assert.deepEqual(pub('-t', 't', '-f', '/some/file').message, { kind: 'file', path: '/some/file' });
    assert.deepEqual(pub('-t', 't', '-l').message, { kind: 'lines' });
    assert.deepEqual(pub('-t', 't', '-s').message, { kind: 'stdin' });
    refuses('pub', ['-t', 't', '-m', 'x', '-n'], 'Only one type of message can be sent at once.');
    refuses('pub', ['-t', 't', '-l', '-s'], 'Only one type of message can be sent at once.');
  });

  test('topic and message are both required; the usage follows the error', () => {
    assert.throws(() => parseClientArgs('pub', ['-t', 'a']), (e: unknown) => e instanceof ArgsError && e.showUsage && e.message === 'Both topic and message must be supplied.');
    refuses('pub', ['-m', 'x'], 'Both topic and message must be supplied.');
  });

  test('a publish topic with wildcards is refused [MQTT-3.3.2-2]', () => {
    refuses('pub', ['-t', 'a/#', '-m', 'x'], "Invalid publish topic 'a/#', does it contain '+' or '#'?");
    refuses('pub', ['-t', 'a/+/b', '-m', 'x'], "Invalid publish topic 'a/+/b', does it contain '+' or '#'?");
  });

  test('bad numbers: port, QoS, keepalive, repeat', () => {
    refuses('pub', ['-t', 't', '-n', '-p', '70000'], 'Invalid port given: 70000');
    refuses('pub', ['-t', 't', '-n', '-p', 'abc'], 'Invalid port given: abc');
    refuses('pub', ['-t', 't', '-n', '-q', '3'], 'Invalid QoS given: 3');
    refuses('pub', ['-t', 't', '-n', '-k', '2'], 'Invalid keepalive given, it must be between 5 and 65535 inclusive.');
    refuses('pub', ['-t', 't', '-n', '-k', '70000'], 'Invalid keepalive given, it must be between 5 and 65535 inclusive.');
    refuses('pub', ['-t', 't', '-n', '--repeat', '0'], '--repeat argument must be >0.');
    refuses('pub', ['-t', 't', '-n', '--repeat-delay', '-1'], '--repeat-delay argument must be >=0.0.');
  });

  test('an option without its argument names what is missing', () => {
    refuses('pub', ['-t', 't', '-n', '-p'], '-p argument given but no port specified.');
    refuses('pub', ['-t', 't', '-n', '-h'], '-h argument given but no host specified.');
    refuses('pub', ['-m', 'x', '-t'], '-t argument given but no topic specified.');
  });

  test('unknown options, and options of the other tool, are unknown with the usage', () => {
    for (const argv of [['--bogus'], ['-t', 't', '-m', 'x', '-v'], ['-t', 't', '-m', 'x', '-C', '1']]) {
      assert.throws(() => parseClientArgs('pub', argv), (e: unknown) => e instanceof ArgsError && e.showUsage && /^Unknown option '/.test(e.message));
    }
    assert.throws(() => parseClientArgs('sub', ['-t', 't', '-m', 'x']), (e: unknown) => e instanceof ArgsError && e.message === "Unknown option '-m'.");
  });

  test('--help and --version win over everything else', () => {
    assert.deepEqual(parseClientArgs('pub', ['--help']), { action: 'help' });
    assert.deepEqual(parseClientArgs('sub', ['-t', 'x', '--version']), { action: 'version' });
  });

  test('-i and -I exclude each other; -I appends the process id', () => {
    refuses('pub', ['-t', 't', '-n', '-i', 'a', '-I', 'b'], '-i and -I argument cannot be used together.');
    assert.equal(pub('-t', 't', '-n', '-I', 'pre-').clientId, `pre-${process.pid}`);
  });

  test('-c needs a client id; with MQTT 5 it means a session that never expires unless -x says otherwise', () => {
    refuses('pub', ['-t', 't', '-n', '-c'], 'You must provide a client id if you are using the -c option.');
    const a = pub('-t', 't', '-n', '-c', '-i', 'keep', '-V', '5');
    assert.equal(a.clean, false);
    assert.equal(a.sessionExpiryInterval, 0xffffffff);
    assert.equal(a.properties.connect?.sessionExpiryInterval, 0xffffffff);
    const b = pub('-t', 't', '-n', '-c', '-i', 'keep', '-V', '5', '-x', '60');
    assert.equal(b.properties.connect?.sessionExpiryInterval, 60);
  });

  test('-x: seconds, -1 and ∞ for never; infinite needs an id under MQTT 5; ignored by 3.1.1', () => {
    assert.equal(pub('-t', 't', '-n', '-V', '5', '-x', '120').sessionExpiryInterval, 120);
    assert.equal(pub('-t', 't', '-n', '-V', '5', '-x', '∞', '-i', 'x').sessionExpiryInterval, 0xffffffff);
    assert.equal(pub('-t', 't', '-n', '-V', '5', '-x', '4294967295', '-i', 'x').sessionExpiryInterval, 0xffffffff);
    refuses('pub', ['-t', 't', '-n', '-V', '5', '-x', '-1'], 'You must provide a client id if you are using an infinite session expiry interval.');
    refuses('pub', ['-t', 't', '-n', '-x', 'soon'], 'session-expiry-interval not a number.');
    const old = pub('-t', 't', '-n', '-x', '30');
    assert.equal(old.sessionExpiryInterval, undefined);
    assert.equal(old.properties.connect, undefined);
  });

  test('a password without a user name is refused under 3.1.1 [MQTT-3.1.2-22], allowed under 5.0', () => {
    refuses('pub', ['-t', 't', '-n', '-P', 'pw'], 'Problem setting username and/or password.');
    assert.equal(pub('-t', 't', '-n', '-P', 'pw', '-V', '5').password, 'pw');
  });

  test('will options', () => {
    const a = pub('-t', 't', '-n', '--will-topic', 'last/words', '--will-payload', 'bye', '--will-qos', '1', '--will-retain');
    assert.deepEqual(a.will, { topic: 'last/words', payload: Buffer.from('bye'), qos: 1, retain: true });
    assert.deepEqual(pub('-t', 't', '-n', '--will-topic', 'w').will, { topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false });
    refuses('pub', ['-t', 't', '-n', '--will-payload', 'x'], 'Will payload given, but no will topic given.');
    refuses('pub', ['-t', 't', '-n', '--will-retain'], 'Will retain given, but no will topic given.');
    refuses('pub', ['-t', 't', '-n', '--will-topic', 'a/#'], "Invalid will topic 'a/#', does it contain '+' or '#'?");
    refuses('pub', ['-t', 't', '-n', '--will-topic', 'w', '--will-qos', '3'], 'Invalid will QoS 3.');
  });

  test('TLS: --cafile turns on mqtts and port 8883; port 8883 alone means TLS with the system CAs', () => {
    const a = pub('-t', 't', '-n', '--cafile', '/ca.crt', '--cert', '/c.crt', '--key', '/c.key', '--insecure');
    assert.equal(a.scheme, 'mqtts');
    assert.equal(a.port, 8883);
    assert.deepEqual(a.tls, { cafile: '/ca.crt', capath: undefined, cert: '/c.crt', key: '/c.key', alpn: undefined, insecure: true, useOsCerts: false });
    const b = pub('-t', 't', '-n', '-p', '8883');
    assert.equal(b.scheme, 'mqtts');
    assert.equal(b.tls?.useOsCerts, true);
    assert.equal(pub('-t', 't', '-n', '--insecure').scheme, 'mqtt');
    refuses('pub', ['-t', 't', '-n', '--cafile', '/ca', '--cert', '/c'], 'Both certfile and keyfile must be provided if one of them is set.');
  });

  test('--tls-version is kept as given for the connection to check; it does not turn TLS on (as mosquitto_pub)', () => {
    assert.equal(pub('-t', 't', '-n', '--cafile', '/ca.crt', '--tls-version', 'tlsv1.3').tlsVersion, 'tlsv1.3');
    const plain = pub('-t', 't', '-n', '--tls-version', 'tlsv1.2');
    assert.deepEqual([plain.scheme, plain.tls, plain.tlsVersion], ['mqtt', undefined, 'tlsv1.2']);
    assert.equal(pub('-t', 't', '-n').tlsVersion, undefined);
    refuses('pub', ['-t', 't', '-n', '--tls-version'], '--tls-version argument given but no version specified.');
  });

  test('a repeated -t: the last one is the topic, as mosquitto_pub takes it; -L and -t count in order', () => {
    assert.equal(pub('-t', 'a', '-t', 'b', '-m', 'x').topic, 'b');
    assert.equal(pub('-L', 'mqtt://127.0.0.1:1883/from/url', '-t', 'from/option', '-m', 'x').topic, 'from/option');
    assert.equal(pub('-t', 'from/option', '-L', 'mqtt://127.0.0.1:1883/from/url', '-m', 'x').topic, 'from/url');
    // Each is checked as it comes, so a bad one is refused even when a good one follows [MQTT-3.3.2-2].
    refuses('pub', ['-t', 'a/#', '-t', 'b', '-m', 'x'], "Invalid publish topic 'a/#', does it contain '+' or '#'?");
    refuses('pub', ['-L', 'mqtt://127.0.0.1:1883/a/+', '-m', 'x'], "Invalid publish topic 'a/+', does it contain '+' or '#'?");
  });
});

describe('sub flags', () => {
  test('defaults and the sub-only options', () => {
    const a = sub('-t', 'a/#', '-t', 'b', '-T', 'a/secret', '-U', 'old/#', '-v', '-N', '-C', '5', '-W', '3', '-R', '-E', '--remove-retained', '--pretty', '-q', '1');
    assert.deepEqual(a.topics, ['a/#', 'b']);
    assert.deepEqual(a.filterOut, ['a/secret']);
    assert.deepEqual(a.unsubscribe, ['old/#']);
    assert.equal(a.verbose, true);
    assert.equal(a.eol, false);
    assert.equal(a.count, 5);
    assert.equal(a.timeout, 3);
    assert.equal(a.noStale, true);
    assert.equal(a.exitAfterSubscribe, true);
    assert.equal(a.removeRetained, true);
    assert.equal(a.pretty, true);
    assert.equal(a.qos, 1);
    const b = sub('-t', 'x');
    assert.equal(b.verbose, false);
    assert.equal(b.eol, true);
    assert.equal(b.count, undefined);
    assert.equal(b.format, undefined);
  });

  test('a topic is required; bad filters are refused [MQTT-4.7.1-2] [MQTT-4.7.1-3]', () => {
    refuses('sub', [], 'You must specify a topic to subscribe to.');
    refuses('sub', ['-U', 'a'], 'You must specify a topic to subscribe to.');
    refuses('sub', ['-t', 'a/#/b'], "Invalid subscription topic 'a/#/b', are all '+' and '#' wildcards correct?");
    refuses('sub', ['-t', 'a/b+'], "Invalid subscription topic 'a/b+', are all '+' and '#' wildcards correct?");
    refuses('sub', ['-t', 'a', '-T', 'a/#/b'], "Invalid filter topic 'a/#/b', are all '+' and '#' wildcards correct?");
    refuses('sub', ['-t', 'a', '-U', 'a/#/b'], "Invalid unsubscribe topic 'a/#/b', are all '+' and '#' wildcards correct?");
  });

  test('-C and -W take positive integers', () => {
    refuses('sub', ['-t', 'a', '-C', '0'], 'Invalid message count "0".');
    refuses('sub', ['-t', 'a', '-C', '-1'], 'Invalid message count "-1".');
    refuses('sub', ['-t', 'a', '-W', '0'], 'Invalid timeout "0".');
    refuses('sub', ['-t', 'a', '-W', 'soon'], 'Invalid timeout "soon".');
  });

  test('--nl --rap --rh are the MQTT 5 subscription options and select MQTT 5', () => {
    const a = sub('-t', 'a', '--nl', '--rap', '--rh', '2');
    assert.equal(a.protocolVersion, 5);
    assert.equal(a.noLocal, true);
    assert.equal(a.retainAsPublished, true);
    assert.equal(a.retainHandling, 2);
    const b = sub('-t', 'a', '--no-local', '--retain-as-published', '--retain-handling', '1');
    assert.deepEqual([b.noLocal, b.retainAsPublished, b.retainHandling], [true, true, 1]);
    refuses('sub', ['-t', 'a', '--rh', '3'], 'Invalid retain handling given: 3');
    refuses('sub', ['-t', 'a', '--rap', '-V', '311'], '--rap is only valid for MQTT v5 clients (-V 5).');
  });

  test('-R and --retained-only exclude each other', () => {
    refuses('sub', ['-t', 'a', '-R', '--retained-only'], '-R and --retained-only cannot be used together.');
  });

  test('-F is compiled while parsing, so a bad format fails before connecting', () => {
    assert.equal(typeof sub('-t', 'a', '-F', '%t %p').format, 'function');
    refuses('sub', ['-t', 'a', '-F', '%z'], "Invalid format specifier 'z'.");
  });
});

describe('-D properties', () => {
  test('publish properties by their mosquitto names, and -D selects MQTT 5', () => {
    const a = pub('-t', 't', '-m', 'x',
      '-D', 'publish', 'user-property', 'k', 'v',
      '-D', 'publish', 'user-property', 'k', 'v2',
      '-D', 'PUBLISH', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'reply/here',
      '-D', 'publish', 'correlation-data', 'abc',
      '-D', 'publish', 'message-expiry-interval', '10',
      '-D', 'publish', 'payload-format-indicator', '1',
      '-D', 'publish', 'topic-alias', '3');
    assert.equal(a.protocolVersion, 5);
    assert.deepEqual(a.properties.publish, {
      userProperties: [['k', 'v'], ['k', 'v2']],
      contentType: 'text/plain',
      responseTopic: 'reply/here',
      correlationData: Buffer.from('abc'),
      messageExpiryInterval: 10,
      payloadFormatIndicator: 1,
      topicAlias: 3,
    });
  });

  test('connect, will, disconnect, subscribe and unsubscribe properties', () => {
    const a = sub('-t', 'a', '--will-topic', 'w',
      '-D', 'connect', 'session-expiry-interval', '60',
      '-D', 'connect', 'receive-maximum', '10',
      '-D', 'connect', 'maximum-packet-size', '1000',
      '-D', 'connect', 'topic-alias-maximum', '5',
      '-D', 'connect', 'request-problem-information', '0',
      '-D', 'connect', 'request-response-information', '1',
      '-D', 'connect', 'authentication-method', 'm',
      '-D', 'connect', 'user-property', 'c', 'd',
      '-D', 'will', 'will-delay-interval', '5',
      '-D', 'will', 'content-type', 'text/plain',
      '-D', 'disconnect', 'session-expiry-interval', '0',
      '-D', 'subscribe', 'subscription-identifier', '3',
      '-D', 'unsubscribe', 'user-property', 'u', 'v');
    assert.deepEqual(a.properties.connect, {
      sessionExpiryInterval: 60, receiveMaximum: 10, maximumPacketSize: 1000, topicAliasMaximum: 5, requestProblemInformation: 0,
      requestResponseInformation: 1, authenticationMethod: 'm', userProperties: [['c', 'd']],
    });
    assert.deepEqual(a.properties.will, { willDelayInterval: 5, contentType: 'text/plain' });
    assert.deepEqual(a.properties.disconnect, { sessionExpiryInterval: 0 });
    assert.deepEqual(a.properties.subscribe, { subscriptionIdentifiers: [3] });
    assert.deepEqual(a.properties.unsubscribe, { userProperties: [['u', 'v']] });
  });

  test('-x wins over -D connect session-expiry-interval only when given', () => {
    assert.equal(pub('-t', 't', '-n', '-D', 'connect', 'session-expiry-interval', '60').properties.connect?.sessionExpiryInterval, 60);
    assert.equal(pub('-t', 't', '-n', '-x', '5', '-D', 'connect', 'session-expiry-interval', '60').properties.connect?.sessionExpiryInterval, 5);
  });

  test('an explicit -V 311 is kept even with -D', () => {
    assert.equal(pub('-t', 't', '-n', '-V', '311', '-D', 'connect', 'receive-maximum', '7').protocolVersion, 4);
  });

  test('errors worded as mosquitto words them', () => {
    refuses('pub', ['-t', 't', '-n', '-D', 'publish'], '--property argument given but not enough arguments specified.');
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'user-property', 'k'], '--property argument given but not enough arguments specified.');
    refuses('pub', ['-t', 't', '-n', '-D', 'bogus', 'user-property', 'a', 'b'], 'Invalid command given in --property argument.');
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'foo', '1'], 'Invalid property name given in --property argument.');
    refuses('pub', ['-t', 't', '-n', '-D', 'connect', 'content-type', 'x'], 'content-type property not allowed for connect in --property argument.');
    // [MQTT-3.3.4-6]: a client's PUBLISH carries no Subscription Identifier.
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'subscription-identifier', '1'], 'subscription-identifier property not allowed for publish in --property argument.');
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'payload-format-indicator', '300'], 'Property value (300) out of range for property payload-format-indicator.');
    refuses('pub', ['-t', 't', '-n', '-D', 'connect', 'receive-maximum', '70000'], 'Property value (70000) out of range for property receive-maximum.');
    // Receive Maximum 0 is a Protocol Error (5.0 section 3.1.2.11.3): the property table says at least 1.
    refuses('pub', ['-t', 't', '-n', '-D', 'connect', 'receive-maximum', '0'], 'Property value (0) out of range for property receive-maximum.');
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'message-expiry-interval', 'soon'], 'Property value (soon) out of range for property message-expiry-interval.');
    refuses('pub', ['-t', 't', '-n', '-D', 'publish', 'content-type', 'a', '-D', 'publish', 'content-type', 'b'], 'Duplicate content-type property given in --property argument.');
    refuses('pub', ['-t', 't', '-n', '-D', 'subscribe', 'user-property', 'a', 'b'], 'subscribe properties are not used by this client.');
    refuses('sub', ['-t', 't', '-D', 'publish', 'user-property', 'a', 'b'], 'publish properties are not used by this client.');
    refuses('pub', ['-t', 't', '-n', '-D', 'will', 'content-type', 'x'], 'Will properties given, but no will topic given.');
  });
});

describe('-L URL', () => {
  test('mqtt://user:pass@host:port/topic, the topic taken literally with its wildcards', () => {
    assert.deepEqual(parseUrl('mqtt://bob:s3cret@broker.example:1999/a/b/#'), {
      scheme: 'mqtt', host: 'broker.example', port: 1999, username: 'bob', password: 's3cret', topic: 'a/b/#',
    });
    assert.deepEqual(parseUrl('mqtts://h/t'), { scheme: 'mqtts', host: 'h', topic: 't' });
    assert.deepEqual(parseUrl('mqtt://[::1]:1883/x'), { scheme: 'mqtt', host: '::1', port: 1883, topic: 'x' });
    assert.deepEqual(parseUrl('mqtt://u%40x:p%3Aw@h/t'), { scheme: 'mqtt', host: 'h', username: 'u@x', password: 'p:w', topic: 't' });
    assert.deepEqual(parseUrl('mqtt://only-user@h/t'), { scheme: 'mqtt', host: 'h', username: 'only-user', topic: 't' });
  });

  test('ws:// and wss:// take a WebSocket path', () => {
    assert.deepEqual(parseUrl('ws://127.0.0.1:9001/mqtt'), { scheme: 'ws', host: '127.0.0.1', port: 9001, path: '/mqtt' });
    assert.deepEqual(parseUrl('wss://u:p@h/deep/path'), { scheme: 'wss', host: 'h', username: 'u', password: 'p', path: '/deep/path' });
    assert.deepEqual(parseUrl('ws://h:8080'), { scheme: 'ws', host: 'h', port: 8080 });
  });

  test('bad URLs', () => {
    assert.throws(() => parseUrl('http://h/t'), { message: 'unsupported URL scheme.' });
    assert.throws(() => parseUrl('h:1883/t'), { message: 'unsupported URL scheme.' });
    assert.throws(() => parseUrl('mqtt://h:99999/t'), { message: 'Invalid port given: 99999' });
    assert.throws(() => parseUrl('mqtt:///t'), { message: 'Invalid URL for -L argument specified - host missing.' });
  });

  test('-L fills host, port, credentials and topic; -t and -p still apply', () => {
    const a = pub('-L', 'mqtt://u:p@127.0.0.1:2883/top/ic', '-m', 'x');
    assert.deepEqual([a.host, a.port, a.username, a.password, a.topic, a.scheme], ['127.0.0.1', 2883, 'u', 'p', 'top/ic', 'mqtt']);
    const s = sub('-L', 'mqtts://h/a', '-t', 'b');
    assert.deepEqual(s.topics, ['a', 'b']);
    assert.equal(s.port, 8883);
    assert.equal(s.scheme, 'mqtts');
    assert.equal(s.tls?.useOsCerts, true);
    const w = sub('-L', 'ws://127.0.0.1:9001/mqtt', '-t', 'a/#');
    assert.deepEqual([w.scheme, w.host, w.port, w.path, w.topics], ['ws', '127.0.0.1', 9001, '/mqtt', ['a/#']]);
    const ws = pub('-L', 'ws://h', '-t', 't', '-m', 'x', '--cafile', '/ca');
    assert.deepEqual([ws.scheme, ws.port], ['wss', 443]);
    assert.equal(pub('-L', 'mqtt://h/t', '-p', '1999', '-m', 'x').port, 1999);
  });

  test('an mqtt URL without a topic needs -t', () => {
    refuses('pub', ['-L', 'mqtt://h', '-m', 'x'], 'Invalid URL for -L argument specified - topic missing.');
    assert.equal(pub('-L', 'mqtt://h', '-t', 'x', '-m', 'x').topic, 'x');
    refuses('sub', ['-L', 'ws://h/mqtt'], 'You must specify a topic to subscribe to.');
  });
});
