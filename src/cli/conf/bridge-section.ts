// `connection NAME` sections: each later bridge option belongs to the last connection, as in
// mosquitto.conf(5) "Configuring bridges"; the result is a BridgeOptions for createBridge().
import type { QoS } from '../../codec/types';
import { resolveBridgeOptions, type BridgeOptions, type BridgeTopic } from '../../bridge';
import type { ConfDiagnostic, OptionReader, Where } from './diagnostics';

export interface ConfBridge {
  options: BridgeOptions;
  /** The `connection` line, for problems found once the section is complete. */
  where: Where;
}

export function startBridge(r: OptionReader): ConfBridge | undefined {
  const name = r.oneArg();
  if (name === undefined) return undefined;
  return { options: { name, address: [], topics: [] }, where: r.where };
}

/** Bridge options Mosquitto has that no BridgeOptions field carries: named in a warning. */
const UNSUPPORTED = new Set([
  'bridge_capath', 'bridge_identity', 'bridge_psk', 'bridge_tls_version', 'bridge_require_ocsp', 'bridge_max_packet_size',
  'bridge_reload_type', 'idle_timeout', 'threshold', 'local_cleansession', 'notification_topic_local', 'bridge_bind_address',
]);

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
    case 'start_type': {
      const v = r.oneArg();
      if (v !== undefined && v !== 'automatic') r.warn(`'start_type ${v}' is not supported: the bridge starts with the broker (automatic)`);
      return true;
    }
    default:
      if (UNSUPPORTED.has(r.option)) {
        r.warn(`bridge option '${r.option}' is not supported yet and is ignored`);
        return true;
      }
      return false;
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
  try {
    resolveBridgeOptions(bridge.options);
  } catch (err) {
    errors.push({ ...bridge.where, message: (err as Error).message });
  }
}
