// `connection NAME` sections: each later bridge option belongs to the last connection, as in
// mosquitto.conf(5) "Configuring bridges"; the result is a BridgeOptions for createBridge().
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QoS } from '../../codec/types';
import { resolveBridgeOptions, type BridgeOptions, type BridgeTopic } from '../../bridge';
import type { ConfDiagnostic, OptionReader, Where } from './diagnostics';

export interface ConfBridge {
  options: BridgeOptions;
  /** The `connection` line, for problems found once the section is complete. */
  where: Where;
  /** `bridge_identity` and `bridge_psk`, joined once the section is complete. */
  pskIdentity?: string;
  pskKey?: Buffer;
}

export function startBridge(r: OptionReader): ConfBridge | undefined {
  const name = r.oneArg();
  if (name === undefined) return undefined;
  return { options: { name, address: [], topics: [] }, where: r.where };
}

/** Bridge options no BridgeOptions field carries, and why: named in a warning. */
const UNSUPPORTED: Record<string, string> = {
  // Node's TLS client has no OCSP check of the server's certificate
  bridge_require_ocsp: 'OCSP is not checked by the bridge',
  // bridges are not reloaded: the broker reads its configuration once
  bridge_reload_type: 'the configuration is read once at start (no reload)',
  notification_topic_local: 'not a Mosquitto 2.0 option: local and remote notifications share notification_topic',
};

const TLS_VERSIONS: Record<string, 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = { 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };

/** bridge_capath: the PEM certificates of a directory (files ending in .crt or .pem, as `openssl rehash` reads them). */
function readCaPath(dir: string): Buffer[] {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.crt') || n.endsWith('.pem')).sort();
  const certificates = names.map((n) => fs.readFileSync(path.join(dir, n))).filter((b) => b.includes('-----BEGIN CERTIFICATE-----'));
  if (certificates.length === 0) throw new Error('no .crt or .pem certificate in it');
  return certificates;
}

/** Applies one option of a bridge section; false when the option is no bridge option. */
export function applyBridgeOption(bridge: ConfBridge, r: OptionReader): boolean {
  const o = bridge.options;
  const set = <K extends keyof BridgeOptions>(key: K, value: BridgeOptions[K] | undefined): void => {
    if (value !== undefined) o[key] = value;
  };
  const tls = (): NonNullable<BridgeOptions['tls']> => (o.tls ??= {});
  switch (r.option) {
    case 'address':
    case 'addresses':
      if (r.args.length === 0) r.error(`'${r.option}' needs at least one host[:port]`);
      (o.address as string[]).push(...r.args);
      return true;
    case 'topic': {
      const topic = parseTopic(r);
      if (topic) o.topics.push(topic);
      return true;
    }
    case 'remote_username':
      set('remoteUsername', r.oneArg());
      return true;
    case 'remote_password':
      set('remotePassword', r.oneArg());
      return true;
    case 'remote_clientid':
    case 'clientid':
      set('remoteClientId', r.oneArg());
      return true;
    case 'local_clientid':
      set('localClientId', r.oneArg());
      return true;
    case 'local_username':
      set('localUsername', r.oneArg());
      return true;
    case 'local_password':
      set('localPassword', r.oneArg());
      return true;
    case 'bridge_protocol_version': {
      const v = r.oneArg();
      if (v === undefined) return true;
      if (v !== 'mqttv31' && v !== 'mqttv311' && v !== 'mqttv50') r.error(`invalid value '${v}' for 'bridge_protocol_version': mqttv31, mqttv311 or mqttv50 is expected`);
      else o.protocolVersion = v;
      return true;
    }
    case 'cleansession':
      set('cleanSession', r.bool());
      return true;
    case 'keepalive_interval':
      set('keepalive', r.integer(0, 65535));
      return true;
    case 'restart_timeout': {
      if (r.args.length < 1 || r.args.length > 2 || !r.args.every((a) => /^\d+$/.test(a) && Number(a) > 0)) {
        r.error(`'restart_timeout' takes one or two positive numbers of seconds`);
        return true;
      }
      const [base, cap] = r.args.map(Number);
      if (cap !== undefined && cap < base) r.error(`'restart_timeout base cap': cap must not be below base`);
      else o.restartTimeout = cap === undefined ? base : { base, cap };
      return true;
    }
    case 'try_private':
      set('tryPrivate', r.bool());
      return true;
    case 'notifications':
      set('notifications', r.bool());
      return true;
    case 'notifications_local_only':
      set('notificationsLocalOnly', r.bool());
      return true;
    case 'notification_topic':
      set('notificationTopic', r.oneArg());
      return true;
    case 'bridge_attempt_unsubscribe':
      set('attemptUnsubscribe', r.bool());
      return true;
    case 'bridge_outgoing_retain':
      set('outgoingRetain', r.bool());
      return true;
    case 'round_robin':
      set('roundRobin', r.bool());
      return true;
    case 'bridge_cafile': {
      const v = r.fileContents();
      if (v) tls().ca = v;
      return true;
    }
    case 'bridge_certfile': {
      const v = r.fileContents();
      if (v) tls().cert = v;
      return true;
    }
    case 'bridge_keyfile': {
      const v = r.fileContents();
      if (v) tls().key = v;
      return true;
    }
    case 'bridge_insecure': {
      const v = r.bool();
      if (v !== undefined) tls().rejectUnauthorized = !v;
      return true;
    }
    case 'bridge_alpn': {
      const v = r.oneArg();
      if (v !== undefined) tls().alpn = v.split(',');
      return true;
    }
    case 'bridge_capath': {
      if (r.args.length === 0) {
        r.error(`option 'bridge_capath' needs a directory`);
        return true;
      }
      const dir = r.args.join(' ');
      try {
        const found = readCaPath(dir);
        const t = tls();
        const before = t.ca === undefined ? [] : Array.isArray(t.ca) ? t.ca : [t.ca];
        t.ca = [...before, ...found];
      } catch (err) {
        r.error(`unable to read bridge_capath '${dir}': ${(err as Error).message}`);
      }
      return true;
    }
    case 'bridge_tls_version': {
      const v = r.oneArg();
      if (v === undefined) return true;
      if (!(v in TLS_VERSIONS)) r.error(`invalid value '${v}' for 'bridge_tls_version': tlsv1.3, tlsv1.2 or tlsv1.1 is expected`);
      else tls().minVersion = TLS_VERSIONS[v];
      return true;
    }
    case 'bridge_identity':
      bridge.pskIdentity = r.oneArg();
      return true;
    case 'bridge_psk': {
      const v = r.oneArg();
      if (v === undefined) return true;
      if (!/^([0-9a-fA-F]{2})+$/.test(v)) r.error(`invalid value for 'bridge_psk': a key in hexadecimal without "0x" is expected`);
      else bridge.pskKey = Buffer.from(v, 'hex');
      return true;
    }
    case 'bridge_bind_address':
      set('bindAddress', r.oneArg());
      return true;
    case 'bridge_max_packet_size':
      set('maxPacketSize', r.integer(0, 268_435_455));
      return true;
    case 'local_cleansession':
      set('localCleanSession', r.bool());
      return true;
    case 'start_type': {
      const v = r.oneArg();
      if (v === undefined) return true;
      if (v !== 'automatic' && v !== 'lazy' && v !== 'once') r.error(`invalid value '${v}' for 'start_type': automatic, lazy or once is expected`);
      else o.startType = v;
      return true;
    }
    case 'threshold':
      set('threshold', r.integer(1));
      return true;
    case 'idle_timeout':
      set('idleTimeout', r.integer(1));
      return true;
    default: {
      const why = UNSUPPORTED[r.option];
      if (why === undefined) return false;
      r.warn(`bridge option '${r.option}' is not supported and is ignored: ${why}`);
      return true;
    }
  }
}

