// CONNECT, as an ordered list of steps (section 3.1.4): check the client identifier and what the
// client asks for, authenticate, take over an existing connection, find or create the session,
// answer CONNACK, then resume the session's flows.
import { randomBytes } from 'node:crypto';
import type { ConnackPacket, ConnectPacket, Properties } from '../../codec';
import { ReasonCode, validatePayloadFormat } from '../../codec';
import { validateTopicName } from '../../topics';
import type { Connection } from '../connection';
import { ConnectionState } from '../connection-state';
import type { AuthenticateResult, EnhancedAuthResult } from '../options';
import { mountTopic } from '../mount-point';
import { fitConnack } from '../connack-fit';
import { saveSession } from '../persistence';
import { SESSION_NEVER_EXPIRES, type Session } from '../session';

/** What CONNECT settled before authentication finished. */
export interface PendingConnect {
  packet: ConnectPacket;
  clientId: string;
  assigned: boolean;
  keepalive: number;
  serverKeepAlive: number | undefined;
}

export function handleConnect(c: Connection, p: ConnectPacket): void | Promise<void> {
  const options = c.core.options;
  c.setState(ConnectionState.Authenticating);
  c.protocolVersion = p.protocolVersion;
  c.remoteBridge = p.bridge === true; // try_private (levels 3 and 4 only)
  const v5 = p.protocolVersion === 5;
  const props = p.properties;
  if (v5 && props !== undefined) {
    if (props.maximumPacketSize !== undefined) c.clientMaximumPacketSize = props.maximumPacketSize;
    c.clientTopicAliasMaximum = props.topicAliasMaximum ?? 0;
    c.requestProblemInformation = props.requestProblemInformation !== 0;
  }

  // Client identifier [MQTT-3.1.3-6], [MQTT-3.1.3-7], [MQTT-3.1.3-8]
  let clientId = p.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    if (p.protocolVersion === 3 || !options.allowZeroLengthClientId || (!v5 && !p.clean)) {
      const why = p.protocolVersion === 3 ? 'MQTT 3.1 needs a client identifier' : !options.allowZeroLengthClientId ? 'zero-length client identifiers are not allowed here' : 'a zero-length client identifier needs clean session [MQTT-3.1.3-8]';
      return c.refuseConnect(ReasonCode.ClientIdentifierNotValid, p.protocolVersion, why);
    }
    clientId = `auto-${randomBytes(8).toString('hex')}`;
    assigned = true;
  }

  // Keepalive above the maximum: 5.0 gets Server Keep Alive, 3.1.1 has no way to say so and is refused (as Mosquitto does)
  let keepalive = p.keepalive;
  let serverKeepAlive: number | undefined;
  if (p.keepalive > options.maxKeepalive) {
    if (!v5) return c.refuseConnect(0x85, p.protocolVersion, `keepalive ${p.keepalive} exceeds ${options.maxKeepalive}`);
    keepalive = options.maxKeepalive;
    serverKeepAlive = keepalive; // [MQTT-3.2.2-21]
  }

  // Will: a valid topic, a QoS and RETAIN we support [MQTT-3.2.2-12], [MQTT-3.2.2-13], [MQTT-3.2.2-14]
  const will = p.will;
  if (will !== undefined) {
    if (!validateTopicName(will.topic)) return c.refuseConnect(0x90, p.protocolVersion, 'invalid will topic');
    if (will.qos > options.maximumQoS) return c.refuseConnect(0x9b, p.protocolVersion, 'will QoS not supported');
    if (will.retain && !options.retainAvailable) return c.refuseConnect(0x9a, p.protocolVersion, 'retain not supported');
    const invalid = v5 ? validatePayloadFormat(p) : null;
    if (invalid !== null) return c.refuseConnect(invalid.reasonCode, 5, invalid.message);
    // messageSizeLimit holds for the Will's payload too: 0x95 Packet too large, 3.1.1 return code 5 (as Mosquitto)
    if (options.messageSizeLimit > 0 && will.payload.length > options.messageSizeLimit) {
      return c.refuseConnect(v5 ? ReasonCode.PacketTooLarge : ReasonCode.NotAuthorized, p.protocolVersion, `will payload of ${will.payload.length} bytes exceeds messageSizeLimit ${options.messageSizeLimit}`);
    }
  }
  // use_identity_as_username: the certificate speaks for the client, whatever CONNECT says
  let username = p.username;
  if (c.certificateIdentity !== undefined) {
    // as Mosquitto: Bad User Name or Password (3.1.1: 4)
    if (c.certificateIdentity === null) return c.refuseConnect(ReasonCode.BadUserNameOrPassword, p.protocolVersion, 'no verified client certificate to take the username from');
    username = c.certificateIdentity;
  }
  const pending: PendingConnect = { packet: p, clientId, assigned, keepalive, serverKeepAlive };
  c.id = clientId;
  c.username = username;

  // Enhanced authentication (5.0 section 4.12): refused unless a hook knows the method
  if (v5 && props?.authenticationMethod !== undefined) {
    const hook = options.enhancedAuthenticate;
    if (hook === undefined) return c.refuseConnect(0x8c, 5, `authentication method ${props.authenticationMethod} not supported`);
    c.authenticationMethod = props.authenticationMethod;
    c.pendingConnect = pending;
    const step = hook(c, { method: props.authenticationMethod, data: props.authenticationData });
    if (step instanceof Promise) return step.then((r) => enhancedAuthStep(c, r));
    return enhancedAuthStep(c, step);
  }

  // a part of the broker (a bridge's own session, ConnectionInfo.internal) is not a client to log in
  const hook = c.internal ? undefined : options.authenticate;
  if (hook === undefined) return accept(c, pending);
  const verdict = hook(c, username, p.password);
  if (verdict instanceof Promise) return verdict.then((r) => afterAuthenticate(c, pending, r));
  return afterAuthenticate(c, pending, verdict);
}

