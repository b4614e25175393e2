// The broker's hooks built from `src/auth`: a password file, ACL rules and allow_anonymous, wired the
// way the CLI (mosquitto.conf) and the broker node do it.
import type { AclRules, ClientAcl, PasswordFile } from '../auth';
import type { BrokerLogger, BrokerOptions, ClientHandle } from './options';

export interface SecurityOptions {
  /** Users and their password hashes; without one, a username is taken as given (when anonymous access is allowed). */
  passwordFile?: PasswordFile;
  /** Publish, subscribe and read rules; without them every client may do everything. */
  acl?: AclRules;
  /** Clients without a username may connect (Mosquitto's allow_anonymous). */
  allowAnonymous: boolean;
  /** A failed login is answered only after this many ms, to slow password guessing (default 1000). */
  loginFailureDelayMs?: number;
  /**
   * Grant a subscription whose filter is only partly readable (Mosquitto's way): what the client may
   * not read is then filtered out on delivery. Default false: such a filter is refused (0x87 / 0x80).
   */
  grantPartialSubscriptions?: boolean;
  /** Where failed logins (warn) and refused publishes and subscriptions (info) are logged. */
  logger?: BrokerLogger;
}

export type SecurityHooks = Required<Pick<BrokerOptions, 'authenticate'>> &
  Pick<BrokerOptions, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeRead'>;

const DEFAULT_LOGIN_FAILURE_DELAY_MS = 1000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Hooks for `createBroker`. Without `acl` the authorize hooks are undefined, so the broker pays nothing
 * for them. With it, each client's rules are gathered once (`AclRules.forClient`) and kept for its
 * connection: a delivery costs one topic match.
 */
export function createSecurityHooks(options: SecurityOptions): SecurityHooks {
  const { passwordFile, acl, allowAnonymous, logger } = options;
  const partial = options.grantPartialSubscriptions === true;
  const failureDelay = options.loginFailureDelayMs ?? DEFAULT_LOGIN_FAILURE_DELAY_MS;

  const refuse = async (client: ClientHandle, why: string): Promise<false> => {
    logger?.warn?.(`login refused for client ${client.id} from ${client.address}: ${why}`);
    if (failureDelay > 0) await delay(failureDelay);
    return false; // the broker answers 0x86 with a username (3.1.1: 4), 0x87 without (3.1.1: 5)
  };

  const authenticate: SecurityHooks['authenticate'] = (client, username, password) => {
    // use_identity_as_username: the verified certificate is the login, its CN the username (as
    // Mosquitto, no password is checked); a client without one was refused before this hook
    if (typeof client.certificateIdentity === 'string') return true;
    if (username === undefined) {
      if (allowAnonymous) return true;
      return refuse(client, 'anonymous access is not allowed');
    }
    if (passwordFile === undefined) {
      if (allowAnonymous) return true; // nothing to check a password against: the name is taken as given
      return refuse(client, `username "${username}" but no password file`);
    }
    return passwordFile.verify(username, password).then((ok) => (ok ? true : refuse(client, `bad username or password for "${username}"`)));
  };

  if (acl === undefined) return { authenticate };

  // a connection's rules, gathered once; keyed by the handle the broker passes (the connection itself)
  const cache = new WeakMap<ClientHandle, { id: string; username: string | undefined; rules: ClientAcl }>();
  const rulesOf = (client: ClientHandle): ClientAcl => {
    const hit = cache.get(client);
    if (hit !== undefined && hit.id === client.id && hit.username === client.username) return hit.rules;
    const rules = acl.forClient(client.id, client.username);
    cache.set(client, { id: client.id, username: client.username, rules });
    return rules;
  };

  return {
    authenticate,
    authorizePublish: (client, packet) => {
      if (rulesOf(client).canWrite(packet.topic)) return true;
      logger?.info?.(`client ${client.id} may not publish to ${packet.topic}`);
      return false;
    },
    // a filter only partly readable is refused: the client learns at once it asked for too much
    authorizeSubscribe: (client, subscription) => {
      const coverage = rulesOf(client).subscribeCoverage(subscription.topicFilter);
      if (coverage === 'all' || (partial && coverage === 'some')) return true;
      logger?.info?.(`client ${client.id} may not subscribe to ${subscription.topicFilter}`);
      return false;
    },
    authorizeRead: (client: ClientHandle, topic: string) => rulesOf(client).canRead(topic),
  };
}