/** `topic PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]`. */
function parseTopic(r: OptionReader): BridgeTopic | undefined {
  const [pattern, direction, qos, localPrefix, remotePrefix] = r.args;
  if (r.args.length < 1 || r.args.length > 5) {
    r.error(`'topic' takes a pattern, then optionally in|out|both, a QoS and local and remote prefixes`);
    return undefined;
  }
  const topic: BridgeTopic = { pattern };
  if (direction !== undefined) {
    if (direction !== 'in' && direction !== 'out' && direction !== 'both') {
      r.error(`invalid direction '${direction}' for 'topic': in, out or both is expected`);
      return undefined;
    }
    topic.direction = direction;
  }
  if (qos !== undefined) {
    if (!/^[012]$/.test(qos)) {
      r.error(`invalid QoS '${qos}' for 'topic': 0, 1 or 2 is expected`);
      return undefined;
    }
    topic.qos = Number(qos) as QoS;
  }
  if (localPrefix !== undefined) topic.localPrefix = localPrefix;
  if (remotePrefix !== undefined) topic.remotePrefix = remotePrefix;
  return topic;
}

/** Checks a finished section the way createBridge will (address, topics, protocol rules). */
export function checkBridge(bridge: ConfBridge, errors: ConfDiagnostic[]): void {
  const o = bridge.options;
  // Mosquitto's default: the local session is as clean as the remote one
  o.localCleanSession ??= o.cleanSession ?? false;
  if ((bridge.pskIdentity === undefined) !== (bridge.pskKey === undefined)) {
    errors.push({ ...bridge.where, message: `bridge ${o.name}: 'bridge_identity' and 'bridge_psk' go together` });
    return;
  }
  if (bridge.pskIdentity !== undefined && bridge.pskKey !== undefined) (o.tls ??= {}).psk = { identity: bridge.pskIdentity, key: bridge.pskKey };
  try {
    resolveBridgeOptions(bridge.options);
  } catch (err) {
    errors.push({ ...bridge.where, message: (err as Error).message });
  }
}