function afterAuthenticate(c: Connection, pending: PendingConnect, verdict: AuthenticateResult): void | Promise<void> {
  if (c.state !== ConnectionState.Authenticating) return; // closed meanwhile
  const reasonCode = verdict === true ? 0 : verdict === false ? (c.username !== undefined ? 0x86 : 0x87) : verdict.reasonCode;
  if (reasonCode === 0) {
    // a login the hook accepted is checked again when the security configuration is reloaded (Broker.reload)
    c.login = { password: pending.packet.password };
    return accept(c, pending);
  }
  const reasonString = typeof verdict === 'object' ? verdict.reasonString : undefined;
  c.refuseConnect(reasonCode, pending.packet.protocolVersion, reasonString ?? 'not authorized');
}

/** One answer of the enhanced-authentication hook: continue with AUTH, accept, or refuse. */
export function enhancedAuthStep(c: Connection, result: EnhancedAuthResult): void | Promise<void> {
  if (c.state === ConnectionState.Closed) return;
  const method = c.authenticationMethod!;
  if (result.reasonCode === 0x18) {
    c.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: result.data } });
    return;
  }
  if (c.state === ConnectionState.Connected) {
    // re-authentication (section 4.12.1)
    if (result.reasonCode === 0) {
      c.send({ type: 'auth', reasonCode: 0, properties: { authenticationMethod: method, authenticationData: result.data } });
    } else {
      c.close('not-authorized', result.reasonCode, result.reasonString);
    }
    return;
  }
  const pending = c.pendingConnect!;
  if (result.reasonCode !== 0) {
    c.refuseConnect(result.reasonCode, 5, result.reasonString);
    return;
  }
  c.pendingConnect = undefined;
  return accept(c, pending, { authenticationMethod: method, authenticationData: result.data });
}

function accept(c: Connection, pending: PendingConnect, authProperties?: Properties): void | Promise<void> {
  const core = c.core;
  const options = core.options;
  const p = pending.packet;
  const v5 = p.protocolVersion === 5;
  const clientId = pending.clientId;
  if (core.isClosing()) return c.refuseConnect(0x88, p.protocolVersion, 'server shutting down');
  // a bridge's own session is part of the broker, not one of the clients maxConnections bounds
  if (!c.internal && options.maxConnections > 0 && core.clientsById.size >= options.maxConnections && !core.clientsById.has(clientId)) {
    core.limits.hit('connections/refused', () => `client ${clientId} from ${c.address} refused: maxConnections ${options.maxConnections} reached`);
    return c.refuseConnect(0x97, p.protocolVersion, 'too many connections');
  }

  // Takeover: the existing connection with this client identifier is closed [MQTT-3.1.4-2], [MQTT-3.1.4-3]
  const existing = core.clientsById.get(clientId);
  if (existing !== undefined) {
    core.log.clientEvent('info', `client ${clientId} already connected from ${existing.address}: closing the old connection`);
    core.willOnTakeover(existing, p.clean);
    existing.close('takeover', 0x8e);
  }

  // Session: discarded on clean session / clean start [MQTT-3.1.2-4], else resumed [MQTT-3.1.2-5]
  let session = core.sessions.get(clientId);
  // a Will waiting for its delay goes with the old session unpublished [MQTT-3.1.3-9]
  if (session !== undefined) core.cancelWill(session);
  if (session !== undefined && p.clean) {
    core.endSession(session);
    session = undefined;
  }
  const sessionPresent = session !== undefined; // [MQTT-3.2.2-1], [MQTT-3.2.2-2], [MQTT-3.2.2-3]
  const clientReceiveMaximum = v5 ? (p.properties?.receiveMaximum ?? 65535) : 65535;
  const window = Math.min(clientReceiveMaximum, options.maxInflightMessages);
  if (session !== undefined) core.resumeSession(session);
  else session = core.newSession(clientId, window);
  if (v5) session.sessionExpiryInterval = p.properties?.sessionExpiryInterval ?? 0;
  else session.sessionExpiryInterval = p.clean ? 0 : options.persistentClientExpiration > 0 ? options.persistentClientExpiration : SESSION_NEVER_EXPIRES;
  session.protocolVersion = p.protocolVersion;
  session.remoteBridge = c.remoteBridge;
  // what a bridge's session receives is what its topic lines asked for, not filtered by the ACL
  session.authorizeRead = c.internal ? undefined : options.authorizeRead;
  session.journal = core.persistent && session.sessionExpiryInterval > 0 ? core.journal : null;
  // the Will is published on the mounted topic, as the client's PUBLISHes are
  const mountPoint = c.listener?.mountPoint;
  const will = p.will !== undefined && mountPoint !== undefined && mountPoint !== '' ? { ...p.will, topic: mountTopic(mountPoint, p.will.topic) } : p.will;
  session.connectionWill = will;
  // the Will goes after the connection: authorizePublish then needs who published it
  if (p.will !== undefined && options.authorizePublish !== undefined) {
    session.willPublisher = { id: clientId, address: c.address, protocolVersion: p.protocolVersion, username: c.username, listener: c.listener };
  }
  // with a store, CONNACK waits until the session (and its Will) is written
  const written = core.collectWrites(() => saveSession(core, session));

  c.keepalive = pending.keepalive;
  c.will = will;
  c.session = session;
  c.setState(ConnectionState.Connected);
  core.clientsById.set(clientId, c);
  core.stats.connectionsTotal++;
  if (core.clientsById.size > core.stats.clientsMaximum) core.stats.clientsMaximum = core.clientsById.size;

  let properties: Properties | undefined;
  if (v5) {
    properties = { ...core.connackProperties, ...authProperties };
    if (pending.assigned) properties.assignedClientIdentifier = clientId; // [MQTT-3.2.2-16]
    if (pending.serverKeepAlive !== undefined) properties.serverKeepAlive = pending.serverKeepAlive;
    if (p.properties?.requestResponseInformation === 1 && options.responseInformation !== undefined) {
      properties.responseInformation = options.responseInformation;
    }
  }
  // MQTT 3.1 has no Session Present flag: its CONNACK's first byte is reserved
  const connack: ConnackPacket = { type: 'connack', sessionPresent: sessionPresent && p.protocolVersion !== 3, reasonCode: 0, properties };
  if (written === undefined) return connected(c, session, connack, window, p.clean);
  // packets behind CONNECT wait too: the connection reads nothing until this promise settles
  return written.then(
    () => connected(c, session, connack, window, p.clean),
    (err: Error) => {
      core.log.error(`store: session ${clientId}: ${err.message}`);
      c.close('store-error', 0x80);
    },
  );
}

/** CONNACK, then the session's flows resume: unacknowledged messages again, then the queue. */
function connected(c: Connection, session: Session, connack: ConnackPacket, window: number, clean: boolean): void {
  if (c.state !== ConnectionState.Connected) return; // gone while the session was written
  const core = c.core;
  const fitted = c.protocolVersion === 5 ? fitConnack(connack, c.clientMaximumPacketSize) : connack;
  if (fitted === null) {
    // not even the CONNACK fits the client's Maximum Packet Size [MQTT-3.1.2-24]: nothing can be sent
    core.log.at(core.options.protocolErrorLogLevel, `client ${c.label()}: its Maximum Packet Size ${c.clientMaximumPacketSize} is smaller than the CONNACK; closing`);
    c.close('connack-too-large');
    return;
  }
  c.send(fitted);
  c.connectAccepted();
  if (core.log.clientEventEnabled('info')) {
    core.log.info(`client ${c.id} connected from ${c.address} (protocol ${c.protocolVersion}, clean ${clean}, keepalive ${c.keepalive})`);
  }
  if (core.listenerCount('clientConnected') > 0) core.emit('clientConnected', c.info());
  session.attach(c, window, Date.now());
}
